"""The local stack: real servers on loopback for tests and for the local demo run.

Nothing here is part of the operator. It obtains (builds or fetches, cached outside the
repository), starts, health-checks and stops kube-apiserver + etcd, OpenBao, moto and
Lowkey Vault. Tests and ``vaultsync-devstack`` use the same code.
"""

from vaultsync_devstack.stack import Stack, default_cache_dir

__all__ = ["Stack", "default_cache_dir"]
