"""One source of truth for the API: frozen dataclasses that also describe their CRD schema.

Every field of a model is declared with :func:`prop`, which carries the field's description
and its OpenAPI extras (patterns, bounds, list types, CEL rules). :func:`model` turns a class
into a frozen, slotted, keyword-only dataclass and records its object-level CEL rules.
:func:`schema_of` walks such a class into an apiextensions v1 structural schema, so the YAML
in ``crds/`` and the Python models cannot disagree.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar, dataclass_transform

ModelT = TypeVar("ModelT", bound=type[Any])

_RULES_ATTRIBUTE = "__vaultsync_rules__"
_META_KEY = "vaultsync"


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """One CEL rule (``x-kubernetes-validations`` entry) and the message a person reads."""

    rule: str
    message: str
    field_path: str | None = None
    reason: str | None = None

    def to_schema(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"rule": self.rule, "message": self.message}
        if self.field_path is not None:
            entry["fieldPath"] = self.field_path
        if self.reason is not None:
            entry["reason"] = self.reason
        return entry


@dataclasses.dataclass(frozen=True, slots=True)
class FieldInfo:
    """What :func:`prop` records about one field besides its Python type."""

    description: str
    json_name: str | None
    schema: Mapping[str, Any]
    items: Mapping[str, Any]
    rules: tuple[Rule, ...]
    schema_default: bool


def prop(
    description: str,
    *,
    default: Any = dataclasses.MISSING,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    json_name: str | None = None,
    schema: Mapping[str, Any] | None = None,
    items: Mapping[str, Any] | None = None,
    rules: tuple[Rule, ...] = (),
    schema_default: bool = True,
) -> Any:
    """Declare a model field: its description, default, and schema extras.

    ``schema`` is merged into the field's generated schema (``pattern``, ``maxLength``,
    ``minimum``, ``x-kubernetes-list-type``...); ``items`` into the schema of list items or
    map values. A scalar ``default`` becomes the schema default too unless ``schema_default``
    is false, so the apiserver and :meth:`Model.from_dict` fill in the same value.
    """
    info = FieldInfo(
        description=prose(description),
        json_name=json_name,
        schema=dict(schema or {}),
        items=dict(items or {}),
        rules=rules,
        schema_default=schema_default,
    )
    metadata = {_META_KEY: info}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(prop,))
def model(*, rules: tuple[Rule, ...] = ()) -> Callable[[ModelT], ModelT]:
    """Make a frozen, slotted, keyword-only dataclass whose object schema carries ``rules``."""

    def wrap(cls: ModelT) -> ModelT:
        if not (cls.__doc__ or "").strip():
            raise TypeError(f"{cls.__name__} needs a docstring: it is the description in the CRD")
        made = typing.cast(ModelT, dataclasses.dataclass(frozen=True, slots=True, kw_only=True)(cls))
        setattr(made, _RULES_ATTRIBUTE, rules)
        return made

    return wrap


def prose(text: str) -> str:
    """A docstring as the apiserver should show it: paragraphs joined into single lines."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs if paragraph.strip())


def field_info(field: dataclasses.Field[Any]) -> FieldInfo:
    """The :func:`prop` record of a model field; every model field must have one."""
    info = field.metadata.get(_META_KEY)
    if not isinstance(info, FieldInfo):
        raise TypeError(f"field {field.name!r} is not declared with prop(): it has no description")
    return info


def json_name_of(field: dataclasses.Field[Any]) -> str:
    """The camelCase name of a field in resource bodies."""
    explicit = field_info(field).json_name
    if explicit is not None:
        return explicit
    head, *rest = field.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def model_fields(cls: type[Any]) -> list[tuple[dataclasses.Field[Any], Any]]:
    """The fields of a model class with their resolved type hints, in declaration order."""
    hints = _hints(cls)
    return [(field, hints[field.name]) for field in dataclasses.fields(cls)]


def _hints(cls: type[Any]) -> dict[str, Any]:
    cached: dict[str, Any] | None = _HINTS_CACHE.get(cls)
    if cached is None:
        cached = typing.get_type_hints(cls)
        _HINTS_CACHE[cls] = cached
    return cached


_HINTS_CACHE: dict[type[Any], dict[str, Any]] = {}


def unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; anything else -> ``(hint, False)``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(members) != 1:
            raise TypeError(f"unsupported union {hint!r}: only X | None is allowed")
        return members[0], True
    return hint, False


def has_default(field: dataclasses.Field[Any]) -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


def schema_of(cls: type[Any]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of a model class (an ``object`` with properties)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field, hint in model_fields(cls):
        info = field_info(field)
        name = json_name_of(field)
        properties[name] = _field_schema(field, hint, info)
        if not has_default(field):
            required.append(name)
    schema: dict[str, Any] = {
        "type": "object",
        "description": prose(cls.__doc__ or ""),
        "properties": properties,
    }
    if required:
        schema["required"] = required
    rules: tuple[Rule, ...] = getattr(cls, _RULES_ATTRIBUTE, ())
    if rules:
        schema["x-kubernetes-validations"] = [rule.to_schema() for rule in rules]
    return _ordered(schema)


def _field_schema(field: dataclasses.Field[Any], hint: Any, info: FieldInfo) -> dict[str, Any]:
    inner, _optional = unwrap_optional(hint)
    schema = type_schema(inner, info.items)
    # The field says what the value means here; the type's own docstring (its description where it
    # stands alone) would restate it, so `kubectl explain` shows one description per field.
    schema["description"] = info.description
    value = field.default
    if info.schema_default and isinstance(value, bool | int | float | str):
        schema["default"] = value.value if isinstance(value, enum.Enum) else value
    schema.update(info.schema)
    if info.rules:
        existing = list(schema.get("x-kubernetes-validations", []))
        schema["x-kubernetes-validations"] = existing + [rule.to_schema() for rule in info.rules]
    return _ordered(schema)


def type_schema(hint: Any, items_extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The schema of a Python type (without description): scalars, enums, models, lists, maps."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"lists are declared as tuple[X, ...], not {hint!r}")
        items = type_schema(args[0])
        items.update(items_extra or {})
        return {"type": "array", "items": _ordered(items)}
    if origin in (dict, Mapping, typing.Mapping):
        key, value = typing.get_args(hint)
        if key is not str:
            raise TypeError(f"map keys must be str, not {key!r}")
        values = type_schema(value)
        values.update(items_extra or {})
        return {"type": "object", "additionalProperties": _ordered(values)}
    if isinstance(hint, type):
        return _class_schema(hint)
    raise TypeError(f"unsupported type in a model: {hint!r}")


def _class_schema(cls: type[Any]) -> dict[str, Any]:
    if dataclasses.is_dataclass(cls):
        return schema_of(cls)
    if issubclass(cls, enum.Enum):
        return {"type": "string", "enum": [member.value for member in cls]}
    if cls is bool:
        return {"type": "boolean"}
    if cls is int:
        return {"type": "integer"}
    if cls is float:
        return {"type": "number"}
    if cls is str:
        return {"type": "string"}
    if cls is datetime:
        return {"type": "string", "format": "date-time"}
    raise TypeError(f"unsupported type in a model: {cls!r}")


_KEY_ORDER = ("description", "type", "format", "enum", "default")


def _ordered(schema: dict[str, Any]) -> dict[str, Any]:
    """Put the keys a reader looks for first at the top, so the YAML reads well."""
    head = {key: schema[key] for key in _KEY_ORDER if key in schema}
    return head | {key: value for key, value in schema.items() if key not in head}
