"""The sync service: what one sync of a ManagedSecret reads and writes (``engine`` and what it
uses), and which ManagedSecret syncs when, and how many at once (``scheduler``).

Between ``handlers`` (kopf glue) and ``approvals``: it never imports kopf, keeps no state at
module level, and every dependency (the Kubernetes client, the profile resolver, the engine's
sync, the status writer, the clock) is passed in by ``handlers.startup``.
"""
