"""The operator acts with no more right than the author of a spec.

Before it uses a credential Secret, reads a Kubernetes source Secret or writes over (adopts) a
Secret it does not own on behalf of a VaultProfile or ManagedSecret, the operator asks the
apiserver with a SubjectAccessReview whether the spec's author (``reconcile.authorship``) may
``get`` (or ``update``) that Secret. Answers are reused for ``ttl`` seconds in a bounded cache:
these checks happen only when a backend is built or content is read or adopted, never on an
unchanged refresh, so the steady state costs no request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from vaultsync.backends.kube_http import KubeHttp, KubeStatusError, resource_path
from vaultsync.reconcile.authorship import Author, verified_author

MAX_CACHED_ANSWERS = 4096


class AccessRefused(Exception):
    """The author may not do what the spec asks; the message says what is missing."""


class AccessGuard:
    def __init__(
        self,
        http: KubeHttp,
        hmac_key: bytes,
        ttl: float = 60.0,
        on_answer: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._http = http
        self._on_answer = on_answer
        """Told (namespace, allowed) of each review sent: the operator's metrics."""
        self._key = hmac_key
        self._ttl = ttl
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[Any, ...], tuple[float, bool]] = OrderedDict()

    def author_of(self, kind: str, body: Mapping[str, Any]) -> Author | None:
        return verified_author(self._key, kind, body)

    def require(
        self, kind: str, body: Mapping[str, Any], *, verb: str, namespace: str, name: str, why: str
    ) -> None:
        """Raises ``AccessRefused`` unless the author of ``body`` may ``verb`` Secret ``namespace/name``."""
        meta = body.get("metadata") or {}
        what = f"{kind} {meta.get('namespace')}/{meta.get('name')}"
        author = self.author_of(kind, body)
        if author is None:
            raise AccessRefused(
                f"{what}: the author of its spec is not known (the admission webhook did not record "
                f"it, or the record was edited), so Secret {namespace}/{name} is not used ({why}); "
                "re-apply the spec while the vaultsync webhook is running"
            )
        if not self.allowed(author, verb, namespace, name):
            raise AccessRefused(
                f"{what}: its author {author.user} may not {verb} Secret {namespace}/{name} ({why}); "
                f"grant {author.user} '{verb}' on that Secret, or have someone who has it apply the spec"
            )

    def allowed(self, author: Author, verb: str, namespace: str, name: str) -> bool:
        key = (author.user, author.groups, verb, namespace, name)
        now = time.monotonic()
        with self._lock:
            cached = self._answers.get(key)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
        spec: dict[str, Any] = {
            "user": author.user,
            "resourceAttributes": {"namespace": namespace, "verb": verb, "resource": "secrets", "name": name},
        }
        if author.groups:
            spec["groups"] = list(author.groups)
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
        path = resource_path("authorization.k8s.io", "v1", "subjectaccessreviews")
        try:
            answered = self._http.request("POST", path, body=review) or {}
            answer = bool((answered.get("status") or {}).get("allowed"))
        except KubeStatusError as e:
            raise AccessRefused(
                f"cannot check whether {author.user} may {verb} Secret {namespace}/{name}: "
                f"SubjectAccessReview failed with HTTP {e.status}"
            ) from e
        if self._on_answer is not None:
            self._on_answer(namespace, answer)
        with self._lock:
            self._answers[key] = (now, answer)
            self._answers.move_to_end(key)
            while len(self._answers) > MAX_CACHED_ANSWERS:
                self._answers.popitem(last=False)
        return answer
