"""HTTP connection pools sized to the operator's concurrency, for the requests-based vault clients.

Every sync worker thread may call the same vault at once. A pool smaller than that makes
urllib3 open extra connections and throw them away after one call ("Connection pool is full,
discarding connection"): a warning per call and a new TCP (and TLS) handshake each time.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DEFAULT_POOL_SIZE = 32
"""Connections kept per vault client: the operator's sync worker threads (``VAULTSYNC_SYNC_THREADS``)."""


def pooled_session(size: int, retries: Retry | int = 0) -> requests.Session:
    """A session keeping up to ``size`` connections per host; no retries of its own by default."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=size, pool_maxsize=size, max_retries=retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
