"""The CustomResourceDefinition documents of the three kinds, built from the models.

Names, printer columns and the status subresource are declared here; the schemas come from
:func:`vaultsync.api.schema.schema_of`, so the models are the only source of the field tree.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from vaultsync.api.names import API_VERSION, GROUP, VERSION
from vaultsync.api.schema import schema_of

CATEGORY = "vaultsync"


@dataclasses.dataclass(frozen=True, slots=True)
class PrinterColumn:
    """A column of ``kubectl get``."""

    name: str
    type: str
    json_path: str
    description: str
    priority: int = 0

    def to_schema(self) -> dict[str, Any]:
        column: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
            "description": self.description,
        }
        if self.priority:
            column["priority"] = self.priority
        return column


AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp", "Time since the resource was created.")


@dataclasses.dataclass(frozen=True, slots=True)
class Kind:
    """Everything that defines one kind's CRD besides the models' own fields."""

    kind: str
    plural: str
    short_name: str
    description: str
    spec: type[Any]
    status: type[Any]
    columns: tuple[PrinterColumn, ...]
    rules: tuple[dict[str, str], ...] = ()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"

    @property
    def file_name(self) -> str:
        """The file under ``crds/`` that holds this kind's CRD."""
        return f"{GROUP}_{self.plural}.yaml"


def crd_of(kind: Kind) -> dict[str, Any]:
    """The apiextensions.k8s.io/v1 CustomResourceDefinition of one kind."""
    spec_schema = schema_of(kind.spec)
    status_schema = schema_of(kind.status)
    root: dict[str, Any] = {
        "description": kind.description,
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": f"Always {API_VERSION}.",
                "type": "string",
            },
            "kind": {"description": f"Always {kind.kind}.", "type": "string"},
            "metadata": {"type": "object"},
            "spec": spec_schema,
            "status": status_schema,
        },
        "required": ["spec"],
    }
    if kind.rules:
        root["x-kubernetes-validations"] = list(kind.rules)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": kind.crd_name},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.kind.lower(),
                "shortNames": [kind.short_name],
                "categories": [CATEGORY],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [column.to_schema() for column in kind.columns],
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }
