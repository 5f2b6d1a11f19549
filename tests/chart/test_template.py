"""`helm template` under a matrix of values: every case renders, and the rendered objects keep the
chart's promises (least-privilege RBAC, webhook wiring, hardened pods, HA leader election, PDB, metrics)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from chart.chart_tools import Helm, container_of, env_of, of_kind, one, rules_allow
from vaultsync.sync.settings import OperatorSettings

NAMESPACE = "vaultsync-system"
RELEASE = "vs"
TEAMS = ["team-a", "team-b"]

CASES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "namespaced": {"watchNamespaces": TEAMS},
    "ha-cluster-wide": {"ha": {"enabled": True}, "replicas": 3},
    "ha-namespaced": {"ha": {"enabled": True}, "replicas": 2, "watchNamespaces": TEAMS},
    "ha-one-replica": {"ha": {"enabled": True}},
    "cert-manager-self-signed": {"webhook": {"certManager": {"enabled": True}}},
    "cert-manager-cluster-issuer": {
        "webhook": {
            "certManager": {"enabled": True, "issuerRef": {"name": "corp-ca", "kind": "ClusterIssuer"}}
        }
    },
    "service-monitor": {"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}},
    "token-requests": {"rbac": {"serviceAccountTokens": True}},
    "custom-ports": {"webhook": {"port": 10443}, "metrics": {"port": 9191}, "health": {"port": 8181}},
    "existing-hmac-secret": {"hmac": {"existingSecret": "corp-hmac"}},
    "no-pdb": {"podDisruptionBudget": {"enabled": False}},
    "pdb-min-available": {"podDisruptionBudget": {"minAvailable": 1}},
    "fullname-override": {"fullnameOverride": "sync", "serviceAccount": {"name": "sync-operator"}},
    "digest-pinned": {"image": {"repository": "registry.example/vaultsync", "digest": "sha256:" + "a" * 64}},
}
TUNED: dict[str, Any] = {
    "sync": {
        "workers": 8,
        "threads": 16,
        "qps": 2.5,
        "burst": 20,
        "backendConcurrency": 4,
        "httpTimeoutSeconds": 5,
        "defaultRefreshSeconds": 600,
        "minRefreshSeconds": 10,
        "retentionDays": 7,
        "expiryWarningDays": 3,
    },
    "ha": {"enabled": True, "leaseDurationSeconds": 20, "renewDeadlineSeconds": 12, "retryPeriodSeconds": 3},
}
CASES["tuned"] = TUNED

SECRET_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}
ROLE_KINDS = ("ClusterRole", "Role")
FORBIDDEN_VERBS = {"*", "escalate", "bind", "impersonate", "deletecollection", "approve", "sign"}


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def case(request: pytest.FixtureRequest, helm: Helm) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    values = CASES[request.param]
    return values, helm.template(values, release=RELEASE, namespace=NAMESPACE)


def _fullname(values: dict[str, Any]) -> str:
    return str(values.get("fullnameOverride") or f"{RELEASE}-vaultsync")


def _service_account(values: dict[str, Any]) -> str:
    return str(values.get("serviceAccount", {}).get("name") or _fullname(values))


def _bound_rules(objects: list[dict[str, Any]], namespace: str | None) -> list[dict[str, Any]]:
    """The rules of every role bound to the operator that apply in ``namespace`` (None: cluster scope)."""
    roles = {(obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]): obj for obj in objects}
    rules: list[dict[str, Any]] = []
    for binding in of_kind(objects, "ClusterRoleBinding") + of_kind(objects, "RoleBinding"):
        binding_namespace = binding["metadata"].get("namespace")
        if binding["kind"] == "RoleBinding" and binding_namespace != namespace:
            continue
        ref = binding["roleRef"]
        role_namespace = binding_namespace if ref["kind"] == "Role" else None
        rules += roles[(ref["kind"], role_namespace, ref["name"])]["rules"]
    return rules


def test_rbac_has_no_wildcards_and_no_dangerous_verbs(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    _, objects = case
    for role in [obj for obj in objects if obj["kind"] in ROLE_KINDS]:
        for rule in role["rules"]:
            where = f"{role['kind']} {role['metadata']['name']}"
            assert "*" not in rule["apiGroups"], where
            assert not any("*" in resource for resource in rule["resources"]), where
            assert not FORBIDDEN_VERBS & set(rule["verbs"]), where
            assert "nonResourceURLs" not in rule, where
            assert "rbac.authorization.k8s.io" not in rule["apiGroups"], where


def test_secrets_rights_stay_within_the_documented_list(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    values, objects = case
    hmac_secret = values.get("hmac", {}).get("existingSecret") or f"{_fullname(values)}-hmac"
    for role in [obj for obj in objects if obj["kind"] in ROLE_KINDS]:
        for rule in role["rules"]:
            if "" not in rule["apiGroups"]:
                continue
            touched = {r for r in rule["resources"] if r.startswith("secrets")}
            assert touched <= {"secrets"}, touched
            if touched:
                assert set(rule["verbs"]) <= SECRET_VERBS
                if rule.get("resourceNames"):
                    assert rule["resourceNames"] == [hmac_secret]
    operator_role = one(objects, "Role", f"{_fullname(values)}-operator")
    assert rules_allow(operator_role["rules"], "", "secrets", "get", hmac_secret)
    assert rules_allow(operator_role["rules"], "", "secrets", "create")
    assert not rules_allow(operator_role["rules"], "", "secrets", "get", "someone-elses-secret")
    assert not rules_allow(operator_role["rules"], "", "secrets", "list")


OPERATOR_CALLS = [
    ("vaultsync.io", "managedsecrets", "watch"),
    ("vaultsync.io", "managedsecrets", "patch"),
    ("vaultsync.io", "vaultprofiles", "list"),
    ("vaultsync.io", "approvalrequests", "create"),
    ("vaultsync.io", "managedsecrets/status", "patch"),
    ("vaultsync.io", "vaultprofiles/status", "patch"),
    ("vaultsync.io", "approvalrequests/status", "update"),
    ("", "events", "create"),
    ("", "secrets", "create"),
    ("", "secrets", "delete"),
    ("", "pods", "list"),
    ("apps", "deployments", "patch"),
    ("apps", "statefulsets", "patch"),
    ("apps", "daemonsets", "patch"),
    ("batch", "jobs", "list"),
    ("batch", "cronjobs", "watch"),
]
NEVER_GRANTED = [
    ("vaultsync.io", "managedsecrets", "delete"),
    ("vaultsync.io", "vaultprofiles", "create"),
    ("", "pods", "delete"),
    ("", "pods/exec", "create"),
    ("", "configmaps", "get"),
    ("", "serviceaccounts", "create"),
    ("apps", "deployments", "delete"),
    ("apps", "deployments", "create"),
    ("apps", "replicasets", "patch"),
    ("batch", "jobs", "create"),
]


def test_operator_rights_are_granted_where_it_works(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    values, objects = case
    watched = values.get("watchNamespaces")
    scopes = watched if watched else [None]
    for namespace in scopes:
        rules = _bound_rules(objects, namespace)
        for group, resource, verb in OPERATOR_CALLS:
            assert rules_allow(rules, group, resource, verb), (namespace, group, resource, verb)
        for group, resource, verb in NEVER_GRANTED:
            assert not rules_allow(rules, group, resource, verb), (namespace, group, resource, verb)
        tokens = bool(values.get("rbac", {}).get("serviceAccountTokens"))
        assert rules_allow(rules, "", "serviceaccounts/token", "create") is tokens
    cluster_rules = _bound_rules(objects, None)
    assert rules_allow(cluster_rules, "apiextensions.k8s.io", "customresourcedefinitions", "watch")
    assert rules_allow(cluster_rules, "", "namespaces", "list")
    assert not rules_allow(cluster_rules, "", "namespaces", "delete")
    assert not rules_allow(cluster_rules, "", "nodes", "get")
    if watched:
        for group, resource, verb in OPERATOR_CALLS:
            assert not rules_allow(cluster_rules, group, resource, verb), ("cluster-wide", resource, verb)
        assert not rules_allow(_bound_rules(objects, "outside"), "", "secrets", "list")
        assert not rules_allow(_bound_rules(objects, NAMESPACE), "", "secrets", "list")
    leases = _bound_rules(objects, NAMESPACE)
    assert rules_allow(leases, "coordination.k8s.io", "leases", "update", f"{_fullname(values)}-leader")


def test_bindings_name_the_operator_service_account(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    values, objects = case
    sa = _service_account(values)
    assert one(objects, "ServiceAccount", sa)["metadata"]["namespace"] == NAMESPACE
    bindings = of_kind(objects, "ClusterRoleBinding") + of_kind(objects, "RoleBinding")
    assert bindings
    for binding in bindings:
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE}]
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == sa


def test_rbac_scope_follows_watch_namespaces(case: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    values, objects = case
    watched = values.get("watchNamespaces", [])
    workload_roles = [
        role for role in of_kind(objects, "Role") if rules_allow(role["rules"], "", "secrets", "list")
    ]
    workload_cluster_roles = [
        role for role in of_kind(objects, "ClusterRole") if rules_allow(role["rules"], "", "secrets", "list")
    ]
    if watched:
        assert sorted(role["metadata"]["namespace"] for role in workload_roles) == sorted(watched)
        assert workload_cluster_roles == []
        bound = {b["metadata"]["namespace"] for b in of_kind(objects, "RoleBinding")}
        assert bound == {*watched, NAMESPACE}
    else:
        assert workload_roles == []
        assert [role["metadata"]["name"] for role in workload_cluster_roles] == [
            f"{_fullname(values)}-{NAMESPACE}"
        ]


SPEC_WEBHOOK_RESOURCES = {
    "/mutate-managedsecret": "managedsecrets",
    "/author-managedsecret": "managedsecrets",
    "/validate-managedsecret": "managedsecrets",
    "/author-vaultprofile": "vaultprofiles",
    "/validate-vaultprofile": "vaultprofiles",
}


def _webhook_configurations(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return of_kind(objects, "MutatingWebhookConfiguration") + of_kind(
        objects, "ValidatingWebhookConfiguration"
    )


def test_webhooks_reach_the_operator_container(case: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    values, objects = case
    deployment = one(objects, "Deployment")
    container = container_of(deployment)
    container_ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    webhook_port = values.get("webhook", {}).get("port", 9443)
    assert container_ports["webhook"] == webhook_port
    assert env_of(container)["VAULTSYNC_WEBHOOK_PORT"] == str(webhook_port)
    service = one(objects, "Service", f"{_fullname(values)}-webhook")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert all(labels[key] == value for key, value in service["spec"]["selector"].items())
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] == "webhook"
    configurations = _webhook_configurations(objects)
    assert len(configurations) == 2
    paths = {}
    for configuration in configurations:
        for webhook in configuration["webhooks"]:
            client = webhook["clientConfig"]["service"]
            assert client["name"] == service["metadata"]["name"]
            assert client["namespace"] == NAMESPACE == service["metadata"]["namespace"]
            assert client["port"] == service_port["port"]
            paths[client["path"]] = webhook
            assert webhook["sideEffects"] == "None"
            assert webhook["admissionReviewVersions"] == ["v1"]
            (rule,) = webhook["rules"]
            resource = SPEC_WEBHOOK_RESOURCES.get(client["path"], "approvalrequests")
            assert rule == {
                "apiGroups": ["vaultsync.io"],
                "apiVersions": ["v1alpha1"],
                "resources": [resource],
                "operations": ["CREATE", "UPDATE"],
                "scope": "Namespaced",
            }
            watched = values.get("watchNamespaces")
            if watched:
                (expression,) = webhook["namespaceSelector"]["matchExpressions"]
                expected = {"key": "kubernetes.io/metadata.name", "operator": "In", "values": watched}
                assert expression == expected
            else:
                assert "namespaceSelector" not in webhook
    assert set(paths) == {"/mutate-approvalrequest", "/validate-approvalrequest", *SPEC_WEBHOOK_RESOURCES}
    # Decisions fail closed; who changed a spec and the namespace boundary fail open (the operator
    # checks both again at sync time, and syncing goes on while it is down).
    assert paths["/mutate-approvalrequest"]["failurePolicy"] == "Fail"
    assert paths["/validate-approvalrequest"]["failurePolicy"] == "Fail"
    for path in SPEC_WEBHOOK_RESOURCES:
        assert paths[path]["failurePolicy"] == "Ignore"


def _certificate(pem_b64: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(base64.b64decode(pem_b64))


def test_webhook_ca_bundle_signs_the_serving_certificate(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    values, objects = case
    service_dns = f"{_fullname(values)}-webhook.{NAMESPACE}.svc"
    deployment = one(objects, "Deployment")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    tls_secret_name = volumes["webhook-tls"]["secret"]["secretName"]
    mounts = {m["name"]: m["mountPath"] for m in container_of(deployment)["volumeMounts"]}
    assert env_of(container_of(deployment))["VAULTSYNC_WEBHOOK_CERT_DIR"] == mounts["webhook-tls"]
    if values.get("webhook", {}).get("certManager", {}).get("enabled"):
        certificate = one(objects, "Certificate")
        assert certificate["spec"]["secretName"] == tls_secret_name
        assert service_dns in certificate["spec"]["dnsNames"]
        issuer = values["webhook"]["certManager"].get("issuerRef")
        if issuer:
            assert certificate["spec"]["issuerRef"]["name"] == issuer["name"]
            assert of_kind(objects, "Issuer") == []
        else:
            assert one(objects, "Issuer")["spec"] == {"selfSigned": {}}
        inject_from = f"{NAMESPACE}/{certificate['metadata']['name']}"
        for configuration in _webhook_configurations(objects):
            assert configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == inject_from
            assert "caBundle" not in configuration["webhooks"][0]["clientConfig"]
        assert [s for s in of_kind(objects, "Secret") if s["metadata"]["name"] == tls_secret_name] == []
        return
    assert of_kind(objects, "Certificate") == []
    tls = one(objects, "Secret", tls_secret_name)
    assert tls["type"] == "kubernetes.io/tls"
    ca = _certificate(tls["data"]["ca.crt"])
    serving = _certificate(tls["data"]["tls.crt"])
    for configuration in _webhook_configurations(objects):
        assert configuration["webhooks"][0]["clientConfig"]["caBundle"] == tls["data"]["ca.crt"]
        assert "annotations" not in configuration["metadata"]
    serving.verify_directly_issued_by(ca)
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert service_dns in names.get_values_for_type(x509.DNSName)
    usages = serving.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usages


def test_pod_is_hardened(case: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    _, objects = case
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for host_namespace in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(host_namespace)
    container = container_of({"spec": {"template": {"spec": pod}}})
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["privileged"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert container["resources"]["requests"]["memory"]
    assert container["resources"]["limits"]["memory"]


def test_container_runs_the_operator_with_its_settings(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    values, objects = case
    container = container_of(one(objects, "Deployment"))
    assert container["command"] == ["vaultsync"]
    health_port = values.get("health", {}).get("port", 8080)
    liveness = f"--liveness=http://0.0.0.0:{health_port}/healthz"
    assert container["args"] == ["run", liveness, "--standalone"], "no kopf peering, with or without HA"
    env = env_of(container)
    assert env["VAULTSYNC_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["VAULTSYNC_WATCH_NAMESPACES"] == ",".join(values.get("watchNamespaces", []))
    hmac_secret = values.get("hmac", {}).get("existingSecret") or f"{_fullname(values)}-hmac"
    assert env["VAULTSYNC_HMAC_SECRET"] == hmac_secret
    assert env["VAULTSYNC_LOG_LEVEL"] == "info"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["metrics"] == values.get("metrics", {}).get("port", 9090)
    assert env["VAULTSYNC_METRICS_PORT"] == str(ports["metrics"])
    assert ports["health"] == health_port
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    image = values.get("image", {})
    if image.get("digest"):
        assert container["image"] == f"{image['repository']}@{image['digest']}"
    else:
        assert container["image"] == "ghcr.io/vaultsync/vaultsync:0.1.0"


def test_metrics_service_and_service_monitor(case: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    values, objects = case
    service = one(objects, "Service", f"{_fullname(values)}-metrics")
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "metrics"
    monitor_values = values.get("metrics", {}).get("serviceMonitor", {})
    monitors = of_kind(objects, "ServiceMonitor")
    if not monitor_values.get("enabled"):
        assert monitors == []
        return
    (monitor,) = monitors
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert all(
        service["metadata"]["labels"][k] == v for k, v in monitor["spec"]["selector"]["matchLabels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] == port["name"]


def test_pod_disruption_budget(case: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    values, objects = case
    settings = values.get("podDisruptionBudget", {})
    budgets = of_kind(objects, "PodDisruptionBudget")
    if settings.get("enabled", True) is False:
        assert budgets == []
        return
    (budget,) = budgets
    assert budget["spec"]["selector"] == one(objects, "Deployment")["spec"]["selector"]
    if "minAvailable" in settings:
        assert budget["spec"] == {"minAvailable": 1, "selector": budget["spec"]["selector"]}
    else:
        assert budget["spec"]["maxUnavailable"] == 1
        assert "minAvailable" not in budget["spec"]


def test_ha_leader_election(case: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    values, objects = case
    ha = bool(values.get("ha", {}).get("enabled"))
    deployment = one(objects, "Deployment")
    container = container_of(deployment)
    env = env_of(container)
    lease = f"{_fullname(values)}-leader"
    assert "--standalone" in container["args"], "kopf peering is never used: the Lease decides"
    assert not [o for o in objects if o["apiVersion"].startswith("kopf.dev/")]
    assert env["VAULTSYNC_LEASE_NAME"] == lease
    release_rules = _bound_rules(objects, NAMESPACE)
    for verb in ("get", "update"):
        assert rules_allow(release_rules, "coordination.k8s.io", "leases", verb, lease)
        assert not rules_allow(release_rules, "coordination.k8s.io", "leases", verb, "someone-elses")
    assert rules_allow(release_rules, "coordination.k8s.io", "leases", "create")
    if not ha:
        assert env["VAULTSYNC_LEADER_ELECTION"] == "false"
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        return
    assert env["VAULTSYNC_LEADER_ELECTION"] == "true"
    pod_name = {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["VAULTSYNC_POD_NAME"] == pod_name, "the Lease holder's name"
    assert deployment["spec"]["replicas"] == values.get("replicas", 1)
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    anti_affinity = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert (
        anti_affinity["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"]
        == "kubernetes.io/hostname"
    )


def test_tuning_values_reach_the_operators_settings(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    """Read back by the operator's own parser: a misspelt variable would leave its default."""
    values, objects = case
    env = {k: v for k, v in env_of(container_of(one(objects, "Deployment"))).items() if isinstance(v, str)}
    settings = OperatorSettings.from_env(env)
    defaults = OperatorSettings.from_env({})
    sync, ha = values.get("sync", {}), values.get("ha", {})
    expected = {
        "sync_workers": sync.get("workers"),
        "sync_threads": sync.get("threads"),
        "operator_qps": sync.get("qps"),
        "operator_burst": sync.get("burst"),
        "backend_concurrency": sync.get("backendConcurrency"),
        "http_timeout": sync.get("httpTimeoutSeconds"),
        "default_refresh_seconds": sync.get("defaultRefreshSeconds"),
        "min_refresh_seconds": sync.get("minRefreshSeconds"),
        "retention_days": sync.get("retentionDays"),
        "expiry_warning_days": sync.get("expiryWarningDays"),
        "lease_duration_seconds": ha.get("leaseDurationSeconds"),
        "renew_deadline_seconds": ha.get("renewDeadlineSeconds"),
        "retry_period_seconds": ha.get("retryPeriodSeconds"),
    }
    for name, value in expected.items():
        wanted = getattr(defaults, name) if value is None else value
        assert getattr(settings, name) == wanted, name


def test_hmac_key_secret_is_generated_once_and_kept(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    values, objects = case
    existing = values.get("hmac", {}).get("existingSecret")
    secrets = [s for s in of_kind(objects, "Secret") if s["metadata"]["name"].endswith("-hmac")]
    if existing:
        assert secrets == []
        return
    (secret,) = secrets
    assert secret["metadata"]["name"] == f"{_fullname(values)}-hmac"
    assert secret["immutable"] is True
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert secret["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Delete=false"
    key = base64.b64decode(secret["data"]["key"])
    assert len(key) == 64
    assert key.isalnum()
