"""secrets layer of vaultsync (see docs/architecture.md): the pure model of one secret's content.

- ``content``: ``SecretContent``, ``SecretType``, ``parse_content`` (validation, canonical bytes)
- ``formats``: documents, JSON, Azure values and names, Kubernetes Secret data
- ``fingerprint`` / ``versions``: HMAC fingerprints, ``status.versions[]`` records
- ``templates``: sandboxed Kubernetes Secret templates
- ``generators``: passwords, secret keys, private keys, self-signed certificates
- ``redaction``: masking of secret values in logs; ``dotenv``: ``.env`` in, ``SECRET_*`` out
- ``errors``: the error tree (``SecretModelError`` and below)
"""
