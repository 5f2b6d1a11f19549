"""Operator settings: one dataclass, read from the environment (the Helm chart sets it)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from vaultsync.reconcile.boundary import Boundary, parse_allowances


@dataclass(frozen=True)
class OperatorSettings:
    namespace: str = "vaultsync-system"
    """The operator's own namespace: the HMAC key Secret and organisation profiles live here."""
    watch_namespaces: tuple[str, ...] = ()
    """Namespaces to watch; empty means the whole cluster."""
    hmac_secret_name: str = "vaultsync-hmac-key"  # noqa: S105 - a Secret name, not a value
    """Name of the immutable Secret holding the per-installation fingerprint key."""
    default_refresh_seconds: float = 3600.0
    """Refresh interval of ManagedSecrets and profiles that set none."""
    min_refresh_seconds: float = 5.0
    """Floor for refresh intervals, to protect vaults from a typo like ``1s``."""
    backend_concurrency: int = 16
    """Syncs and change listings in flight at once per VaultProfile they use (each makes a few
    vault calls). 16, not 8: after a 60 s outage 300 secrets re-synced in 38 s instead of 56 s
    (docs/performance.md)."""
    sync_workers: int = 32
    """Async workers taking ManagedSecrets (and change listings) from the one work queue."""
    sync_threads: int = 32
    """Threads of the one pool that runs the blocking SDK calls (syncs, listings, status writes);
    every HTTP connection pool (Kubernetes, Vault, AWS, Azure) is sized to it."""
    operator_qps: float = 0.0
    """Syncs and change listings started per second by the whole operator (0: no limit)."""
    operator_burst: int = 100
    """Burst above ``operator_qps``."""
    leader_election: bool = False
    """Only the replica holding the Lease ``lease_name`` syncs and writes (the chart's HA mode)."""
    lease_name: str = "vaultsync-leader"
    lease_duration_seconds: float = 15.0
    renew_deadline_seconds: float = 10.0
    retry_period_seconds: float = 2.0
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    """This replica's name in the Lease (the chart sets the pod name)."""
    http_timeout: float = 10.0
    """Seconds for connecting to and reading from a vault."""
    version_history: int = 10
    """How many ``status.versions[]`` entries are kept."""
    retry_base_seconds: float = 2.0
    """First retry delay after a failed sync; doubled each attempt, with full jitter."""
    retry_cap_seconds: float = 300.0
    """Longest retry delay after repeated failures."""
    metrics_port: int = 9090
    """Port of the Prometheus metrics endpoint (0 disables it)."""
    retention_days: int = 30
    """Recovery window of ``deletionPolicy: Delete``: days a deleted copy can still be restored."""
    expiry_warning_days: float = 14.0
    """Horizon of the ``ExpiringSoon`` condition and its Warning event."""
    cross_namespace_targets: frozenset[tuple[str, str]] = frozenset()
    """(ManagedSecret namespace, target namespace) pairs allowed to cross the namespace boundary."""
    access_review_seconds: float = 60.0
    """How long a SubjectAccessReview answer is reused (bounded cache; see docs/security.md)."""
    orphan_release_seconds: float = 300.0
    """How long a deletion waits for copies it cannot delete before it releases the finalizer."""
    rejected_delete_retry_seconds: float = 30.0
    """How long a rejected gated delete waits before it looks again (a changed spec opens a new request)."""
    metrics_address: str = "0.0.0.0"  # noqa: S104 - in a pod, Prometheus scrapes the pod IP
    """Interface the metrics endpoint listens on (the local run binds 127.0.0.1)."""
    webhook_address: str = "0.0.0.0"  # noqa: S104 - the apiserver reaches the pod through its Service
    """Interface the admission webhook server listens on when it serves TLS."""
    vault_max_request_bytes: int = 32 * 1024 * 1024
    """``max_request_size`` of the Vault/OpenBao listeners: larger writes are refused before sending."""
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    """The environment the ``env`` provider reads."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorSettings:
        env = dict(os.environ if env is None else env)
        watch = tuple(n.strip() for n in env.get("VAULTSYNC_WATCH_NAMESPACES", "").split(",") if n.strip())
        return cls(
            namespace=env.get("VAULTSYNC_NAMESPACE", cls.namespace),
            watch_namespaces=watch,
            hmac_secret_name=env.get("VAULTSYNC_HMAC_SECRET", cls.hmac_secret_name),
            default_refresh_seconds=float(
                env.get("VAULTSYNC_DEFAULT_REFRESH_SECONDS", cls.default_refresh_seconds)
            ),
            min_refresh_seconds=float(env.get("VAULTSYNC_MIN_REFRESH_SECONDS", cls.min_refresh_seconds)),
            backend_concurrency=int(env.get("VAULTSYNC_BACKEND_CONCURRENCY", cls.backend_concurrency)),
            sync_workers=int(env.get("VAULTSYNC_SYNC_WORKERS", cls.sync_workers)),
            sync_threads=int(env.get("VAULTSYNC_SYNC_THREADS", cls.sync_threads)),
            operator_qps=float(env.get("VAULTSYNC_OPERATOR_QPS", cls.operator_qps)),
            operator_burst=int(env.get("VAULTSYNC_OPERATOR_BURST", cls.operator_burst)),
            leader_election=env.get("VAULTSYNC_LEADER_ELECTION", "").lower() in ("1", "true", "yes"),
            lease_name=env.get("VAULTSYNC_LEASE_NAME", cls.lease_name),
            lease_duration_seconds=float(
                env.get("VAULTSYNC_LEASE_DURATION_SECONDS", cls.lease_duration_seconds)
            ),
            renew_deadline_seconds=float(
                env.get("VAULTSYNC_RENEW_DEADLINE_SECONDS", cls.renew_deadline_seconds)
            ),
            retry_period_seconds=float(env.get("VAULTSYNC_RETRY_PERIOD_SECONDS", cls.retry_period_seconds)),
            identity=env.get("VAULTSYNC_IDENTITY")
            or env.get("VAULTSYNC_POD_NAME")
            or f"{socket.gethostname()}-{os.getpid()}",
            http_timeout=float(env.get("VAULTSYNC_HTTP_TIMEOUT", cls.http_timeout)),
            metrics_port=int(env.get("VAULTSYNC_METRICS_PORT", cls.metrics_port)),
            retention_days=int(env.get("VAULTSYNC_RETENTION_DAYS", cls.retention_days)),
            expiry_warning_days=float(env.get("VAULTSYNC_EXPIRY_WARNING_DAYS", cls.expiry_warning_days)),
            cross_namespace_targets=parse_allowances(env.get("VAULTSYNC_CROSS_NAMESPACE_TARGETS", "")),
            access_review_seconds=float(
                env.get("VAULTSYNC_ACCESS_REVIEW_SECONDS", cls.access_review_seconds)
            ),
            orphan_release_seconds=float(
                env.get("VAULTSYNC_ORPHAN_RELEASE_SECONDS", cls.orphan_release_seconds)
            ),
            rejected_delete_retry_seconds=float(
                env.get("VAULTSYNC_REJECTED_DELETE_RETRY_SECONDS", cls.rejected_delete_retry_seconds)
            ),
            metrics_address=env.get("VAULTSYNC_METRICS_ADDRESS", cls.metrics_address),
            webhook_address=env.get("VAULTSYNC_WEBHOOK_ADDRESS", cls.webhook_address),
            vault_max_request_bytes=int(
                env.get("VAULTSYNC_VAULT_MAX_REQUEST_BYTES", cls.vault_max_request_bytes)
            ),
            environ=env,
        )

    @property
    def boundary(self) -> Boundary:
        return Boundary(self.namespace, self.cross_namespace_targets)
