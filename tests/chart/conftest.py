"""Fixtures of the chart tests: the pinned helm from the local stack, with private homes."""

from __future__ import annotations

import pytest

from chart.chart_tools import Helm
from vaultsync_devstack import Stack


@pytest.fixture(scope="session")
def helm(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(binary=stack.helm, home=tmp_path_factory.mktemp("helm-home"))
