"""The committed CRDs are exactly what the models generate, and the schemas are well formed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from vaultsync.api import render
from vaultsync.api.crd import crd_of
from vaultsync.api.kinds import APPROVAL_REQUEST, KINDS, MANAGED_SECRET, VAULT_PROFILE, Kind

CRDS_DIR = Path(__file__).resolve().parents[3] / "crds"
REGENERATE = "regenerate them with `.venv/bin/python -m vaultsync.api.render` and commit crds/"
KIND_IDS = [kind.kind for kind in KINDS]

# CEL reserved words must be written __word__ when they name a property.
CEL_RESERVED = (
    "namespace",
    "package",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "return",
    "var",
    "void",
    "while",
)


def _root(kind: Kind) -> dict[str, Any]:
    schema: dict[str, Any] = crd_of(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _walk(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from _walk(child, f"{path}.{name}")
    if "items" in schema:
        yield from _walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _walk(schema["additionalProperties"], f"{path}{{}}")


def _nodes(kind: Kind) -> Iterator[tuple[str, dict[str, Any]]]:
    for part in ("spec", "status"):
        yield from _walk(_root(kind)["properties"][part], part)


def test_committed_crds_match_the_models() -> None:
    rendered = render.render_crds()
    committed = {path.name: path.read_text(encoding="utf-8") for path in CRDS_DIR.glob("*.yaml")}
    assert sorted(committed) == sorted(rendered), (
        f"crds/ holds other files than the models make; {REGENERATE}"
    )
    for name, text in rendered.items():
        assert committed[name] == text, f"crds/{name} drifted from operator/vaultsync/api; {REGENERATE}"


def test_render_main_writes_every_crd(tmp_path: Path) -> None:
    assert render.main([str(tmp_path)]) == 0
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == sorted(kind.file_name for kind in KINDS)
    for kind in KINDS:
        document = yaml.safe_load((tmp_path / kind.file_name).read_text(encoding="utf-8"))
        assert document == crd_of(kind)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_every_field_has_a_description(kind: Kind) -> None:
    undocumented = [path for path, node in _nodes(kind) if not node.get("description", "").strip()]
    undocumented = [path for path in undocumented if not path.endswith(("[]", "{}"))]
    assert undocumented == []


_FILLER_WORDS = (
    "a an and any as at be by each for from in is it its of on one or the this to when where which with"
)
_FILLER = frozenset(_FILLER_WORDS.split())


def _words(paragraph: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", paragraph.lower()) if w not in _FILLER}


def restated_paragraphs(description: str) -> list[tuple[str, str]]:
    """Pairs of paragraphs of one description where most words of the shorter one are in the other."""
    paragraphs = [p for p in description.split("\n\n") if p.strip()]
    pairs = []
    for i, first in enumerate(paragraphs):
        for second in paragraphs[i + 1 :]:
            a, b = _words(first), _words(second)
            if a and b and len(a & b) / min(len(a), len(b)) > 0.5:
                pairs.append((first, second))
    return pairs


def test_restated_paragraphs_are_found() -> None:
    assert restated_paragraphs("How to log in.\n\nHow to log in to Vault: exactly one of token, appRole.")
    assert restated_paragraphs("Azure Key Vault.\n\nAzure Key Vault.")
    assert not restated_paragraphs("Where the content lives.\n\nRetries double up to five minutes.")


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_no_description_says_the_same_thing_twice(kind: Kind) -> None:
    """`kubectl explain` shows each description whole: a field's text and its type's docstring used to
    be joined, two paragraphs restating each other."""
    restated = {
        path: pairs
        for path, node in _nodes(kind)
        if (pairs := restated_paragraphs(node.get("description", "")))
    }
    assert restated == {}


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_schemas_are_structural(kind: Kind) -> None:
    for path, node in _nodes(kind):
        assert "type" in node, f"{path} has no type"
        if node["type"] == "object":
            assert "properties" in node or "additionalProperties" in node, f"{path} is an object of nothing"
        if node["type"] == "array":
            assert "items" in node, f"{path} has no items"
        assert not ({"anyOf", "oneOf", "allOf", "not"} & node.keys()), f"{path} uses a non-structural keyword"
        for required in node.get("required", []):
            assert required in node["properties"], f"{path} requires unknown {required}"


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_lists_maps_and_strings_under_rules_are_bounded(kind: Kind) -> None:
    """The apiserver estimates CEL cost from maxItems/maxLength; unbounded ones blow the budget."""
    for path, node in _nodes(kind):
        if node["type"] == "array":
            assert "maxItems" in node, f"{path} has no maxItems"
            assert "x-kubernetes-list-type" in node, f"{path} has no x-kubernetes-list-type"
        if node["type"] == "object" and "additionalProperties" in node:
            assert "maxProperties" in node, f"{path} has no maxProperties"
        if node["type"] == "string" and "enum" not in node and "format" not in node:
            assert "maxLength" in node, f"{path} has no maxLength"


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_rules_never_name_a_cel_reserved_word_unescaped(kind: Kind) -> None:
    reserved = re.compile(r"\.(" + "|".join(CEL_RESERVED) + r")\b")
    for path, node in _nodes(kind):
        for validation in node.get("x-kubernetes-validations", []):
            assert not reserved.search(validation["rule"]), f"{path}: {validation['rule']}"
            assert validation["message"].strip(), f"{path} has a rule without a message"


RULES = [
    (VAULT_PROFILE, "spec.provider", "exactly one of: hashicorp, aws, azure, kubernetes, env"),
    (VAULT_PROFILE, "spec.provider.hashicorp.auth", "exactly one of: token, appRole, kubernetes"),
    (VAULT_PROFILE, "spec.provider.aws.auth", "exactly one of: accessKey, roleArn, webIdentity"),
    (VAULT_PROFILE, "spec.provider.azure.auth", "exactly one of: clientSecret, workloadIdentity"),
    (VAULT_PROFILE, "spec.approval.approvers", "at least one user or group"),
    (MANAGED_SECRET, "spec", "cannot be the source itself"),
    (MANAGED_SECRET, "spec", "same vaultProfile, path and environment more than once"),
    (MANAGED_SECRET, "spec", "spec.generate.kind does not fit spec.type"),
    (MANAGED_SECRET, "spec", "spec.references are only used by templates"),
    (MANAGED_SECRET, "spec.kubernetesSecrets", "same namespace/name more than once"),
    (MANAGED_SECRET, "spec.kubernetesSecrets[].template", "template keys must be Secret data keys"),
    (MANAGED_SECRET, "spec.generate", "generate.length applies only to kind password or secretKey"),
    (APPROVAL_REQUEST, "spec.managedSecret", "spec.managedSecret is immutable"),
    (APPROVAL_REQUEST, "spec.operation", "spec.operation is immutable"),
    (APPROVAL_REQUEST, "spec.fingerprint", "spec.fingerprint is immutable"),
    (APPROVAL_REQUEST, "spec.decisions", "append-only"),
    (APPROVAL_REQUEST, "spec", "decisions cannot be removed"),
]


@pytest.mark.parametrize(
    ("kind", "path", "message"),
    RULES,
    ids=[f"{kind.kind}:{path}:{message[:24]}" for kind, path, message in RULES],
)
def test_cel_rule_is_declared(kind: Kind, path: str, message: str) -> None:
    nodes = dict(_nodes(kind))
    messages = [validation["message"] for validation in nodes[path].get("x-kubernetes-validations", [])]
    assert any(message in declared for declared in messages), messages


BOUNDS = [
    (VAULT_PROFILE, "spec.approval.requiredApprovals", "minimum", 1),
    (VAULT_PROFILE, "spec.approval.allowSelfApproval", "default", False),
    (VAULT_PROFILE, "spec.approval.operations", "x-kubernetes-list-type", "set"),
    (VAULT_PROFILE, "spec.provider.hashicorp.mount", "default", "secret"),
    (VAULT_PROFILE, "spec.provider.hashicorp.kvVersion", "default", 2),
    (VAULT_PROFILE, "spec.provider.hashicorp.kvVersion", "enum", [1, 2]),
    (VAULT_PROFILE, "spec.provider.hashicorp.auth.kubernetes.mountPath", "default", "kubernetes"),
    (VAULT_PROFILE, "spec.provider.env.prefix", "default", "SECRET_"),
    (VAULT_PROFILE, "spec.compliance.enforcement", "enum", ["Audit", "Enforce"]),
    (MANAGED_SECRET, "spec.source.environment", "default", "default"),
    (MANAGED_SECRET, "spec.deletionPolicy", "default", "Retain"),
    (MANAGED_SECRET, "spec.state", "default", "Active"),
    (MANAGED_SECRET, "spec.adopt", "default", False),
    (MANAGED_SECRET, "spec.expiresAt", "format", "date-time"),
    (MANAGED_SECRET, "spec.source.path", "minLength", 1),
    (MANAGED_SECRET, "status.conditions", "x-kubernetes-list-map-keys", ["type"]),
    (APPROVAL_REQUEST, "spec.fingerprint", "pattern", r"^hmac-sha256:[0-9a-f]{64}$"),
]


@pytest.mark.parametrize(
    ("kind", "path", "key", "value"),
    BOUNDS,
    ids=[f"{kind.kind}:{path}:{key}" for kind, path, key, _ in BOUNDS],
)
def test_schema_declares(kind: Kind, path: str, key: str, value: Any) -> None:
    assert dict(_nodes(kind))[path][key] == value


def test_managed_secret_root_rule_forbids_referencing_itself() -> None:
    messages = [rule["message"] for rule in _root(MANAGED_SECRET)["x-kubernetes-validations"]]
    assert messages == ["spec.references cannot name the ManagedSecret itself"]


def test_managed_secret_type_lists_the_eleven_types_of_the_design() -> None:
    types = dict(_nodes(MANAGED_SECRET))["spec.type"]["enum"]
    assert types == [
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


@pytest.mark.parametrize(
    ("kind", "short_name", "columns"),
    [
        (VAULT_PROFILE, "vp", ["Provider", "Ready", "Age"]),
        (MANAGED_SECRET, "ms", ["Type", "Phase", "Version", "Fingerprint", "Expires", "Age"]),
        (APPROVAL_REQUEST, "ar", ["Secret", "Operation", "Phase", "Approvals", "Age"]),
    ],
    ids=KIND_IDS,
)
def test_names_columns_and_status_subresource(kind: Kind, short_name: str, columns: list[str]) -> None:
    crd = crd_of(kind)
    version = crd["spec"]["versions"][0]
    assert crd["spec"]["names"]["shortNames"] == [short_name]
    assert crd["spec"]["names"]["categories"] == ["vaultsync"]
    assert (crd["spec"]["group"], version["name"]) == ("vaultsync.io", "v1alpha1")
    assert version["subresources"] == {"status": {}}
    assert [column["name"] for column in version["additionalPrinterColumns"]] == columns
    nodes = dict(_nodes(kind))
    for column in version["additionalPrinterColumns"]:
        path = column["jsonPath"].lstrip(".").split("[")[0]
        assert path.startswith("metadata.") or path in nodes, f"column {column['name']} shows unknown {path}"
