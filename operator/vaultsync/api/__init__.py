"""The vaultsync.io/v1alpha1 API: typed models of the three kinds, from which crds/ is generated.

Handlers parse resource bodies with ``ManagedSecretSpec.from_dict(body["spec"])`` and write
status with ``status.to_dict()``; ``python -m vaultsync.api.render`` regenerates ``crds/``.
"""

from vaultsync.api.approvalrequest import (
    ApprovalDecision,
    ApprovalPhase,
    ApprovalRequestSpec,
    ApprovalRequestStatus,
    ChangeSummary,
    Decision,
)
from vaultsync.api.codec import Model, ModelError, format_timestamp, parse_timestamp, status_time
from vaultsync.api.common import (
    Condition,
    ConditionStatus,
    KeyAlgorithm,
    LabelSelector,
    Operation,
    ProfileRef,
    SecretKeyRef,
    SecretType,
    parse_duration,
)
from vaultsync.api.kinds import APPROVAL_REQUEST, KINDS, MANAGED_SECRET, VAULT_PROFILE
from vaultsync.api.managedsecret import (
    ANNOTATION_REFRESH_REQUESTED_AT,
    DeletionPolicy,
    Generate,
    GeneratorKind,
    KubernetesSecretTarget,
    ManagedSecretSpec,
    SecretSource,
    SecretState,
    SyncTarget,
)
from vaultsync.api.managedsecret_status import (
    ComplianceResult,
    ConditionType,
    Consumer,
    ManagedSecretStatus,
    Phase,
    SecretVersion,
    TargetKind,
    TargetState,
    TargetStatus,
    short_fingerprint,
)
from vaultsync.api.names import API_VERSION, GROUP, VERSION
from vaultsync.api.policy import ApprovalPolicy, CompliancePolicy, ComplianceRules, Enforcement
from vaultsync.api.providers import Provider, ProviderKind
from vaultsync.api.vaultprofile import VaultProfileConditionType, VaultProfileSpec, VaultProfileStatus

__all__ = [
    "ANNOTATION_REFRESH_REQUESTED_AT",
    "API_VERSION",
    "APPROVAL_REQUEST",
    "GROUP",
    "KINDS",
    "MANAGED_SECRET",
    "VAULT_PROFILE",
    "VERSION",
    "ApprovalDecision",
    "ApprovalPhase",
    "ApprovalPolicy",
    "ApprovalRequestSpec",
    "ApprovalRequestStatus",
    "ChangeSummary",
    "CompliancePolicy",
    "ComplianceResult",
    "ComplianceRules",
    "Condition",
    "ConditionStatus",
    "ConditionType",
    "Consumer",
    "Decision",
    "DeletionPolicy",
    "Enforcement",
    "Generate",
    "GeneratorKind",
    "KeyAlgorithm",
    "KubernetesSecretTarget",
    "LabelSelector",
    "ManagedSecretSpec",
    "ManagedSecretStatus",
    "Model",
    "ModelError",
    "Operation",
    "Phase",
    "ProfileRef",
    "Provider",
    "ProviderKind",
    "SecretKeyRef",
    "SecretSource",
    "SecretState",
    "SecretType",
    "SecretVersion",
    "SyncTarget",
    "TargetKind",
    "TargetState",
    "TargetStatus",
    "VaultProfileConditionType",
    "VaultProfileSpec",
    "VaultProfileStatus",
    "format_timestamp",
    "parse_duration",
    "parse_timestamp",
    "short_fingerprint",
    "status_time",
]
