"""Every pinned version of the local test stack, in one place.

Bumping a version here changes the cache key of what is built or fetched, so a
warm cache never serves a stale binary.
"""

KUBERNETES = "v1.34.4"
"""kube-apiserver, kube-controller-manager and kubectl, built from the Go module proxy."""

ETCD = "v3.6.6"
"""etcd server, built from the Go module proxy (``go.etcd.io/etcd/server/v3``)."""

HELM = "v3.19.0"
"""helm, built with ``go install helm.sh/helm/v3/cmd/helm@HELM``."""

LOWKEY_VAULT = "4.0.0"
"""Lowkey Vault (Azure Key Vault emulator) Spring Boot jar from Maven Central."""

LOWKEY_JAVA_MIN = 17
"""The Java major release the pinned Lowkey Vault jar needs."""

PROMETHEUS = "v0.316.0"
"""promtool (``go install github.com/prometheus/prometheus/cmd/promtool@PROMETHEUS``) checks the
chart's alert rules."""

KUBECONFORM = "v0.8.0"
"""kubeconform validates the rendered chart and the examples against JSON schemas."""
