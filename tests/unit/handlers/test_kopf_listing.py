"""kopf's paged initial LIST goes on past an expired continue token, with the token the 410
carries, and keeps the first page's resourceVersion for the watch after it (see the module)."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf
import pytest
from kopf._cogs.clients import errors
from kopf._cogs.clients import fetching as kopf_fetching

from vaultsync.handlers import kopf_listing

RESOURCE = kopf.Resource(group="vaultsync.io", version="v1alpha1", plural="managedsecrets", namespaced=True)


def _expired(token: str) -> errors.APIClientError:
    """The refusal a kube-apiserver sent when a 100,000-object listing outlived its snapshot."""
    payload = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {"continue": token},
        "status": "Failure",
        "message": "The provided continue parameter is too old to display a consistent list result.",
        "reason": "Expired",
        "code": 410,
    }
    return errors.APIClientError(payload, status=410, headers={})


class Server:
    """Pages of two objects; the second request is refused as expired once."""

    def __init__(self, refusal: errors.APIClientError | None) -> None:
        self.refusal = refusal
        self.urls: list[str] = []

    async def get(self, *, url: str, **_: Any) -> dict[str, Any]:
        self.urls.append(url)
        if "continue=" not in url:
            return self._page(["a", "b"], "rv-first", "page-2")
        if self.refusal is not None and "continue=page-2" in url:
            refusal, self.refusal = self.refusal, None
            raise refusal
        if "continue=fresh-2" in url or "continue=page-2" in url:
            return self._page(["c", "d"], "rv-later", "page-3")
        return self._page(["e"], "rv-later", "")

    @staticmethod
    def _page(names: list[str], version: str, token: str) -> dict[str, Any]:
        items = [{"metadata": {"name": n}} for n in names]
        return {
            "kind": "ManagedSecretList",
            "items": items,
            "metadata": {"resourceVersion": version, "continue": token},
        }


@pytest.fixture
def settings() -> kopf.OperatorSettings:
    configured = kopf.OperatorSettings()
    configured.watching.chunk_size = 2
    return configured


def _listed(
    fetch: Any, server: Server, settings: kopf.OperatorSettings, monkeypatch: pytest.MonkeyPatch
) -> Any:
    monkeypatch.setattr(kopf_listing.api, "get", server.get)
    monkeypatch.setattr(kopf_fetching.api, "get", server.get)

    async def collect() -> list[tuple[list[str], str]]:
        pages = []
        async for items, version in fetch(settings=settings, resource=RESOURCE, namespace=None, logger=None):
            pages.append(([item["metadata"]["name"] for item in items], version))
        return pages

    return asyncio.run(collect())


def test_an_expired_continue_token_goes_on_with_the_one_the_refusal_carries(
    settings: kopf.OperatorSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Server(_expired("fresh-2"))
    pages = _listed(kopf_listing.fetch_objs, server, settings, monkeypatch)
    assert [name for names, _ in pages for name in names] == ["a", "b", "c", "d", "e"]
    assert {version for _, version in pages} == {"rv-first"}, "the watch starts where the first page was read"
    assert "continue=fresh-2" in server.urls[2]
    assert all("limit=2" in url for url in server.urls)


def test_kopfs_own_listing_fails_on_the_same_refusal(
    settings: kopf.OperatorSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(errors.APIClientError):
        _listed(kopf_fetching.fetch_objs, Server(_expired("fresh-2")), settings, monkeypatch)


def test_other_refusals_still_fail_the_listing(
    settings: kopf.OperatorSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbidden = errors.APIClientError({"reason": "Forbidden", "code": 403}, status=403, headers={})
    with pytest.raises(errors.APIClientError):
        _listed(kopf_listing.fetch_objs, Server(forbidden), settings, monkeypatch)


def test_the_operator_installs_it_in_place_of_kopfs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kopf_fetching, "fetch_objs", kopf_fetching.fetch_objs)
    kopf_listing.survive_expired_pages()
    assert kopf_fetching.fetch_objs is kopf_listing.fetch_objs
