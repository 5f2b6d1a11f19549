"""The names of the Secrets vaultsync manages, so that a new target is created without a read.

A sync reads each Kubernetes Secret target before writing it. For a new ManagedSecret that read
is a 404 every time: one apiserver request per new object that says nothing. This index holds
the namespace and name of every Secret carrying the managed-by label, from one metadata-only
LIST at start (no Secret data crosses the wire) and the watch events after it. A name it does
not hold is presumed absent: the sync creates the Secret directly, and a create refused because
it exists after all (someone else's Secret, or one made between the LIST and the watch) falls
back to reading it, so ownership and adoption are checked exactly as before.

Until the LIST has succeeded, every name may exist (each target is read, as without the index).

Each name keeps the resourceVersion last seen, so a Secret listed again unchanged (the Secret
watch lists everything again after ``410 Gone``) is not taken for a change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from vaultsync.backends.errors import BackendError
from vaultsync.backends.interface import MANAGED_BY_VALUE, OWNER_KEY
from vaultsync.backends.kube_http import METADATA_ONLY, list_pages
from vaultsync.sync.k8s_targets import MANAGED_LABEL
from vaultsync.sync.kubeapi import KubeApi, KubeStatusError

log = logging.getLogger(__name__)

PAGE = 500
SELECTOR = f"{MANAGED_LABEL}={MANAGED_BY_VALUE}"


class SecretNames:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        """(namespace, name) -> (the ManagedSecret the Secret's annotation names as its owner,
        the resourceVersion last seen, None when unknown)."""
        self._listed = False

    def may_exist(self, namespace: str, name: str) -> bool:
        with self._lock:
            return not self._listed or (namespace, name) in self._names

    def seen(
        self,
        namespace: str,
        name: str,
        exists: bool,
        owner: str | None = None,
        resource_version: str | None = None,
    ) -> str | None:
        """A watch event, or our own create or delete; the resourceVersion seen before, if known."""
        with self._lock:
            if exists:
                before = self._names.get((namespace, name))
                self._names[(namespace, name)] = (owner, resource_version)
            else:
                before = self._names.pop((namespace, name), None)
        return before[1] if before is not None else None

    def owners(self) -> dict[tuple[str, str], str | None]:
        """Every managed Secret believed to exist, with its owner."""
        with self._lock:
            return {key: owner for key, (owner, _) in self._names.items()}

    def load(self, kube: KubeApi, namespaces: Iterable[str] = ()) -> bool:
        """Blocking: the one LIST at start (per watched namespace, or cluster-wide). False, and
        every name still may exist, when it fails."""
        paths = [f"/api/v1/namespaces/{ns}/secrets" for ns in namespaces] or ["/api/v1/secrets"]
        found: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        try:
            for path in paths:
                found |= _list_names(kube, path)
        except (KubeStatusError, BackendError, ValueError) as e:
            log.warning("managed Secrets not listed (%s); every target is read before it is written", e)
            return False
        with self._lock:
            self._names |= found
            self._listed = True
        return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._names)


def _list_names(kube: KubeApi, path: str) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    names: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for page in list_pages(
        kube.http, path, [("labelSelector", SELECTOR)], accept=METADATA_ONLY, page_size=PAGE
    ):
        for item in page.get("items") or []:
            metadata = item.get("metadata") or {}
            owner = (metadata.get("annotations") or {}).get(OWNER_KEY)
            version = metadata.get("resourceVersion")
            names[(str(metadata.get("namespace")), str(metadata.get("name")))] = (owner, version)
    return names
