"""A Key Vault secrets protocol server and token endpoint for the test suite (never shipped).

See ``server.KeyVaultTestServer`` and docs/azure.md.
"""
