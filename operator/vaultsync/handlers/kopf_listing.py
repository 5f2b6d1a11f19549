"""kopf's initial LIST goes on when the API server expires its continue token.

kopf lists each watched resource in pages (``settings.watching.chunk_size``) and asks for the
next page only once it has handled the last. With 100,000 ManagedSecrets that took 14 minutes,
because they were syncing at the same time; the API server keeps a list's snapshot only until
etcd compacts it (every 5 minutes by default). The next page was refused with ``410 Expired``,
kopf's watcher failed, and the operator stopped: it would have done the same after every restart.

client-go's pager answers that 410 with one LIST without pages, which would hold every body in
memory at once. Here the listing goes on with the continue token the 410 carries: the rest of the
list, read now rather than from the first page's snapshot. Nothing is lost that way: the watch
that follows starts from the first page's resourceVersion, which is compacted too, so the server
refuses it with ``410 Gone`` and kopf lists everything again, by then quickly, since the
ManagedSecrets it has already seen changed nothing the scheduler waits for.

kopf has no setting for this, so ``kopf._cogs.clients.fetching.fetch_objs``, the function its
watch calls, is replaced with this copy of it that handles the 410 (kopf is pinned below 2).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection
from typing import Any

from kopf._cogs.clients import api, errors, fetching

from vaultsync.backends.kube_http import expired_continue

log = logging.getLogger(__name__)


def _fresh_continue(error: errors.APIClientError) -> str | None:
    """The continue token of an ``Expired`` refusal (the rest of the list), if it carries one."""
    payload = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
    return expired_continue(error.status or 0, payload)


def _params(settings: Any, resource: Any) -> dict[str, str]:
    """The list's query, as kopf builds it (its watch mirrors these selectors)."""
    params: dict[str, str] = {}
    if settings.watching.chunk_size is not None:
        params["limit"] = str(settings.watching.chunk_size)
    for name, selectors in (
        ("labelSelector", settings.watching.label_selectors),
        ("fieldSelector", settings.watching.field_selectors),
    ):
        joined = ",".join(sorted(set(selectors.collect(resource))))
        if joined:
            params[name] = joined
    shard_selector, *_ = settings.watching.shard_selectors.collect(resource) or [""]
    if shard_selector:
        params["shardSelector"] = shard_selector
    return params


async def fetch_objs(
    *, settings: Any, resource: Any, namespace: Any, logger: Any
) -> AsyncIterator[tuple[Collection[Any], str]]:
    """kopf's ``fetch_objs``, which yields each page with the list's resourceVersion, plus the 410."""
    params = _params(settings, resource)
    token = ""
    version = ""
    first = True
    while first or token:
        first = False
        if token:
            params["continue"] = token
        try:
            page = await api.get(
                url=resource.get_url(namespace=namespace, params=params), logger=logger, settings=settings
            )
        except errors.APIClientError as e:
            fresh = _fresh_continue(e) if token else None
            if fresh is None:
                raise
            log.warning(
                "listing %s took longer than the API server keeps a list: going on with the rest "
                "(the watch after it lists everything again)",
                resource,
            )
            token = fresh
            continue
        items: list[Any] = page.get("items", [])
        for item in items:
            if "kind" in page:
                item.setdefault("kind", page["kind"].removesuffix("List"))
            if "apiVersion" in page:
                item.setdefault("apiVersion", page["apiVersion"])
        metadata = page.get("metadata", {})
        version = version or metadata.get("resourceVersion")
        token = metadata.get("continue") or ""
        yield items, version
        del items, page


def survive_expired_pages() -> None:
    """Call before kopf starts watching."""
    fetching.fetch_objs = fetch_objs
