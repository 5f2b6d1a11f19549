"""The docs suite runs against the same operator and webhooks as the end-to-end suite.

The fixtures are the e2e ones: the operator process (session), and the admission webhook
configurations registered for the module that asks for them and removed after it, so neither
this suite nor any other depends on the order the suites run in.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.conftest import crds, operator, registered, webhook_serving
from vaultsync.devstack.kube import KubeControlPlane
from vaultsync.devstack.webhook import WebhookServing

__all__ = ["crds", "operator", "webhook_serving", "webhooks"]


@pytest.fixture(scope="module")
def webhooks(kube: KubeControlPlane, webhook_serving: WebhookServing) -> Iterator[WebhookServing]:
    yield from registered(kube, webhook_serving)
