"""Obtaining and starting Lowkey Vault, the Azure Key Vault emulator (a Spring Boot jar).

The jar is published on Maven Central as ``com.github.nagyesta.lowkey-vault:lowkey-vault-app``
(no classifier). The Maven Central this project's machines reach does not serve that
artifact (every version answers 404, while ``lowkey-vault-client`` of the same group is
served), so on those machines ``fetch_lowkey_jar`` fails with ``LowkeyUnavailable`` and the
Azure cases run on the test suite's Key Vault protocol server instead; see docs/azure.md.

Clients connect with ``SecretClient(vault_url, credential, verify_challenge_resource=False,
connection_verify=False)``; Lowkey checks that a bearer token is present, not its value.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from vaultsync_devstack import versions

MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2"
GROUP_PATH = "com/github/nagyesta/lowkey-vault/lowkey-vault-app"


class LowkeyUnavailable(RuntimeError):
    """The Lowkey Vault jar cannot be obtained or run on this machine."""


def jar_url(version: str = versions.LOWKEY_VAULT) -> str:
    return f"{MAVEN_CENTRAL}/{GROUP_PATH}/{version}/lowkey-vault-app-{version}.jar"


def _download(url: str, timeout: float = 120) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - fixed https URL
            return bytes(response.read())
    except urllib.error.HTTPError as e:
        raise LowkeyUnavailable(f"Maven Central answered {e.code} for {url}") from e
    except urllib.error.URLError as e:
        raise LowkeyUnavailable(f"cannot reach Maven Central for {url}: {e.reason}") from e


def fetch_lowkey_jar(cache: Path, version: str = versions.LOWKEY_VAULT) -> Path:
    """Downloads the jar once into ``cache/lowkey``, checked against the repository's SHA-1."""
    target = cache / "lowkey" / f"lowkey-vault-app-{version}.jar"
    if target.exists():
        return target
    url = jar_url(version)
    expected = _download(url + ".sha1", timeout=30).decode().split()[0].strip()
    payload = _download(url)
    actual = hashlib.sha1(payload, usedforsecurity=False).hexdigest()
    if actual != expected:
        raise LowkeyUnavailable(f"checksum mismatch for {url}: expected {expected}, got {actual}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(payload)
    partial.rename(target)
    return target


def java_executable(minimum: int = versions.LOWKEY_JAVA_MIN) -> str:
    """A ``java`` of at least ``minimum``: JAVA_HOME, then the JDKs under /usr/lib/jvm, then PATH."""
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    candidates += sorted(Path("/usr/lib/jvm").glob("*"), reverse=True)
    for home in candidates:
        release = home / "release"
        java = home / "bin" / "java"
        if java.exists() and release.exists() and _java_major(release.read_text()) >= minimum:
            return str(java)
    found = shutil.which("java")
    if found:
        return found
    raise LowkeyUnavailable(f"no Java {minimum}+ found (set JAVA_HOME)")


def _java_major(release_file: str) -> int:
    for line in release_file.splitlines():
        if line.startswith("JAVA_VERSION="):
            version = line.split("=", 1)[1].strip('"')
            head = version.split(".")[0]
            return int(version.split(".")[1]) if head == "1" else int(head)
    return 0


def lowkey_command(jar: Path, port: int, token_port: int | None = None) -> list[str]:
    """The command line that starts Lowkey on loopback ``port`` with its self-signed certificate."""
    command = [
        java_executable(),
        "-Xmx256m",
        "-XX:TieredStopAtLevel=1",
        "-jar",
        str(jar),
        f"--server.port={port}",
    ]
    if token_port is not None:
        command.append(f"--app.token.port={token_port}")
    return command


def lowkey_ready(port: int) -> bool:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/ping", timeout=2, context=context) as response:
        return bool(response.status == 200)
