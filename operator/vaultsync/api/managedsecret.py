"""``ManagedSecret`` spec: one logical secret, its source, its copies and its lifecycle.

The CEL rules here catch, at ``kubectl apply`` time, the mistakes the operator could only
report later: a copy onto the source itself, the same target twice, a generator that cannot
produce the declared type.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from vaultsync.api.codec import Model
from vaultsync.api.common import (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    DURATION,
    ENVIRONMENT,
    REMOTE_PATH,
    SECRET_DATA_KEY,
    KeyAlgorithm,
    ProfileRef,
    SecretType,
)
from vaultsync.api.schema import Rule, model, prop

ANNOTATION_REFRESH_REQUESTED_AT = "vaultsync.io/refresh-requested-at"
"""Any new value of this annotation forces an immediate re-read of the source."""

DEFAULT_ENVIRONMENT = "default"


class DeletionPolicy(StrEnum):
    RETAIN = "Retain"
    DELETE = "Delete"


class SecretState(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class WorkloadKind(StrEnum):
    DEPLOYMENT = "Deployment"
    STATEFUL_SET = "StatefulSet"
    DAEMON_SET = "DaemonSet"


class GeneratorKind(StrEnum):
    PASSWORD = "password"  # noqa: S105 - a generator name, not a credential
    SECRET_KEY = "secretKey"  # noqa: S105 - a generator name, not a credential
    PRIVATE_KEY = "privateKey"
    SELF_SIGNED_CERTIFICATE = "selfSignedCertificate"


class CharacterClass(StrEnum):
    LOWERCASE = "lowercase"
    UPPERCASE = "uppercase"
    DIGITS = "digits"
    SYMBOLS = "symbols"


_PROFILE_NAMESPACE = "(has({ref}.__namespace__) ? {ref}.__namespace__ : '')"
"""CEL: the namespace of a reference or ''; ``namespace`` is a CEL reserved word, hence the escape."""


def _same_slot(left: str, left_env: str, right: str, right_env: str) -> str:
    """CEL: two (vaultProfile, path, environment) triples name the same remote secret."""
    return (
        f"{left}.vaultProfile.name == {right}.vaultProfile.name"
        f" && {_PROFILE_NAMESPACE.format(ref=left + '.vaultProfile')}"
        f" == {_PROFILE_NAMESPACE.format(ref=right + '.vaultProfile')}"
        f" && {left}.path == {right}.path && {left_env} == {right_env}"
    )


def _target_env(target: str) -> str:
    return f"(has({target}.environment) ? {target}.environment : self.source.environment)"


_GENERATOR_TYPES = {
    GeneratorKind.PASSWORD: (
        SecretType.BASIC_AUTH,
        SecretType.API_KEY,
        SecretType.BEARER_TOKEN,
        SecretType.GENERIC,
        SecretType.KEY_VALUE,
    ),
    GeneratorKind.SECRET_KEY: (SecretType.SECRET_KEY,),
    GeneratorKind.PRIVATE_KEY: (SecretType.PRIVATE_KEY,),
    GeneratorKind.SELF_SIGNED_CERTIFICATE: (SecretType.CERTIFICATE,),
}
"""Which spec.type each generator can produce content for."""


def _generator_fits_type() -> Rule:
    clauses = " || ".join(
        f"(self.generate.kind == '{kind}' && self.type in [{', '.join(repr(str(t)) for t in types)}])"
        for kind, types in _GENERATOR_TYPES.items()
    )
    explained = "; ".join(f"{kind} makes {', '.join(types)}" for kind, types in _GENERATOR_TYPES.items())
    return Rule(
        rule=f"!has(self.generate) || {clauses}",
        message=f"spec.generate.kind does not fit spec.type ({explained})",
        field_path=".generate.kind",
    )


@model()
class SecretSource(Model):
    """Where the content of the secret lives: the source of truth that every target copies."""

    vault_profile: ProfileRef = prop(
        """The VaultProfile of the source vault, as {name} for a profile in this namespace or
        {name, namespace} for an organisation profile shared with this namespace."""
    )
    path: str = prop(
        "Path or name of the secret inside the vault, e.g. apps/payments/db.", schema=REMOTE_PATH
    )
    environment: str = prop(
        "Environment key that selects one tenant's value of a multi-tenant secret.",
        default=DEFAULT_ENVIRONMENT,
        schema=ENVIRONMENT,
    )


@model()
class SyncTarget(Model):
    """Another vault that receives a copy of the content."""

    vault_profile: ProfileRef = prop("The VaultProfile of the target vault ({name} or {name, namespace}).")
    path: str = prop("Path or name of the copy inside the target vault.", schema=REMOTE_PATH)
    environment: str | None = prop(
        "Environment key of the copy. Empty means the source's environment.", default=None, schema=ENVIRONMENT
    )


@model()
class RolloutTarget(Model):
    """A workload restarted after its Kubernetes Secret changed."""

    kind: WorkloadKind = prop("Kind of the workload: Deployment, StatefulSet or DaemonSet.")
    name: str = prop("Name of the workload, in the namespace of the Kubernetes Secret.", schema=DNS_SUBDOMAIN)


@model(
    rules=(
        Rule(
            rule=(
                "!has(self.secretType) || self.secretType != 'kubernetes.io/tls' || !has(self.template)"
                " || ('tls.crt' in self.template && 'tls.key' in self.template)"
            ),
            message="a template for a kubernetes.io/tls Secret must write both tls.crt and tls.key",
            field_path=".template",
        ),
    )
)
class KubernetesSecretTarget(Model):
    """A native Kubernetes Secret written from the content, for workloads to mount."""

    name: str = prop("Name of the Kubernetes Secret.", schema=DNS_SUBDOMAIN)
    namespace: str | None = prop(
        """Namespace of the Secret. Empty means the ManagedSecret's namespace, the only one allowed
        unless a cluster admin allowed this pair of namespaces (crossNamespaceTargets).""",
        default=None,
        schema=DNS_LABEL,
    )
    secret_type: str | None = prop(
        """Type of the Secret, e.g. Opaque or kubernetes.io/tls. Empty means the type that fits
        spec.type (kubernetes.io/basic-auth, kubernetes.io/tls or Opaque).""",
        default=None,
        schema={"maxLength": 253, "pattern": r"^[-._a-zA-Z0-9/]+$"},
    )
    template: dict[str, str] = prop(
        """Secret data key -> template. {{ secret.<field> }} is a field of this secret's content,
        {{ SECRETS.<name>.<field> }} a field of a ManagedSecret listed in spec.references.
        Empty writes the content's fields as they are.""",
        default_factory=dict,
        schema={
            "maxProperties": 64,
            "x-kubernetes-validations": [
                {
                    "rule": f"self.all(key, key.matches('{SECRET_DATA_KEY['pattern']}'))",
                    "message": "template keys must be Secret data keys: letters, digits, '-', '_' and '.'",
                }
            ],
        },
        items={"maxLength": 65536},
    )
    labels: dict[str, str] = prop(
        "Labels added to the Secret.",
        default_factory=dict,
        schema={"maxProperties": 64},
        items={"maxLength": 63},
    )
    annotations: dict[str, str] = prop(
        "Annotations added to the Secret.",
        default_factory=dict,
        schema={"maxProperties": 64},
        items={"maxLength": 4096},
    )
    rollout_restart: tuple[RolloutTarget, ...] = prop(
        "Workloads to restart (like kubectl rollout restart) when the Secret's content changes.",
        default=(),
        schema={"maxItems": 16, "x-kubernetes-list-type": "atomic"},
    )


@model()
class CertificateSubject(Model):
    """Subject of a generated certificate."""

    common_name: str = prop("Common name (CN).", schema={"minLength": 1, "maxLength": 64})
    organizations: tuple[str, ...] = prop(
        "Organizations (O).",
        default=(),
        schema={"maxItems": 8, "x-kubernetes-list-type": "atomic"},
        items={"maxLength": 64},
    )


@model(
    rules=(
        Rule(
            rule="!has(self.length) || self.kind in ['password', 'secretKey']",
            message="generate.length applies only to kind password or secretKey",
        ),
        Rule(
            rule="!has(self.characterClasses) || self.kind == 'password'",
            message="generate.characterClasses applies only to kind password",
        ),
        Rule(
            rule=(
                "(!has(self.algorithm) && !has(self.size))"
                " || self.kind in ['privateKey', 'selfSignedCertificate']"
            ),
            message=(
                "generate.algorithm and generate.size apply only to kind privateKey or selfSignedCertificate"
            ),
        ),
        Rule(
            rule=(
                "(!has(self.subject) && !has(self.sans) && !has(self.validity))"
                " || self.kind == 'selfSignedCertificate'"
            ),
            message=(
                "generate.subject, generate.sans and generate.validity apply only to kind"
                " selfSignedCertificate"
            ),
        ),
        Rule(
            rule=(
                "!has(self.size) || (has(self.algorithm) && self.algorithm == 'RSA' && self.size >= 2048)"
                " || (has(self.algorithm) && self.algorithm == 'ECDSA' && self.size in [256, 384, 521])"
            ),
            message=(
                "generate.size needs generate.algorithm RSA (2048 bits or more) or ECDSA (256, 384 or 521);"
                " Ed25519 has a fixed size"
            ),
        ),
    )
)
class Generate(Model):
    """Create the content in the source vault when it is missing (and rotate it on a schedule)."""

    kind: GeneratorKind = prop("What to generate: password, secretKey, privateKey or selfSignedCertificate.")
    length: int | None = prop(
        "Length in characters of a password, or in bytes of a secret key.",
        default=None,
        schema={"minimum": 8, "maximum": 4096},
    )
    character_classes: tuple[CharacterClass, ...] = prop(
        "Character classes a password draws from (at least one of each). Empty means all four.",
        default=(),
        schema={"maxItems": 4, "x-kubernetes-list-type": "set"},
    )
    algorithm: KeyAlgorithm | None = prop(
        "Key algorithm of a private key or certificate: RSA, ECDSA or Ed25519 (default ECDSA).", default=None
    )
    size: int | None = prop("Key size in bits: RSA modulus or ECDSA curve size.", default=None)
    subject: CertificateSubject | None = prop("Subject of a self-signed certificate.", default=None)
    sans: tuple[str, ...] = prop(
        "Subject alternative names (DNS names or IP addresses) of a self-signed certificate.",
        default=(),
        schema={"maxItems": 64, "x-kubernetes-list-type": "set"},
        items={"minLength": 1, "maxLength": 253},
    )
    validity: str | None = prop(
        "Validity period of a self-signed certificate, e.g. 90d.", default=None, schema=DURATION
    )
    rotation_interval: str | None = prop(
        "Regenerate the content this long after the current version was created. Empty never rotates.",
        default=None,
        schema=DURATION,
    )


@model(
    rules=(
        Rule(
            rule=(
                "!has(self.syncTargets) || self.syncTargets.all(t, !("
                + _same_slot("t", _target_env("t"), "self.source", "self.source.environment")
                + "))"
            ),
            message="a sync target cannot be the source itself (same vaultProfile, path and environment)",
            field_path=".syncTargets",
        ),
        Rule(
            rule=(
                "!has(self.syncTargets) || self.syncTargets.all(a, self.syncTargets.exists_one(b, "
                + _same_slot("a", _target_env("a"), "b", _target_env("b"))
                + "))"
            ),
            message="spec.syncTargets lists the same vaultProfile, path and environment more than once",
            field_path=".syncTargets",
        ),
        _generator_fits_type(),
        Rule(
            rule=(
                "!has(self.references) || (has(self.kubernetesSecrets)"
                " && self.kubernetesSecrets.exists(k, has(k.template)))"
            ),
            message=(
                "spec.references are only used by templates:"
                " add a kubernetesSecrets[].template or remove them"
            ),
            field_path=".references",
        ),
        Rule(
            rule=(
                "!has(self.kubernetesSecrets) || self.kubernetesSecrets.all(k, has(k.template)"
                " || !has(k.secretType)"
                " || (k.secretType != 'kubernetes.io/tls' || self.type == 'certificate')"
                " && (k.secretType != 'kubernetes.io/basic-auth' || self.type == 'basic-auth'))"
            ),
            message=(
                "a kubernetesSecrets[] entry with secretType kubernetes.io/tls needs spec.type certificate,"
                " and kubernetes.io/basic-auth needs spec.type basic-auth, unless it has a template"
            ),
            field_path=".kubernetesSecrets",
        ),
    )
)
class ManagedSecretSpec(Model):
    """Desired state of a ManagedSecret."""

    type: SecretType = prop("Type of the content; it fixes the content's fields (see the docs).")
    source: SecretSource = prop(
        "Where the content of the secret lives: the source of truth that every target copies."
    )
    sync_targets: tuple[SyncTarget, ...] = prop(
        "Other vaults that receive a copy of the content.",
        default=(),
        schema={"maxItems": 32, "x-kubernetes-list-type": "atomic"},
    )
    kubernetes_secrets: tuple[KubernetesSecretTarget, ...] = prop(
        "Kubernetes Secrets written from the content.",
        default=(),
        schema={
            "maxItems": 16,
            "x-kubernetes-list-type": "atomic",
            "x-kubernetes-validations": [
                {
                    "rule": (
                        "self.all(a, self.exists_one(b, b.name == a.name"
                        f" && {_PROFILE_NAMESPACE.format(ref='b')} == {_PROFILE_NAMESPACE.format(ref='a')}))"
                    ),
                    "message": "spec.kubernetesSecrets lists the same namespace/name more than once",
                }
            ],
        },
    )
    references: tuple[str, ...] = prop(
        "Other ManagedSecrets of this namespace whose fields templates use as {{ SECRETS.<name>.<field> }}.",
        default=(),
        schema={"maxItems": 16, "x-kubernetes-list-type": "set"},
        items=DNS_SUBDOMAIN,
    )
    refresh_interval: str | None = prop(
        "How often the source is re-read, e.g. 5m. Empty means the source VaultProfile's refreshInterval.",
        default=None,
        schema=DURATION,
    )
    deletion_policy: DeletionPolicy = prop(
        """What deleting the ManagedSecret does to the copies: Retain leaves them, Delete removes the
        copies vaultsync wrote (after the restore window). The source is never deleted.""",
        default=DeletionPolicy.RETAIN,
    )
    state: SecretState = prop(
        "Inactive stops syncing and removes the Kubernetes Secrets until set back to Active.",
        default=SecretState.ACTIVE,
    )
    expires_at: datetime | None = prop(
        "When the content expires. For certificates, the status takes the expiry from the certificate.",
        default=None,
    )
    adopt: bool = prop(
        """Take over existing remote secrets at the target paths that lack vaultsync's ownership mark.
        Without it vaultsync never overwrites a remote secret it did not create.""",
        default=False,
    )
    generate: Generate | None = prop(
        "Create the content in the source vault when it is missing (and rotate it on a schedule).",
        default=None,
    )
