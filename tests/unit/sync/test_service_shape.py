"""The sync service's shape, checked on the code: no state at module level, no import circle.

State lives in objects the handlers build and pass in (``SyncEngine``, ``ProfileResolver``,
``SyncScheduler``...), so two engines in one process (tests, a second operator) never share a lock,
a cache or a counter by accident. Read-only tables are ``MappingProxyType``, tuples or frozensets.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

import vaultsync.sync

ALLOWED_CALLS = {
    "logging.getLogger",
    "TypeVar",
    "ParamSpec",
    "MappingProxyType",
    "frozenset",
    "tuple",
    "re.compile",
}
"""Module-level values that are immutable, or (loggers) process-wide by design."""


def _module_values() -> list[tuple[str, str, ast.expr]]:
    found = []
    for path in sorted(Path(vaultsync.sync.__file__).parent.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                target = node.targets[0] if isinstance(node, ast.Assign) else node.target
                found.append((path.name, ast.unparse(target), node.value))
    return found


def _mutable(value: ast.expr) -> bool:
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        return ast.unparse(value.func) not in ALLOWED_CALLS
    return False


def test_the_sync_layer_keeps_no_mutable_state_at_module_level() -> None:
    offenders = [f"{module}: {name}" for module, name, value in _module_values() if _mutable(value)]
    assert offenders == []


def test_the_shape_check_sees_module_level_state() -> None:
    """The check above would fail on what the layer once had (a lock registry and a dict)."""
    assert _mutable(ast.parse("GUARD = ResourceGuard()").body[0].value)  # type: ignore[attr-defined]
    assert _mutable(ast.parse("CACHE = {}").body[0].value)  # type: ignore[attr-defined]
    assert not _mutable(ast.parse("log = logging.getLogger(__name__)").body[0].value)  # type: ignore[attr-defined]


def test_no_module_of_the_operator_imports_itself_through_others() -> None:
    graph = grimp.build_graph("vaultsync")
    circles = {
        tuple(sorted((module, imported)))
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.startswith("vaultsync") and graph.find_shortest_chain(importer=imported, imported=module)
    }
    assert circles == set()
