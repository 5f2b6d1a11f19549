"""``vaultsync-devstack`` (``scripts/dev``): the local stack and the demo in the foreground, until Ctrl-C.

Starts kube-apiserver + etcd, OpenBao (127.0.0.1:18200) and moto (127.0.0.1:15000); Lowkey
Vault when its jar can be obtained. Then applies the CRDs and ``examples/local``, writes
freshly generated source content into OpenBao, runs the operator, and shows every
ManagedSecret reaching Synced. ``--no-demo`` stops after starting the servers.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from pathlib import Path

from vaultsync_devstack import demo
from vaultsync_devstack.localenv import write_env
from vaultsync_devstack.lowkey import LowkeyUnavailable
from vaultsync_devstack.process import ServerStartError, port_open
from vaultsync_devstack.stack import Stack, default_cache_dir


def _describe(stack: Stack, env_file: Path) -> str:
    kube, bao, moto = stack.kube, stack.openbao, stack.moto
    lines = [
        "vaultsync local stack:",
        f"  kube-apiserver  {kube.server}",
        f"  OpenBao         {bao.address}  (dev root token: {stack.state / 'openbao' / 'root-token'})",
        f"  moto (AWS)      {moto.endpoint}  region {moto.region}",
    ]
    if stack._lowkey is not None:
        lines.append(f"  Lowkey (Azure)  {stack._lowkey.vault_url}")
    lines += [
        "",
        "Use it from another shell (KUBECONFIG, VAULTSYNC_USERS, VAULT_ADDR/VAULT_TOKEN, AWS_*, PATH):",
        f"  source {env_file}",
        f"  kubectl get {demo.KINDS} -n {demo.DEMO_NAMESPACE}",
        f"Logs: {stack.state}/*/logs/",
    ]
    return "\n".join(lines)


def stop_notice(state: Path, kept: bool) -> str:
    """What stopping does to the stack's data: the state directory (etcd data, kubeconfigs, the
    OpenBao root token, logs) is removed unless ``--state`` named it."""
    if kept:
        return f"every server is stopped; its state stays in {state} (--state): remove it with rm -rf {state}"
    return f"every server is stopped and its state directory {state} is removed"


def discard_state(state: Path, kept: bool) -> str:
    """Removes the state directory unless it is to be kept; the line to print either way."""
    if not kept:
        shutil.rmtree(state, ignore_errors=True)
        return f"removed {state}"
    return f"state kept in {state}"


def run_devstack(
    cache: str | None = None, state: str | None = None, with_demo: bool = True, exit_when_synced: bool = False
) -> int:
    for port, what in ((demo.OPENBAO_PORT, "OpenBao"), (demo.MOTO_PORT, "moto")):
        if port_open(port):
            print(f"port {port} ({what}) is already in use: is another devstack running?", file=sys.stderr)
            return 1
    stack = Stack(
        cache=Path(cache) if cache else default_cache_dir(),
        openbao_port=demo.OPENBAO_PORT,
        moto_port=demo.MOTO_PORT,
    )
    if state:
        stack.state = Path(state)
        stack.state.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(
            f"building/fetching into {stack.cache}; starting servers (state in {stack.state}) ...", flush=True
        )
        stack.start("kube", "openbao", "moto")
        env_file = write_env(stack.state, stack.kube, stack.openbao, stack.moto)
        try:
            stack.start("lowkey")
        except (LowkeyUnavailable, ServerStartError) as e:
            print(f"Lowkey Vault (Azure) not started: {e}", file=sys.stderr, flush=True)
            stack._lowkey = None
        print(_describe(stack, env_file), flush=True)
        if with_demo:
            demo.prepare(stack.kube, stack.openbao, stack.moto)
            stack.attached.append(demo.start_operator(stack.kube, stack.state))
            demo.apply_examples(stack.kube, stack.openbao, stack.moto)
            print("operator running; waiting for every ManagedSecret to reach Synced ...", flush=True)
            print(demo.wait_until_synced(stack.kube), flush=True)
            print(demo.approval_walkthrough(env_file), flush=True)
        if exit_when_synced:
            return 0
        print(f"Stop: press Ctrl-C (or send SIGTERM); {stop_notice(stack.state, bool(state))}.", flush=True)
        stop.wait()
    except KeyboardInterrupt:
        pass
    except (TimeoutError, RuntimeError, ServerStartError) as e:
        print(f"devstack failed: {e}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("stopping the local stack ...", flush=True)
        stack.stop()
        print(discard_state(stack.state, bool(state)), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="vaultsync-devstack",
        description="Start the local stack (kube-apiserver, etcd, OpenBao, moto; Lowkey Vault where it "
        "can be obtained) and the demo, in the foreground until Ctrl-C.",
    )
    parser.add_argument(
        "--cache", help="where built and fetched binaries are kept (default ~/.cache/vaultsync)"
    )
    parser.add_argument("--state", help="where the running stack keeps data, logs and kubeconfigs")
    parser.add_argument("--no-demo", action="store_true", help="only start the servers")
    parser.add_argument(
        "--exit-when-synced", action="store_true", help="stop once the demo is Synced (for tests)"
    )
    args = parser.parse_args()
    return run_devstack(
        cache=args.cache, state=args.state, with_demo=not args.no_demo, exit_when_synced=args.exit_when_synced
    )


if __name__ == "__main__":
    sys.exit(main())
