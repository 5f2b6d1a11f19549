"""One realistic document per secret type, as users store them in a vault."""

from __future__ import annotations

import base64
import datetime as dt
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@cache
def _key_and_certificate() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "contract.vaultsync.test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def document_for(secret_type: str, variant: str = "a") -> dict[str, Any]:
    """A document of ``secret_type``; different ``variant`` strings give different content."""
    key_pem, cert_pem = _key_and_certificate()
    documents: dict[str, dict[str, Any]] = {
        "basic-auth": {"username": f"svc-{variant}", "password": f"pw-{variant}-Q9!x"},
        "api-key": {"apiKey": f"ak-{variant}-0123456789", "headerName": "X-Api-Key"},
        "bearer-token": {"token": f"bt-{variant}-abcdef"},
        "jwt": {"token": f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ7{variant}In0.c2ln"},
        "client-credentials": {
            "clientId": f"client-{variant}",
            "clientSecret": f"cs-{variant}-xyz",
            "scopes": ["read", "write"],
            "tokenUrl": "https://login.example.test/token",
        },
        "private-key": {"privateKey": key_pem},
        "secret-key": {"secretKey": base64.b64encode(f"32-byte-key-{variant}".encode()).decode()},
        "certificate": {"certificate": cert_pem, "privateKey": key_pem},
        "keystore": {"keystore": base64.b64encode(f"pkcs12-{variant}".encode()).decode(), "password": "ks"},
        "key-value": {"host": "db.internal", "port": "5432", "user": f"u-{variant}"},
        "generic": {"value": f"generic-{variant}"},
    }
    return documents[secret_type]


SECRET_TYPES = [
    "basic-auth",
    "api-key",
    "bearer-token",
    "jwt",
    "client-credentials",
    "private-key",
    "secret-key",
    "certificate",
    "keystore",
    "key-value",
    "generic",
]
