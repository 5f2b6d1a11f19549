"""Azure listing restarts after a throttled page instead of returning a truncated listing.

Azure's page iterator ends for good once a page fails, so a naive retry would see fewer
secrets and report the unseen ones as deleted. The client here replaces only the paging
seam of ``SecretClient``; the Key Vault API itself is exercised by the ``azure`` cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from azure.core import exceptions as azure_errors

from vaultsync.backends.azure import AzureBackend
from vaultsync.backends.retry import RetryPolicy
from vaultsync.secrets.formats import azure_name_for_path


def _props(path: str, updated: str) -> Any:
    return SimpleNamespace(
        name=azure_name_for_path(path), tags={}, updated_on=SimpleNamespace(isoformat=lambda: updated)
    )


class PagedSecrets:
    """Serves pages of properties; the second page fails with 429 the first time only."""

    def __init__(self, pages: list[list[Any]]) -> None:
        self.pages = pages
        self.failed_once = False

    def list_properties_of_secrets(self) -> Any:
        owner = self

        class Paged:
            def by_page(self) -> Iterator[list[Any]]:
                for index, page in enumerate(owner.pages):
                    if index == 1 and not owner.failed_once:
                        owner.failed_once = True
                        error = azure_errors.HttpResponseError(message="slow down")
                        error.status_code = 429
                        raise error
                    yield page

        return Paged()


def test_throttled_page_restarts_the_whole_listing() -> None:
    pages = [[_props("a", "1"), _props("b", "1")], [_props("c", "1")]]
    client = PagedSecrets(pages)
    backend = AzureBackend(client, retry=RetryPolicy(attempts=3, base_delay=0.001))  # type: ignore[arg-type]
    assert backend.list_changes(None).changed == {"a", "b", "c"}
    assert client.failed_once
    assert backend.calls.snapshot() == {"list": 4}
