"""The ``VaultProfile.spec.provider`` one-of: how to reach each kind of vault.

Credentials are only ever references to Kubernetes Secrets (name and key); there is no field
that could hold a token or a password inline, so a VaultProfile can live in git.
"""

from __future__ import annotations

from enum import StrEnum

from vaultsync.api.codec import Model
from vaultsync.api.common import DNS_LABEL, DNS_SUBDOMAIN, SECRET_DATA_KEY, SHORT_TEXT, SecretKeyRef
from vaultsync.api.schema import Rule, model, prop

_HTTP_URL = {"maxLength": 2048, "pattern": r"^https?://[^\s/]+(/[^\s]*)?$"}
_HTTPS_URL = {"maxLength": 2048, "pattern": r"^https://[^\s/]+(/[^\s]*)?$"}
_ROLE_ARN = {"maxLength": 2048, "pattern": r"^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/.+$"}
_FILE_PATH = {"maxLength": 4096, "pattern": r"^/[^\s]*$"}


def exactly_one(*names: str, where: str) -> Rule:
    """A CEL rule: exactly one of the optional fields ``names`` is set."""
    listed = ", ".join(names)
    has_each = ", ".join(f"has(self.{name})" for name in names)
    return Rule(
        rule=f"[{has_each}].filter(x, x).size() == 1", message=f"{where} must set exactly one of: {listed}"
    )


class ProviderKind(StrEnum):
    """The key of the provider one-of that a VaultProfile uses."""

    HASHICORP = "hashicorp"
    AWS = "aws"
    AZURE = "azure"
    KUBERNETES = "kubernetes"
    ENV = "env"


@model()
class HashicorpTokenAuth(Model):
    """Authenticate with a Vault token kept in a Kubernetes Secret."""

    secret_ref: SecretKeyRef = prop(
        "The key of a Secret in the profile's namespace that holds the Vault token."
    )


@model()
class HashicorpAppRoleAuth(Model):
    """Authenticate with AppRole: a role ID and a secret ID kept in a Kubernetes Secret."""

    role_id: str = prop("The AppRole role ID (not a secret).", schema={"minLength": 1, **SHORT_TEXT})
    secret_ref: SecretKeyRef = prop(
        "The key of a Secret in the profile's namespace that holds the AppRole secret ID."
    )
    mount_path: str = prop("Where the AppRole auth method is mounted.", default="approle", schema=SHORT_TEXT)


@model()
class HashicorpKubernetesAuth(Model):
    """Authenticate with the operator's service account token (Vault's kubernetes auth method).
    Uses the operator's own identity: allowed only for organisation profiles in the operator
    namespace."""

    role: str = prop(
        "The Vault role bound to the operator's service account.", schema={"minLength": 1, **SHORT_TEXT}
    )
    mount_path: str = prop(
        "Where the kubernetes auth method is mounted.", default="kubernetes", schema=SHORT_TEXT
    )
    audience: str | None = prop(
        "Audience of the projected service account token, when the role requires one.",
        default=None,
        schema=SHORT_TEXT,
    )


@model(rules=(exactly_one("token", "appRole", "kubernetes", where="spec.provider.hashicorp.auth"),))
class HashicorpAuth(Model):
    """How to log in to Vault or OpenBao: exactly one of token, appRole, kubernetes."""

    token: HashicorpTokenAuth | None = prop(
        "Log in with a Vault token kept in a Kubernetes Secret.", default=None
    )
    app_role: HashicorpAppRoleAuth | None = prop(
        "Log in with AppRole: a role ID and a secret ID kept in a Kubernetes Secret.", default=None
    )
    kubernetes: HashicorpKubernetesAuth | None = prop(
        "Log in with the operator's service account token (Vault's kubernetes auth method)."
        " Uses the operator's own identity: allowed only for organisation profiles in the operator"
        " namespace.",
        default=None,
    )


@model()
class HashicorpProvider(Model):
    """HashiCorp Vault or OpenBao, KV secrets engine version 2 or 1."""

    address: str = prop("URL of the Vault server, e.g. https://vault.example.com:8200.", schema=_HTTP_URL)
    mount: str = prop(
        "Mount path of the KV secrets engine.", default="secret", schema={"minLength": 1, **SHORT_TEXT}
    )
    kv_version: int = prop("Version of the KV secrets engine: 1 or 2.", default=2, schema={"enum": [1, 2]})
    path_prefix: str | None = prop(
        "Prefix prepended to every secret path used with this profile, e.g. teams/payments.",
        default=None,
        schema={"maxLength": 1024, "pattern": r"^[^\s]*$"},
    )
    namespace: str | None = prop("Vault Enterprise / OpenBao namespace.", default=None, schema=SHORT_TEXT)
    ca_bundle: SecretKeyRef | None = prop(
        "A key of a Secret in the profile's namespace holding PEM CA certificates to trust.", default=None
    )
    tls_skip_verify: bool = prop(
        "Do not verify the server's TLS certificate. Only for development; prefer caBundle.", default=False
    )
    auth: HashicorpAuth = prop("How to log in: exactly one of token, appRole, kubernetes.")


@model()
class AwsAccessKeySecretRef(Model):
    """A Kubernetes Secret holding an AWS access key ID and secret access key."""

    name: str = prop("Name of the Kubernetes Secret.", schema=DNS_SUBDOMAIN)
    access_key_id_key: str = prop(
        "Key of the Secret that holds the access key ID.", default="accessKeyId", schema=SECRET_DATA_KEY
    )
    secret_access_key_key: str = prop(
        "Key of the Secret that holds the secret access key.",
        default="secretAccessKey",
        schema=SECRET_DATA_KEY,
    )


@model()
class AwsAccessKeyAuth(Model):
    """Static access keys kept in one Kubernetes Secret."""

    secret_ref: AwsAccessKeySecretRef = prop(
        "The Secret (and its keys) holding the AWS access key ID and secret access key."
    )


@model()
class AwsRoleArnAuth(Model):
    """Assume an IAM role with the operator's ambient credentials. Uses the operator's own
    identity: allowed only for organisation profiles in the operator namespace."""

    role_arn: str = prop("ARN of the IAM role to assume.", schema=_ROLE_ARN)
    external_id: str | None = prop(
        "External ID the role's trust policy requires.", default=None, schema=SHORT_TEXT
    )
    session_name: str | None = prop(
        "Role session name, shown in CloudTrail. Defaults to vaultsync.",
        default=None,
        schema={"maxLength": 64},
    )


@model()
class AwsWebIdentityAuth(Model):
    """Assume an IAM role with a projected service account token (IRSA / EKS Pod Identity).
    Uses the operator's own identity: allowed only for organisation profiles in the operator
    namespace."""

    role_arn: str = prop("ARN of the IAM role to assume.", schema=_ROLE_ARN)
    token_path: str | None = prop(
        "File with the web identity token. Defaults to AWS_WEB_IDENTITY_TOKEN_FILE of the operator.",
        default=None,
        schema=_FILE_PATH,
    )


@model(rules=(exactly_one("accessKey", "roleArn", "webIdentity", where="spec.provider.aws.auth"),))
class AwsAuth(Model):
    """How to authenticate to AWS: exactly one of accessKey, roleArn, webIdentity."""

    access_key: AwsAccessKeyAuth | None = prop(
        "Static access keys kept in one Kubernetes Secret.", default=None
    )
    role_arn: AwsRoleArnAuth | None = prop(
        "Assume an IAM role with the operator's ambient credentials."
        " Uses the operator's own identity: allowed only for organisation profiles in the operator"
        " namespace.",
        default=None,
    )
    web_identity: AwsWebIdentityAuth | None = prop(
        "Assume an IAM role with a projected service account token (IRSA / EKS Pod Identity)."
        " Uses the operator's own identity: allowed only for organisation profiles in the operator"
        " namespace.",
        default=None,
    )


@model()
class AwsProvider(Model):
    """AWS Secrets Manager in one region."""

    region: str = prop(
        "AWS region, e.g. eu-west-1.", schema={"maxLength": 32, "pattern": r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"}
    )
    endpoint: str | None = prop(
        "Endpoint URL override (VPC endpoint, LocalStack, moto). Empty means the regional endpoint.",
        default=None,
        schema=_HTTP_URL,
    )
    kms_key_id: str | None = prop(
        "KMS key (ID, ARN or alias) for secrets that vaultsync creates. Empty means the AWS managed key.",
        default=None,
        schema={"maxLength": 2048},
    )
    auth: AwsAuth = prop("How to authenticate: exactly one of accessKey, roleArn, webIdentity.")


@model()
class AzureClientSecretAuth(Model):
    """A service principal with a client secret kept in a Kubernetes Secret."""

    tenant_id: str = prop("Microsoft Entra tenant ID.", schema={"minLength": 1, **SHORT_TEXT})
    client_id: str = prop(
        "Application (client) ID of the service principal.", schema={"minLength": 1, **SHORT_TEXT}
    )
    secret_ref: SecretKeyRef = prop(
        "The key of a Secret in the profile's namespace that holds the client secret."
    )


@model()
class AzureWorkloadIdentityAuth(Model):
    """Azure Workload Identity federation with the operator's service account token. Uses the operator's own
    identity: allowed only for organisation profiles in the operator namespace."""

    tenant_id: str = prop("Microsoft Entra tenant ID.", schema={"minLength": 1, **SHORT_TEXT})
    client_id: str = prop("Client ID of the federated identity.", schema={"minLength": 1, **SHORT_TEXT})
    token_path: str | None = prop(
        "File with the federated token. Defaults to AZURE_FEDERATED_TOKEN_FILE of the operator.",
        default=None,
        schema=_FILE_PATH,
    )


@model(rules=(exactly_one("clientSecret", "workloadIdentity", where="spec.provider.azure.auth"),))
class AzureAuth(Model):
    """How to authenticate to Azure: exactly one of clientSecret, workloadIdentity."""

    client_secret: AzureClientSecretAuth | None = prop(
        "A service principal with a client secret kept in a Kubernetes Secret.", default=None
    )
    workload_identity: AzureWorkloadIdentityAuth | None = prop(
        "Azure Workload Identity federation with the operator's service account token."
        " Uses the operator's own identity: allowed only for organisation profiles in the operator"
        " namespace.",
        default=None,
    )


@model()
class AzureProvider(Model):
    """Azure Key Vault."""

    vault_url: str = prop("URL of the key vault, e.g. https://my-vault.vault.azure.net.", schema=_HTTPS_URL)
    auth: AzureAuth = prop("How to authenticate: exactly one of clientSecret, workloadIdentity.")
    authority_host: str | None = prop(
        "Microsoft Entra authority host for sovereign clouds. Empty means the public cloud.",
        default=None,
        schema=_HTTPS_URL,
    )
    disable_challenge_resource_verification: bool = prop(
        """Do not check that the authentication challenge's resource matches the vault's domain.
        Needed for emulators such as Lowkey Vault; leave false for real key vaults.""",
        default=False,
    )
    ca_bundle: SecretKeyRef | None = prop(
        """A Secret key holding PEM CA certificates to trust for the TLS certificates of the vault and
        the authority host (private endpoints behind TLS inspection, Azure Stack Hub, emulators).
        Empty means the system's trust store.""",
        default=None,
    )


@model()
class KubernetesProvider(Model):
    """Kubernetes Secrets of one namespace of this cluster, used as a vault."""

    namespace: str | None = prop(
        """Namespace whose Secrets hold the content. Empty means the VaultProfile's own namespace,
        the only one a namespaced profile may name; an organisation profile (operator namespace)
        may name another. kube-system and the operator namespace are never allowed.""",
        default=None,
        schema=DNS_LABEL,
    )


@model()
class EnvProvider(Model):
    """Read-only: base64-encoded variables of the operator's own environment. Allowed only for
    organisation profiles in the operator namespace."""

    prefix: str = prop(
        "Prefix of the variables: a secret at path NAME is read from <prefix>NAME.",
        default="SECRET_",
        schema={"maxLength": 64, "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
    )


@model(rules=(exactly_one(*(kind.value for kind in ProviderKind), where="spec.provider"),))
class Provider(Model):
    """Which vault this profile connects to: exactly one of hashicorp, aws, azure, kubernetes, env."""

    hashicorp: HashicorpProvider | None = prop(
        "HashiCorp Vault or OpenBao, KV secrets engine version 2 or 1.", default=None
    )
    aws: AwsProvider | None = prop("AWS Secrets Manager in one region.", default=None)
    azure: AzureProvider | None = prop("Azure Key Vault.", default=None)
    kubernetes: KubernetesProvider | None = prop(
        "Kubernetes Secrets of one namespace of this cluster, used as a vault.", default=None
    )
    env: EnvProvider | None = prop(
        "Read-only: base64-encoded SECRET_<NAME> variables of the operator's own environment. Allowed only"
        " for organisation profiles in the operator namespace.",
        default=None,
    )

    @property
    def kind(self) -> ProviderKind:
        """The one provider key that is set."""
        for kind in ProviderKind:
            if getattr(self, kind.value) is not None:
                return kind
        raise ValueError("spec.provider sets no provider")
