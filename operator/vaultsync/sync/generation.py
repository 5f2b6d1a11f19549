"""``spec.generate``: create the content in the source when it is missing, rotate it on schedule.

New content is written to the *source* with compare-and-set and then flows like any change a
person makes there: the normal sync fingerprints it and pushes it, and when the governing
approval policy gates ``Update`` the push waits for approval (the source already holds the new
content; targets keep the old one until approved). Generated fields replace their old values;
every other field of the source document (a username, a header name) is kept.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from vaultsync.api.common import parse_duration
from vaultsync.api.managedsecret import Generate, GeneratorKind, ManagedSecretSpec
from vaultsync.backends.errors import BackendError, Conflict, NotFound, NotOwned
from vaultsync.backends.interface import Backend
from vaultsync.reconcile.rotation import PASSWORD_FIELD, generated_document, rotation_baseline, rotation_due
from vaultsync.secrets import formats, generators
from vaultsync.secrets.content import SecretContent
from vaultsync.secrets.errors import SecretModelError

CHARACTER_CLASSES = MappingProxyType(
    {"lowercase": "lower", "uppercase": "upper", "digits": "digits", "symbols": "symbols"}
)
ALGORITHMS = MappingProxyType({"RSA": "RSA", "ECDSA": "EC", "Ed25519": "Ed25519"})
EC_CURVES = MappingProxyType({256: "P-256", 384: "P-384", 521: "P-521"})
GENERATED = "Generated"
ROTATED = "Rotated"


class GenerationFailed(Exception):
    """Generating or writing new source content failed.

    Always retried with backoff: a rotation that is due stays due, and without backoff the
    daemon would try again at every wake-up.
    """


@dataclass(frozen=True)
class Generated:
    """What :func:`prepare_source` wrote: the event to post and the time for ``lastRotatedAt``."""

    reason: str
    message: str
    at: datetime


def rotation_interval(generate: Generate) -> timedelta | None:
    return parse_duration(generate.rotation_interval) if generate.rotation_interval else None


def generate_content(generate: Generate) -> SecretContent:
    """Fresh content for one ``spec.generate`` (API names mapped to the generators' names)."""
    kind = generate.kind
    if kind is GeneratorKind.PASSWORD:
        classes = [CHARACTER_CLASSES[c] for c in generate.character_classes or CHARACTER_CLASSES]
        return generators.generate_password(generate.length or 32, classes)
    if kind is GeneratorKind.SECRET_KEY:
        return generators.generate_secret_key(generate.length or 32)
    algorithm = ALGORITHMS[generate.algorithm or "ECDSA"]
    size = generate.size
    curve = EC_CURVES.get(size, "unsupported") if algorithm == "EC" and size else "P-256"
    rsa_bits = size if algorithm == "RSA" and size else None
    if kind is GeneratorKind.PRIVATE_KEY:
        return generators.generate_private_key(algorithm, rsa_bits, curve)
    common_name = generate.subject.common_name if generate.subject else ""
    sans = generate.sans
    request = generators.CertificateRequest(
        common_name=common_name or (sans[0] if sans else ""),
        dns_names=tuple(s for s in sans if not _is_ip(s)),
        ip_addresses=tuple(s for s in sans if _is_ip(s)),
        validity=parse_duration(generate.validity) if generate.validity else timedelta(days=90),
        key_algorithm=algorithm,
        key_size=rsa_bits,
        curve=curve,
    )
    return generators.generate_self_signed_certificate(request)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def generated_fields(secret_type: str, generate: Generate) -> dict[str, Any]:
    content = generate_content(generate)
    document = formats.to_document(content)
    if generate.kind is GeneratorKind.PASSWORD:
        return {PASSWORD_FIELD[secret_type]: document["value"]}
    return document


def prepare_source(
    backend: Backend,
    path: str,
    body: Mapping[str, Any],
    spec: ManagedSecretSpec,
    now: datetime | None = None,
    *,
    remember: Callable[[Iterable[str]], None] | None = None,
    waiting: Callable[[], str | None] = lambda: None,
) -> Generated | None:
    """Creates missing content, or rotates due content, in the source; None when nothing was due.

    ``remember`` receives the generated values before they are written (redaction of logs).
    ``waiting`` names the pending Update request a due rotation must wait for (asked only when
    a rotation is due); ``None`` when there is none.
    """
    generate = spec.generate
    if generate is None:
        return None
    now = now or datetime.now(UTC)
    meta = body["metadata"]
    owner = f"{meta['namespace']}/{meta['name']}"
    try:
        current = backend.read(path)
    except NotFound:
        current = None
    except BackendError:
        return None  # reading the source reports it
    if current is not None:
        baseline = rotation_baseline(body.get("status") or {}, current.metadata.updated_at)
        if not rotation_due(rotation_interval(generate), baseline, now) or waiting() is not None:
            return None
    try:
        secret_type = str(spec.type)
        fields = generated_fields(secret_type, generate)
        if remember is not None:
            remember(v for v in fields.values() if isinstance(v, str))
        document = generated_document(
            secret_type, fields, current.document if current else None, default_username=meta["name"]
        )
        backend.write(
            path,
            secret_type,
            document,
            owner=owner,
            expected_version=current.version if current else None,
            adopt=spec.adopt,
        )
    except SecretModelError as e:
        raise GenerationFailed(f"spec.generate cannot produce content: {e}") from e
    except Conflict:
        return None  # someone wrote the source meanwhile: their content wins, the clock restarts
    except NotOwned as e:
        raise GenerationFailed(
            f"spec.generate writes only a source vaultsync created, unless spec.adopt is set: {e}"
        ) from e
    except BackendError as e:
        raise GenerationFailed(f"writing generated content to the source failed: {e}") from e
    if current is None:
        return Generated(GENERATED, f"generated new {generate.kind} content in the source {path}", now)
    return Generated(ROTATED, f"rotated the {generate.kind} content of the source {path}", now)
