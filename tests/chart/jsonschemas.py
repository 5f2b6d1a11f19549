"""JSON schemas for kubeconform, made here: built-in kinds from the test apiserver's OpenAPI document,
custom kinds from the project's CRDs (and kopf's peering CRDs the chart carries).

kubeconform would download schemas from GitHub, which the project's machines cannot reach, and it
knows nothing of vaultsync's kinds. The schemas are written in kubeconform's file-name layout
(``<kind>-<group prefix>-<version>.json``) and made strict the way its ``-strict`` schema sets are:
an object that lists its properties accepts no other property, so a misspelt field is an error
instead of being silently pruned by the apiserver.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
# Types the OpenAPI document declares as strings that manifests may also write as numbers.
NUMBER_OR_STRING_DEFINITIONS = (".IntOrString", ".Quantity")


def file_name(group: str, version: str, kind: str) -> str:
    """kubeconform's ``{{ .ResourceKind }}{{ .KindSuffix }}.json`` for a group/version/kind."""
    prefix = f"-{group.split('.', maxsplit=1)[0].lower()}" if group else ""
    return f"{kind.lower()}{prefix}-{version.lower()}.json"


SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
SCHEMA_VALUES = ("items", "additionalProperties", "not")


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy where every object that lists properties allows no others, with Kubernetes' own
    extensions (int-or-string, nullable) turned into plain JSON schema. Only schema positions are
    rewritten: a property that happens to be named ``nullable`` or ``format`` stays a property."""
    node = dict(schema)
    for key in SCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            node[key] = {name: strict(child) for name, child in node[key].items()}
    for key in SCHEMA_LISTS:
        if isinstance(node.get(key), list):
            node[key] = [strict(child) for child in node[key]]
    for key in SCHEMA_VALUES:
        if isinstance(node.get(key), dict):
            node[key] = strict(node[key])
    if node.get("x-kubernetes-int-or-string") is True or node.get("format") == "int-or-string":
        node = {k: v for k, v in node.items() if k not in ("type", "format")} | INT_OR_STRING
    if node.pop("nullable", False) is True and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    if (
        isinstance(node.get("properties"), dict)
        and "additionalProperties" not in node
        and node.get("x-kubernetes-preserve-unknown-fields") is not True
    ):
        node["additionalProperties"] = False
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            yield ref.removeprefix("#/definitions/")
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _reachable(definitions: dict[str, Any], root: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        if name in found or name not in definitions:
            continue
        found[name] = definitions[name]
        pending.extend(_refs(definitions[name]))
    return found


def builtin_schemas(openapi_v2: dict[str, Any], kinds: set[str]) -> dict[str, Any]:
    """Standalone strict schemas of the built-in kinds named in ``kinds`` (lower-case kind names)."""
    definitions: dict[str, Any] = {}
    for name, definition in openapi_v2["definitions"].items():
        if name.endswith(NUMBER_OR_STRING_DEFINITIONS):
            definitions[name] = {"oneOf": [{"type": "string"}, {"type": "number"}]}
        else:
            definitions[name] = strict(definition)
    schemas = {}
    for name, definition in openapi_v2["definitions"].items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            if gvk["kind"].lower() not in kinds:
                continue
            schemas[file_name(gvk["group"], gvk["version"], gvk["kind"])] = {
                "$ref": f"#/definitions/{name}",
                "definitions": _reachable(definitions, name),
            }
    return schemas


def crd_schemas(crd_files: Iterable[Path]) -> dict[str, Any]:
    """A strict schema per served version of each CustomResourceDefinition in ``crd_files``."""
    schemas = {}
    for path in crd_files:
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                # Every object has these, whether its CRD's schema lists them or not.
                schema.setdefault("properties", {})
                for name, implied in (("apiVersion", "string"), ("kind", "string"), ("metadata", "object")):
                    schema["properties"].setdefault(name, {"type": implied})
                schemas[file_name(group, version["name"], kind)] = strict(schema)
    return schemas


def write(schemas: dict[str, Any], directory: Path) -> str:
    """Writes the schemas; returns kubeconform's ``-schema-location`` template for them."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        (directory / name).write_text(json.dumps(schema))
    return f"{directory}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json"
