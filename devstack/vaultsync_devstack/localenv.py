"""The local stack as a shell sees it: ``env.sh``, and the examples pointed at its servers.

``./scripts/dev`` writes ``<state>/env.sh``; sourcing it gives a shell everything the docs'
walkthroughs use (``KUBECONFIG`` of the admin, ``VAULTSYNC_USERS`` with one kubeconfig per
person, ``VAULT_ADDR``/``VAULT_TOKEN`` for the ``bao`` CLI, the AWS variables for moto, and
``kubectl``/``vaultsync``/``bao`` on ``PATH``). The docs test (``tests/docs``) writes the same
file for the test session's stack, whose servers listen on other ports: the examples name the
fixed ports of ``./scripts/dev``, so :func:`render_example` points them at the real ones.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.vaults import Moto, OpenBao

LOCAL_OPENBAO, LOCAL_MOTO = "http://127.0.0.1:18200", "http://127.0.0.1:15000"
ENV_FILE = "env.sh"


def write_env(state: Path, kube: KubeControlPlane, bao: OpenBao, moto: Moto) -> Path:
    """Writes ``<state>/env.sh`` (and the OpenBao root token beside it) and returns its path."""
    token_file = state / "openbao" / "root-token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(bao.root_token)
    tools = [str(kube.bin_dir), str(Path(sys.executable).parent)]
    variables = {
        "KUBECONFIG": str(kube.kubeconfig),
        "VAULTSYNC_USERS": str(kube.kubeconfig_for("admin").parent),
        "VAULT_ADDR": bao.address,
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_DEFAULT_REGION": moto.region,
        "AWS_ACCESS_KEY_ID": moto.access_key_id,
        "AWS_SECRET_ACCESS_KEY": moto.secret_access_key,
    }
    lines = ["# The local vaultsync stack: source this file in a shell (see docs/approvals.md)."]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]
    lines.append(f'export VAULT_TOKEN="$(cat {shlex.quote(str(token_file))})"')
    lines.append(f'export PATH={shlex.quote(":".join(tools))}:"$PATH"')
    path = state / ENV_FILE
    path.write_text("\n".join(lines) + "\n")
    return path


def render_example(manifests: str, bao: OpenBao, moto: Moto) -> str:
    """Rendered example manifests with the local stack's fixed addresses replaced by the real ones."""
    return manifests.replace(LOCAL_OPENBAO, bao.address).replace(LOCAL_MOTO, moto.endpoint)
