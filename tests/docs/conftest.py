"""The docs suite runs against the operator of ``e2e.operator_fixtures`` (one per session).

The admission webhook configurations are registered for the module that asks for them and
removed after it, as in the e2e suite, so neither suite nor any other depends on the order
the suites run in.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.operator_fixtures import registered
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.webhook import WebhookServing


@pytest.fixture(scope="module")
def webhooks(kube: KubeControlPlane, webhook_serving: WebhookServing) -> Iterator[WebhookServing]:
    yield from registered(kube, webhook_serving)
