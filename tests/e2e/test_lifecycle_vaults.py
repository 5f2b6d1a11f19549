"""End to end: the lifecycle of a secret in its vaults.

Deletion with a recovery window and restore on recreate, environments, organisation profiles
shared by namespace label, generation and rotation, expiry warnings, and the .env import and
export commands. Everything runs against the real apiserver, OpenBao and moto.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.scenario import (
    assert_no_leak,
    aws_document,
    bao,
    bao_read,
    bao_write,
    condition,
    create_gated_profile,
    phase_is,
    posted,
    secret_exists,
    secrets_manager,
    status_of,
    unique_value,
)
from e2e.support import Cluster, wait_for
from vaultsync.cli import main as cli_main
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import Moto, OpenBao

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("managed_secrets_removed")]

REPO = Path(__file__).resolve().parents[2]
HOLD = "e2e.vaultsync.io/hold"
"""A finalizer of the test's own: keeps a deleted ManagedSecret visible after the operator is done."""


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _reasons(cluster: Cluster, name: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for event in cluster.events(name):
        found.setdefault(event.reason, []).append(event.message or "")
    return found


def _bao_metadata(openbao: OpenBao, path: str) -> dict[str, Any]:
    metadata: dict[str, Any] = bao(openbao).secrets.kv.v2.read_secret_metadata(path=path)["data"]
    return metadata


def _retained(source: str, aws_path: str, bao_path: str, secret: str) -> dict[str, Any]:
    return {
        "type": "basic-auth",
        "source": {"vaultProfile": {"name": "bao"}, "path": source},
        "syncTargets": [
            {"vaultProfile": {"name": "aws"}, "path": aws_path},
            {"vaultProfile": {"name": "bao"}, "path": bao_path},
        ],
        "kubernetesSecrets": [{"name": secret}],
        "deletionPolicy": "Delete",
    }


def test_delete_keeps_a_recovery_window_and_recreating_restores(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    password = unique_value("retention")
    source, aws_path, bao_path = f"e2e/{ns}/app", f"e2e/{ns}/app-aws", f"e2e/{ns}/app-copy"
    bao_write(openbao, source, {"username": "app", "password": password})
    spec = _retained(source, aws_path, bao_path, "app")
    cluster.create("managedsecrets", "app", spec)
    wait_for(lambda: phase_is(cluster, "app", "Synced", 1), 60, "first sync")
    aws_version = secrets_manager(moto).describe_secret(SecretId=aws_path)["VersionIdsToStages"]

    cluster.patch("managedsecrets", "app", {"metadata": {"finalizers": [HOLD, "vaultsync.io/finalizer"]}})
    requested = dt.datetime.now(dt.UTC)
    cluster.delete("managedsecrets", "app")
    status = wait_for(
        lambda: "Deleted" in _reasons(cluster, "app") and status_of(cluster, "app"), 60, "Deleted event"
    )
    assert status["phase"] == "Deleting"
    deleted_at, until = _time(status["deletedAt"]), _time(status["restorableUntil"])
    assert requested - dt.timedelta(seconds=5) <= deleted_at <= requested + dt.timedelta(seconds=60)
    assert dt.timedelta(days=29) < until - deleted_at <= dt.timedelta(days=30, seconds=60)
    message = _reasons(cluster, "app")["Deleted"][0]
    assert "soft-deleted 2 vault copies, restorable until" in message
    assert f"removed permanently: Secret {ns}/app" in message

    aws_deleted = secrets_manager(moto).describe_secret(SecretId=aws_path)
    assert aws_deleted.get("DeletedDate"), "AWS keeps the copy in its recovery window"
    marks = _bao_metadata(openbao, bao_path)["custom_metadata"]
    assert _time(marks["vaultsync.io/restorable-until"]) == until
    assert not secret_exists(cluster, "app"), "Kubernetes Secrets have no soft delete"
    cluster.patch("managedsecrets", "app", {"metadata": {"finalizers": None}})
    wait_for(lambda: cluster.gone("managedsecrets", "app"), 60, "ManagedSecret gone")

    cluster.create("managedsecrets", "app", spec)
    synced = wait_for(lambda: phase_is(cluster, "app", "Synced", 1), 60, "recreated and synced")
    versions = {t["path"]: t.get("version") for t in synced["targets"]}
    assert all(versions[p] for p in (aws_path, bao_path)), f"restored copies show their version: {versions}"
    restored = posted(cluster, "app", "Restored", 2)
    assert any(aws_path in m for m in restored), restored
    assert any(bao_path in m for m in restored), restored
    aws_now = secrets_manager(moto).describe_secret(SecretId=aws_path)
    assert "DeletedDate" not in aws_now
    assert aws_now["VersionIdsToStages"] == aws_version, "restored, not rewritten"
    assert aws_document(moto, aws_path)["password"] == password
    assert bao_read(openbao, bao_path)["data"]["password"] == password
    assert "vaultsync.io/restorable-until" not in (_bao_metadata(openbao, bao_path)["custom_metadata"] or {})
    assert cluster.secret_data("app") == {"username": "app", "password": password}
    assert_no_leak(cluster, operator, ["app"], [password])


def test_a_soft_deleted_copy_of_another_owner_is_neither_restored_nor_overwritten(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    source, aws_path, bao_path = f"e2e/{ns}/one", f"e2e/{ns}/one-aws", f"e2e/{ns}/one-copy"
    bao_write(openbao, source, {"username": "one", "password": unique_value("one")})
    cluster.create("managedsecrets", "first", _retained(source, aws_path, bao_path, "first"))
    wait_for(lambda: phase_is(cluster, "first", "Synced", 1), 60, "first synced")
    cluster.delete("managedsecrets", "first")
    wait_for(lambda: cluster.gone("managedsecrets", "first"), 60, "first deleted")

    cluster.create("managedsecrets", "second", _retained(source, aws_path, bao_path, "second"))
    status = wait_for(lambda: phase_is(cluster, "second", "Failed"), 60, "second refused")
    messages = " ".join(t.get("message") or "" for t in status["targets"])
    assert f"managed by {ns}/first" in messages
    assert "Restored" not in _reasons(cluster, "second")
    assert secrets_manager(moto).describe_secret(SecretId=aws_path).get("DeletedDate")
    assert _bao_metadata(openbao, bao_path)["custom_metadata"]["vaultsync.io/owner"] == f"{ns}/first"


def test_generate_creates_the_missing_source_and_rotates_it_on_schedule(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    source, aws_path = f"e2e/{ns}/generated", f"e2e/{ns}/generated-aws"
    cluster.create(
        "managedsecrets",
        "gen",
        {
            "type": "basic-auth",
            "source": {"vaultProfile": {"name": "bao"}, "path": source},
            "syncTargets": [{"vaultProfile": {"name": "aws"}, "path": aws_path}],
            "generate": {"kind": "password", "length": 24, "rotationInterval": "12s"},
        },
    )
    first = wait_for(lambda: phase_is(cluster, "gen", "Synced", 1), 60, "generated and synced")
    generated = bao_read(openbao, source)["data"]
    assert generated["username"] == "gen"
    assert len(generated["password"]) == 24
    assert aws_document(moto, aws_path) == generated
    posted(cluster, "gen", "Generated")
    assert first["lastRotatedAt"]

    second = wait_for(lambda: phase_is(cluster, "gen", "Synced", 2), 60, "rotated and pushed")
    rotated = bao_read(openbao, source)["data"]
    assert rotated["username"] == "gen", "fields that are not generated are kept"
    assert rotated["password"] != generated["password"]
    assert aws_document(moto, aws_path) == rotated
    assert _time(second["lastRotatedAt"]) >= _time(first["lastRotatedAt"]) + dt.timedelta(seconds=12)
    posted(cluster, "gen", "Rotated")
    assert_no_leak(cluster, operator, ["gen"], [generated["password"], rotated["password"]])


def test_rotation_writes_the_source_and_the_update_gate_holds_the_push(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    create_gated_profile(cluster, openbao)
    source, aws_path = f"e2e/{ns}/gated", f"e2e/{ns}/gated-aws"
    cluster.create(
        "managedsecrets",
        "gated",
        {
            "type": "api-key",
            "source": {"vaultProfile": {"name": "bao-gated"}, "path": source},
            "syncTargets": [{"vaultProfile": {"name": "aws"}, "path": aws_path}],
            "generate": {"kind": "password", "length": 40, "rotationInterval": "10s"},
        },
    )
    wait_for(lambda: phase_is(cluster, "gated", "Synced", 1), 60, "created (Create is not gated)")
    pushed = aws_document(moto, aws_path)
    held = wait_for(lambda: phase_is(cluster, "gated", "PendingApproval"), 60, "rotation held for approval")
    assert held["lastRotatedAt"]
    in_source = bao_read(openbao, source)["data"]
    assert in_source["apiKey"] != pushed["apiKey"], "the new content is already in the source"
    assert aws_document(moto, aws_path) == pushed, "targets keep the approved content"
    assert condition(held, "Approved")["status"] == "False"


@pytest.mark.parametrize(
    ("validity", "expected"),
    [
        pytest.param("10d", ("True", "ExpiringSoon"), id="inside-14-day-horizon"),
        pytest.param("90d", ("False", "NotExpiringSoon"), id="outside-horizon"),
    ],
)
def test_generated_certificate_reports_its_expiry(
    cluster: Cluster,
    vault_profiles: dict[str, str],
    operator: ManagedProcess,
    validity: str,
    expected: tuple[str, str],
) -> None:
    source = f"e2e/{cluster.namespace}/tls"
    cluster.create(
        "managedsecrets",
        "tls",
        {
            "type": "certificate",
            "source": {"vaultProfile": {"name": "bao"}, "path": source},
            "kubernetesSecrets": [{"name": "tls"}],
            "generate": {
                "kind": "selfSignedCertificate",
                "subject": {"commonName": "app.example.test"},
                "sans": ["app.example.test", "127.0.0.1"],
                "validity": validity,
            },
        },
    )
    status = wait_for(lambda: phase_is(cluster, "tls", "Synced", 1), 60, "certificate generated")
    days = int(validity.rstrip("d"))
    expires = _time(status["expiresAt"])
    assert abs(expires - (dt.datetime.now(dt.UTC) + dt.timedelta(days=days))) < dt.timedelta(minutes=5)
    shown = condition(status, "ExpiringSoon")
    assert (shown["status"], shown["reason"]) == expected
    if expected[0] == "True":  # events are posted after the status patch: wait for it
        posted(cluster, "tls", "ExpiringSoon")
    else:
        assert "ExpiringSoon" not in _reasons(cluster, "tls")
    assert set(cluster.secret_data("tls")) >= {"tls.crt", "tls.key"}


def test_spec_expires_at_in_the_past_is_expired(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    source = f"e2e/{cluster.namespace}/token"
    bao_write(openbao, source, {"token": unique_value("token")})
    cluster.create(
        "managedsecrets",
        "token",
        {
            "type": "bearer-token",
            "source": {"vaultProfile": {"name": "bao"}, "path": source},
            "kubernetesSecrets": [{"name": "token"}],
            "expiresAt": "2020-01-01T00:00:00Z",
        },
    )
    status = wait_for(lambda: phase_is(cluster, "token", "Synced", 1), 60, "synced")
    assert status["expiresAt"] == "2020-01-01T00:00:00Z"
    shown = condition(status, "ExpiringSoon")
    assert (shown["status"], shown["reason"]) == ("True", "Expired")
    warnings = posted(cluster, "token", "ExpiringSoon")
    assert set(warnings) == {"the content expired at 2020-01-01T00:00:00Z"}


OPERATOR_NAMESPACE = "vaultsync-system"


def _create_in(cluster: Cluster, namespace: str, plural: str, name: str, spec: dict[str, Any]) -> None:
    kind = {"vaultprofiles": "VaultProfile", "managedsecrets": "ManagedSecret"}[plural]
    body = {"apiVersion": "vaultsync.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec}
    cluster.custom.create_namespaced_custom_object("vaultsync.io", "v1alpha1", namespace, plural, body)


def _ready_of(cluster: Cluster, namespace: str, name: str) -> tuple[str, str] | None:
    found = cluster.custom.get_namespaced_custom_object(
        "vaultsync.io", "v1alpha1", namespace, "managedsecrets", name
    )
    for entry in (found.get("status") or {}).get("conditions") or []:
        if entry["type"] == "Ready":
            return entry["status"], entry["reason"]
    return None


def _label(cluster: Cluster, namespace: str, labels: dict[str, str | None]) -> None:
    cluster.core.patch_namespace(namespace, {"metadata": {"labels": labels}})


def test_organisation_profile_follows_namespace_labels_promptly(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    tenant = cluster.namespace
    profile = f"org-{tenant}"
    cluster.secret(f"{profile}-token", {"token": openbao.root_token}, namespace=OPERATOR_NAMESPACE)
    _create_in(
        cluster,
        OPERATOR_NAMESPACE,
        "vaultprofiles",
        profile,
        {
            "provider": {
                "hashicorp": {
                    "address": openbao.address,
                    "mount": "secret",
                    "kvVersion": 2,
                    "auth": {"token": {"secretRef": {"name": f"{profile}-token", "key": "token"}}},
                }
            },
            "sharing": {"namespaceSelector": {"matchLabels": {"vaultsync.io/tenant": tenant}}},
        },
    )
    other = f"{tenant}-other"
    assert cluster.kube.kubectl("create", "namespace", other).returncode == 0
    source = f"e2e/{tenant}/org"
    bao_write(openbao, source, {"value": unique_value("org")})
    spec = {
        "type": "generic",
        "source": {"vaultProfile": {"name": profile, "namespace": OPERATOR_NAMESPACE}, "path": source},
        "kubernetesSecrets": [{"name": "org"}],
    }
    _label(cluster, tenant, {"vaultsync.io/tenant": tenant})
    cluster.create("managedsecrets", "org", spec)
    # Admission refuses a profile not shared with the namespace: create while shared, then unshare.
    _label(cluster, other, {"vaultsync.io/tenant": tenant})
    _create_in(cluster, other, "managedsecrets", "org", spec)
    _label(cluster, other, {"vaultsync.io/tenant": None})
    try:
        wait_for(
            lambda: _ready_of(cluster, tenant, "org") == ("True", "Synced"), 60, "labelled namespace synced"
        )
        wait_for(
            lambda: _ready_of(cluster, other, "org") == ("False", "ProfileNotAllowed"),
            60,
            "unlabelled refused",
        )
        assert secret_exists(cluster, "org")

        _label(cluster, tenant, {"vaultsync.io/tenant": None})
        wait_for(
            lambda: _ready_of(cluster, tenant, "org") == ("False", "ProfileNotAllowed"),
            15,
            "access lost within seconds of the relabel (well inside the 30 s label cache)",
        )
        _label(cluster, other, {"vaultsync.io/tenant": tenant})
        wait_for(lambda: _ready_of(cluster, other, "org") == ("True", "Synced"), 15, "access gained promptly")
        assert cluster.secret_data("org", namespace=other)
        message = condition(status_of(cluster, "org"), "Ready")["message"]
        assert f"does not share with namespace {tenant}" in message
    finally:
        cluster.custom.delete_namespaced_custom_object(
            "vaultsync.io", "v1alpha1", other, "managedsecrets", "org"
        )
        cluster.custom.delete_namespaced_custom_object(
            "vaultsync.io", "v1alpha1", OPERATOR_NAMESPACE, "vaultprofiles", profile
        )


ENVIRONMENTS = ("staging", "production")


def _rendered_managed_secret(cluster: Cluster, environment: str) -> dict[str, Any]:
    rendered = cluster.kube.kubectl("kustomize", str(REPO / "examples/environments/overlays" / environment))
    assert rendered.returncode == 0, rendered.stderr
    (found,) = [d for d in yaml.safe_load_all(rendered.stdout) if d and d["kind"] == "ManagedSecret"]
    return dict(found)


def _for_this_test(spec: dict[str, Any], ns: str) -> dict[str, Any]:
    """The example's spec pointed at the test's profiles and paths; the same rewrite for every overlay."""
    local = copy.deepcopy(spec)
    local["source"]["vaultProfile"] = {"name": "bao"}
    local["source"]["path"] = f"e2e/{ns}/{local['source']['path']}"
    for target in local["syncTargets"]:
        target["vaultProfile"] = {"name": "aws"}
        target["path"] = f"e2e/{ns}/{target['path']}"
    local.pop("kubernetesSecrets")
    return local


def test_environment_overlays_select_different_value_sets(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    rendered = {env: _rendered_managed_secret(cluster, env) for env in ENVIRONMENTS}
    specs = {env: _for_this_test(doc["spec"], ns) for env, doc in rendered.items()}
    assert {doc["metadata"]["namespace"] for doc in rendered.values()} == {
        f"payments-{e}" for e in ENVIRONMENTS
    }
    without_environment = [{**s, "source": {**s["source"], "environment": None}} for s in specs.values()]
    assert without_environment[0] == without_environment[1], "the overlays differ only by environment"

    passwords = {env: unique_value(env) for env in ENVIRONMENTS}
    for env in ENVIRONMENTS:
        bao_write(
            openbao, f"e2e/{ns}/apps/payments/{env}/db", {"username": "payments", "password": passwords[env]}
        )
        cluster.create("managedsecrets", f"payments-db-{env}", specs[env])
    for env in ENVIRONMENTS:
        status = wait_for(
            lambda e=env: phase_is(cluster, f"payments-db-{e}", "Synced", 1), 60, f"{env} synced"
        )
        assert [t["path"] for t in status["targets"]] == [f"e2e/{ns}/payments/{env}/db"]
        assert aws_document(moto, f"e2e/{ns}/payments/{env}/db")["password"] == passwords[env]
    assert_no_leak(cluster, operator, [f"payments-db-{e}" for e in ENVIRONMENTS], passwords.values())


def _cli(kube_config: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main([*argv, "--kubeconfig", kube_config])
    return code, out.getvalue(), err.getvalue()


def test_import_env_writes_a_dotenv_file_into_vaults_and_export_env_prints_it_back(
    cluster: Cluster,
    vault_profiles: dict[str, str],
    openbao: OpenBao,
    moto: Moto,
    tmp_path: Path,
) -> None:
    ns, kube_config = cluster.namespace, str(cluster.kube.kubeconfig)
    values = {
        "DB_URL": unique_value("url"),
        "API_TOKEN": unique_value("token"),
        "MULTI": "line one\nline two",
    }
    dotenv = tmp_path / "app.env"
    dotenv.write_text(
        "# app settings\n"
        f"export DB_URL={values['DB_URL']}\n"
        f"API_TOKEN='{values['API_TOKEN']}'  # comment\n"
        'MULTI="line one\\nline two"\n'
    )
    code, out, err = _cli(
        kube_config,
        "import-env",
        str(dotenv),
        "--vault-profile",
        "bao",
        "-n",
        ns,
        "--prefix",
        f"e2e/{ns}/imported",
    )
    assert (code, err) == (0, ""), err
    assert "imported 3 keys (API_TOKEN, DB_URL, MULTI)" in out
    assert bao_read(openbao, f"e2e/{ns}/imported")["data"] == values
    marks = _bao_metadata(openbao, f"e2e/{ns}/imported")["custom_metadata"]
    assert marks["vaultsync.io/owner"].startswith("import/")
    assert marks["vaultsync.io/type"] == "key-value"

    code, out, err = _cli(
        kube_config,
        "import-env",
        str(dotenv),
        "--vault-profile",
        "aws",
        "-n",
        ns,
        "--prefix",
        f"e2e/{ns}/each",
        "--as",
        "separate",
    )
    assert code == 0, err
    for key, value in values.items():
        assert aws_document(moto, f"e2e/{ns}/each/{key}") == {"value": value}
    for printed in (out, err):
        assert not any(value in printed for value in values.values()), "import-env never prints values"

    cluster.create(
        "managedsecrets",
        "imported",
        {
            "type": "key-value",
            "source": {"vaultProfile": {"name": "bao"}, "path": f"e2e/{ns}/imported"},
            "syncTargets": [{"vaultProfile": {"name": "bao"}, "path": f"e2e/{ns}/imported-copy"}],
        },
    )
    wait_for(
        lambda: phase_is(cluster, "imported", "Synced", 1), 60, "an imported secret is a source as it is"
    )
    expected = "".join(
        f"SECRET_{key}={base64.b64encode(values[key].encode()).decode()}\n" for key in sorted(values)
    )
    assert _cli(kube_config, "export-env", "imported", "-n", ns) == (0, expected, "")
    assert _cli(kube_config, "export-env", "--file", str(dotenv)) == (0, expected, "")

    code, out, err = _cli(
        kube_config,
        "import-env",
        str(dotenv),
        "--vault-profile",
        "bao",
        "-n",
        ns,
        "--prefix",
        f"e2e/{ns}/imported-copy",
    )
    assert code == 1
    assert f"managed by {ns}/imported" in err, "never overwrites what a ManagedSecret owns"
    assert not any(value in out + err for value in values.values())


def test_rotation_of_a_source_someone_else_wrote_needs_adopt(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    source = f"e2e/{cluster.namespace}/handmade"
    original = unique_value("handmade")
    bao_write(openbao, source, {"value": original})
    spec = {
        "type": "generic",
        "source": {"vaultProfile": {"name": "bao"}, "path": source},
        "kubernetesSecrets": [{"name": "handmade"}],
        "generate": {"kind": "password", "rotationInterval": "5s"},
    }
    cluster.create("managedsecrets", "handmade", spec)
    wait_for(lambda: phase_is(cluster, "handmade", "Synced", 1), 60, "synced as it is")
    refused = wait_for(lambda: phase_is(cluster, "handmade", "Failed"), 60, "rotation refused")
    assert "unless spec.adopt is set" in condition(refused, "Ready")["message"]
    assert bao_read(openbao, source)["data"] == {"value": original}, "the source is untouched"

    cluster.patch("managedsecrets", "handmade", {"spec": {"adopt": True}})
    # Rotation then repeats every 5 s: wait for a Synced status that records it, whatever its version.
    rotated = wait_for(
        lambda: (
            (status := phase_is(cluster, "handmade", "Synced"))
            and status.get("currentVersion", 0) >= 2
            and status.get("lastRotatedAt")
            and status
        ),
        60,
        "rotated once adopted",
    )
    assert rotated["lastRotatedAt"]
    assert bao_read(openbao, source)["data"]["value"] != original
    assert_no_leak(cluster, operator, ["handmade"], [original, bao_read(openbao, source)["data"]["value"]])
