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
    values = parse_dotenv(_read_text(args.file))
    if not values:
        raise CliError(f"{args.file} defines no keys")
    api_client, namespace = _connect(args)
    backend, profile = _backend(api_client, namespace, args.vault_profile)
    owner = IMPORT_OWNER_PREFIX + _username(api_client)
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
    from kubernetes import config  # noqa: PLC0415 - only these commands need the client

    api_client = config.new_client_from_config(config_file=args.kubeconfig, context=args.context)
    if args.namespace:
        return api_client, str(args.namespace)
    contexts, active = config.list_kube_config_contexts(config_file=args.kubeconfig)
    chosen = next((c for c in contexts if c.get("name") == args.context), None) if args.context else active
    return api_client, str(((chosen or {}).get("context") or {}).get("namespace") or "default")


def _username(api_client: Any) -> str:
    """The caller's identity as the apiserver sees it (SelfSubjectReview)."""
    from kubernetes import client  # noqa: PLC0415

    review = client.AuthenticationV1Api(api_client).create_self_subject_review(
        client.V1SelfSubjectReview(api_version="authentication.k8s.io/v1", kind="SelfSubjectReview")
    )
    return str(review.status.user_info.username)


def _get(api_client: Any, namespace: str, plural: str, name: str) -> Mapping[str, Any]:
    from kubernetes import client  # noqa: PLC0415

    try:
        found: Mapping[str, Any] = client.CustomObjectsApi(api_client).get_namespaced_custom_object(
            GROUP, VERSION, namespace, plural, name
        )
    except client.ApiException as e:
        raise CliError(f"cannot read {plural} {namespace}/{name}: HTTP {e.status}") from None
    return found


def _backend(api_client: Any, namespace: str, reference: str) -> tuple[Backend, str]:
    """The backend of a VaultProfile, built with the credentials its Secret references name."""
    from kubernetes import client  # noqa: PLC0415

    from vaultsync.backends.registry import BackendContext, create_backend  # noqa: PLC0415
    from vaultsync.handlers.credentials import resolve_credentials  # noqa: PLC0415
    from vaultsync.handlers.profiles import ProfileError, provider_of  # noqa: PLC0415

    profile_ns, _, name = reference.rpartition("/")
    profile_ns = profile_ns or namespace
    body = _get(api_client, profile_ns, "vaultprofiles", name)
    core = client.CoreV1Api(api_client)

    def secret_data(secret_namespace: str, secret_name: str) -> dict[str, str] | None:
        try:
            return dict(core.read_namespaced_secret(secret_name, secret_namespace).data or {})
        except client.ApiException as e:
            if e.status == 404:
                return None
            raise CliError(f"cannot read Secret {secret_namespace}/{secret_name}: HTTP {e.status}") from None

    try:
        provider_key, spec = provider_of(body)
    except ProfileError as e:
        raise CliError(f"VaultProfile {profile_ns}/{name}: {e.message}") from None
    credentials = resolve_credentials(profile_ns, provider_key, spec, secret_data)
    context = BackendContext(kube_api_client=api_client, profile_namespace=profile_ns)
    return create_backend(provider_key, spec, credentials, context=context), f"{profile_ns}/{name}"


def _managed_secret_content(args: argparse.Namespace) -> SecretContent:
    from vaultsync.reconcile.targets import resolve_path  # noqa: PLC0415

    api_client, namespace = _connect(args)
    spec = _get(api_client, namespace, "managedsecrets", args.name).get("spec") or {}
    source = spec["source"]
    ref = source["vaultProfile"]
    reference = f"{ref['namespace']}/{ref['name']}" if ref.get("namespace") else str(ref["name"])
    backend, _ = _backend(api_client, namespace, reference)
    try:
        remote = backend.read(resolve_path(source["path"], source.get("environment")))
    finally:
        backend.close()
    return parse_content(str(spec["type"]), remote.document)
