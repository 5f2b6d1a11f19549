"""Write the CRDs of ``crds/`` from the models: ``python -m vaultsync.api.render [DIR]``.

The committed YAML is generated, never edited by hand; a unit test fails when it drifts from
what :func:`render_crds` produces.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from vaultsync.api.crd import crd_of
from vaultsync.api.kinds import KINDS

HEADER = "# Generated from operator/vaultsync/api by `python -m vaultsync.api.render`; do not edit.\n"
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[3] / "crds"


class _Dumper(yaml.SafeDumper):
    """Writes multi-paragraph descriptions as literal blocks, so the YAML reads like the docs."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


def render_crds() -> dict[str, str]:
    """File name under ``crds/`` -> YAML text, for every kind."""
    return {
        kind.file_name: HEADER
        + yaml.dump(crd_of(kind), Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
        for kind in KINDS
    }


def write_crds(directory: Path) -> list[Path]:
    """Write every CRD into ``directory`` and return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_crds().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vaultsync crds`` and ``python -m vaultsync.api.render``."""
    args = list(sys.argv[1:] if argv is None else argv)
    directory = Path(args[0]) if args else DEFAULT_DIRECTORY
    for path in write_crds(directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
