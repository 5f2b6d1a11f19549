"""Session fixtures for the real local stack; each server starts the first time a test asks.

A server that cannot start is an error of every test that needs it, never a skip. When a
test fails, the tail of every running server's log is attached to its report.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyvault_server.target import AzureVault, protocol_vault, start_azure_vault
from vaultsync_devstack import Stack, default_cache_dir
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.lowkey_server import LowkeyVault
from vaultsync_devstack.vaults import Moto, OpenBao

pytest_plugins = ["e2e.operator_fixtures"]
"""The operator, its CRDs and webhook certificate: shared by the e2e and docs suites."""

_STACK: Stack | None = None
_AZURE: AzureVault | None = None


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    global _STACK  # noqa: PLW0603 - the report hook below needs the session's stack
    state = Path(os.environ.get("VAULTSYNC_TEST_STATE") or tmp_path_factory.mktemp("devstack"))
    _STACK = Stack(cache=default_cache_dir(), state=state)
    try:
        yield _STACK
    finally:
        _STACK.stop()


@pytest.fixture(scope="session")
def kube(stack: Stack) -> KubeControlPlane:
    return stack.kube


@pytest.fixture(scope="session")
def openbao(stack: Stack) -> OpenBao:
    return stack.openbao


@pytest.fixture(scope="session")
def moto(stack: Stack) -> Moto:
    return stack.moto


@pytest.fixture(scope="session")
def lowkey(stack: Stack) -> LowkeyVault:
    return stack.lowkey


@pytest.fixture(scope="session")
def azure_vault(stack: Stack) -> Iterator[AzureVault]:
    """Lowkey Vault when its jar can be obtained, else the Key Vault protocol server of tests/."""
    global _AZURE  # noqa: PLW0603 - the summary hook below reports which server ran
    _AZURE = start_azure_vault(stack)
    yield _AZURE
    if _AZURE.server is not None:
        _AZURE.server.stop()


@pytest.fixture(scope="session")
def protocol_azure_vault(azure_vault: AzureVault, stack: Stack) -> Iterator[AzureVault]:
    """The Key Vault protocol server even when Lowkey Vault runs (access policies, faults, tokens)."""
    if azure_vault.server is not None:
        yield azure_vault
        return
    vault = protocol_vault(stack.state / "keyvault-test-server", "protocol-only cases")
    yield vault
    assert vault.server is not None
    vault.server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _AZURE is not None:
        line = f"Azure Key Vault tests ran on {_AZURE.name} ({_AZURE.reason})"
        if _AZURE.server is not None:
            served = ", ".join(f"{op} {n}" for op, n in sorted(_AZURE.server.operations.items()))
            line += f"; operations served: {served}"
        terminalreporter.write_line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and _STACK is not None:
        for process in _STACK.processes():
            report.sections.append((f"server log: {process.name}", process.log_tail(2500)))
