"""``vaultsync devstack``: the local stack in the foreground, until Ctrl-C.

Prints where each server listens and the environment to reach them. Lowkey Vault is
started when its jar can be obtained; otherwise the stack runs without Azure and says why.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from vaultsync.devstack.lowkey import LowkeyUnavailable
from vaultsync.devstack.process import ServerStartError
from vaultsync.devstack.stack import Stack, default_cache_dir


def _describe(stack: Stack) -> str:
    kube, bao, moto = stack.kube, stack.openbao, stack.moto
    lines = [
        "vaultsync local stack is up:",
        f"  kube-apiserver  {kube.server}",
        f"  OpenBao         {bao.address}  (root token in {stack.state / 'openbao' / 'root-token'})",
        f"  moto (AWS)      {moto.endpoint}  region {moto.region}",
    ]
    if stack._lowkey is not None:
        lines.append(f"  Lowkey (Azure)  {stack._lowkey.vault_url}")
    lines += [
        "",
        "Use it:",
        f"  export KUBECONFIG={kube.kubeconfig}",
        f"  export VAULT_ADDR={bao.address}",
        f"  {kube.kubectl_path} get namespaces",
        f"Logs: {stack.state}/*/logs/",
        "Stop: press Ctrl-C (or send SIGTERM); every server is stopped and its data discarded.",
    ]
    return "\n".join(lines)


def run_devstack(cache: str | None = None, state: str | None = None) -> int:
    stack = Stack(cache=Path(cache) if cache else default_cache_dir())
    if state:
        stack.state = Path(state)
        stack.state.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(
            f"building/fetching into {stack.cache} and starting servers (state in {stack.state}) ...",
            flush=True,
        )
        stack.start("kube", "openbao", "moto")
        (stack.state / "openbao").mkdir(parents=True, exist_ok=True)
        (stack.state / "openbao" / "root-token").write_text(stack.openbao.root_token)
        try:
            stack.start("lowkey")
        except (LowkeyUnavailable, ServerStartError) as e:
            print(f"Lowkey Vault (Azure) not started: {e}", file=sys.stderr, flush=True)
            stack._lowkey = None
        print(_describe(stack), flush=True)
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping the local stack ...", flush=True)
        stack.stop()
    return 0
