"""The sync service: which ManagedSecret syncs when, and how many at once.

Between ``handlers`` (kopf glue) and ``approvals``: it never imports kopf, and every
dependency (the engine's sync, the API writer, the clock) is passed in.
"""
