"""``vaultsync import-env`` and ``vaultsync export-env``: moving ``.env`` files in and out.

``import-env FILE --vault-profile P --prefix PATH`` writes a ``.env`` file's keys into the vault
of VaultProfile ``P`` with the profile's own credentials: ``--as key-value`` (default) stores one
key-value secret at ``PATH``; ``--as separate`` stores one ``generic`` secret (``{"value": ...}``)
per key at ``PATH/<KEY>``. Every secret carries the ownership mark with owner
``import/<user>``, ``<user>`` being the caller's Kubernetes identity: the same person can
import again over their own import, anything else (a secret written by a ManagedSecret or
by someone else) is refused unless ``--adopt``. A ManagedSecret reads an imported secret
as its source without any adoption. Only key names and paths are printed, never values.

``export-env NAME`` (the source content of ManagedSecret ``NAME``) or ``export-env --file FILE``
(a ``.env`` file) prints ``SECRET_<KEY>=<base64>`` lines: the format of the ``env`` provider.
Printing values is what this command is for; they go to stdout only.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from vaultsync.api.names import GROUP, VERSION
from vaultsync.backends.errors import BackendError
from vaultsync.backends.interface import Backend
from vaultsync.backends.paths import join_path
from vaultsync.secrets.content import SecretContent, SecretType, parse_content
from vaultsync.secrets.dotenv import content_to_env_lines, dotenv_to_content, parse_dotenv
from vaultsync.secrets.errors import SecretModelError

IMPORT_OWNER_PREFIX = "import/"


class CliError(Exception):
    """A problem to print on stderr; never carries a secret value."""


def add_parsers(sub: Any) -> None:
    imp = sub.add_parser("import-env", help="write a .env file's keys into a vault through a VaultProfile")
    imp.add_argument("file", type=Path, help="the .env file")
    imp.add_argument("--vault-profile", required=True, help="VaultProfile name, or namespace/name")
    imp.add_argument(
        "--prefix", required=True, help="vault path of the secret (or folder with --as separate)"
    )
    imp.add_argument(
        "--as",
        dest="layout",
        choices=("key-value", "separate"),
        default="key-value",
        help="one key-value secret (default), or one generic secret per key",
    )
    imp.add_argument("--adopt", action="store_true", help="overwrite secrets vaultsync does not own for you")
    exp = sub.add_parser("export-env", help="print SECRET_<KEY>=<base64> lines for the env provider")
    which = exp.add_mutually_exclusive_group(required=True)
    which.add_argument("name", nargs="?", help="a ManagedSecret: export its source content")
    which.add_argument("--file", type=Path, help="a .env file to convert instead")
    for parser in (imp, exp):
        parser.add_argument("-n", "--namespace", default=None, help="namespace (default: the context's)")
        parser.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: $KUBECONFIG)")
        parser.add_argument("--context", default=None, help="kubeconfig context")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        if args.command == "import-env":
            out.write(import_env(args))
        elif args.file is not None:
            out.write(content_to_env_lines(dotenv_to_content(_read_text(args.file))))
        else:
            out.write(content_to_env_lines(as_key_value(_managed_secret_content(args))))
    except (CliError, BackendError, SecretModelError) as e:
        err.write(f"vaultsync {args.command}: {e}\n")
        return 1
    return 0


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CliError(f"cannot read {path}: {type(e).__name__}") from None


def as_key_value(content: SecretContent) -> SecretContent:
    """Content of any type as key-value (its text fields), so every type can be exported."""
    if content.type is SecretType.KEY_VALUE:
        return content
    fields = {k: v for k, v in content.fields.items() if isinstance(v, str)}
    return parse_content(SecretType.KEY_VALUE, fields)


def import_env(args: argparse.Namespace) -> str:
    from vaultsync.backends.kube_http import username  # noqa: PLC0415 - only these commands need it

    values = parse_dotenv(_read_text(args.file))
    if not values:
        raise CliError(f"{args.file} defines no keys")
    http, namespace = _connect(args)
    backend, profile = _backend(http, namespace, args.vault_profile)
    owner = IMPORT_OWNER_PREFIX + username(http)
    try:
        if args.layout == "key-value":
            parse_content(SecretType.KEY_VALUE, values)
            backend.write(
                args.prefix, "key-value", dict(values), owner=owner, expected_version=None, adopt=args.adopt
            )
            written = [args.prefix]
        else:
            written = []
            for key, value in values.items():
                path = join_path(args.prefix, key)
                backend.write(
                    path, "generic", {"value": value}, owner=owner, expected_version=None, adopt=args.adopt
                )
                written.append(path)
    finally:
        backend.close()
    keys = ", ".join(sorted(values))
    return f"imported {len(values)} keys ({keys}) into {profile}: {', '.join(written)} (owner {owner})\n"


def _connect(args: argparse.Namespace) -> tuple[Any, str]:
    from vaultsync.backends.kube_http import KubeConnection, KubeHttp  # noqa: PLC0415

    try:
        connection = KubeConnection.from_kubeconfig(args.kubeconfig, args.context)
    except BackendError as e:
        raise CliError(str(e)) from None
    return KubeHttp(connection), str(args.namespace or connection.namespace or "default")


def _get(http: Any, namespace: str, plural: str, name: str) -> Mapping[str, Any]:
    from vaultsync.backends.kube_http import KubeStatusError, resource_path  # noqa: PLC0415

    try:
        found: Mapping[str, Any] = http.request("GET", resource_path(GROUP, VERSION, plural, namespace, name))
    except KubeStatusError as e:
        raise CliError(f"cannot read {plural} {namespace}/{name}: HTTP {e.status}") from None
    return found


def _backend(http: Any, namespace: str, reference: str) -> tuple[Backend, str]:
    """The backend of a VaultProfile, built with the credentials its Secret references name."""
    from vaultsync.backends.kube_http import KubeStatusError, secret_path  # noqa: PLC0415
    from vaultsync.backends.registry import BackendContext, create_backend  # noqa: PLC0415
    from vaultsync.sync.credentials import resolve_credentials  # noqa: PLC0415
    from vaultsync.sync.profiles import ProfileError, provider_of  # noqa: PLC0415

    profile_ns, _, name = reference.rpartition("/")
    profile_ns = profile_ns or namespace
    body = _get(http, profile_ns, "vaultprofiles", name)

    def secret_data(secret_namespace: str, secret_name: str) -> dict[str, str] | None:
        try:
            found = http.request("GET", secret_path(secret_namespace, secret_name))
        except KubeStatusError as e:
            if e.status == 404:
                return None
            raise CliError(f"cannot read Secret {secret_namespace}/{secret_name}: HTTP {e.status}") from None
        return dict((found or {}).get("data") or {})

    try:
        provider_key, spec = provider_of(body)
    except ProfileError as e:
        raise CliError(f"VaultProfile {profile_ns}/{name}: {e.message}") from None
    credentials = resolve_credentials(profile_ns, provider_key, spec, secret_data)
    context = BackendContext(kube_http=http, profile_namespace=profile_ns)
    return create_backend(provider_key, spec, credentials, context=context), f"{profile_ns}/{name}"


def _managed_secret_content(args: argparse.Namespace) -> SecretContent:
    from vaultsync.reconcile.targets import resolve_path  # noqa: PLC0415

    http, namespace = _connect(args)
    spec = _get(http, namespace, "managedsecrets", args.name).get("spec") or {}
    source = spec["source"]
    ref = source["vaultProfile"]
    reference = f"{ref['namespace']}/{ref['name']}" if ref.get("namespace") else str(ref["name"])
    backend, _ = _backend(http, namespace, reference)
    try:
        remote = backend.read(resolve_path(source["path"], source.get("environment")))
    finally:
        backend.close()
    return parse_content(str(spec["type"]), remote.document)
