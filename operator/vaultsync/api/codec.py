"""Resource bodies (camelCase JSON) to typed models and back.

Handlers receive plain dicts from the apiserver; :meth:`Model.from_dict` turns them into the
frozen models of this package, filling the same defaults the CRD schema declares, and
:meth:`Model.to_dict` produces the body to patch. Errors name the field path and the problem,
never the value, because a value may be a secret.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Self

from vaultsync.api.schema import has_default, json_name_of, model_fields, unwrap_optional


class ModelError(ValueError):
    """A resource body does not fit its model; ``path`` says where (``spec.source.path``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or '<root>'}: {problem}")
        self.path = path
        self.problem = problem


class Model:
    """Base of every API model: parsing from and encoding to resource bodies."""

    __slots__ = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str = "") -> Self:
        """Parse a camelCase body; unknown keys are ignored (the apiserver prunes them)."""
        decoded: Self = _decode_model(cls, data, path)
        return decoded

    def to_dict(self) -> dict[str, Any]:
        """The camelCase body; ``None`` fields and empty lists or maps are left out."""
        return _encode_model(self)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix, as Kubernetes writes timestamps."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def status_time(moment: datetime | None = None) -> str:
    """``moment`` (default: now) as status fields and messages carry it: whole seconds, UTC, ``Z``."""
    return format_timestamp((moment or datetime.now(UTC)).replace(microsecond=0))


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset) into an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("timestamp has no timezone")
    return moment.astimezone(UTC)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _decode_model(cls: type[Any], data: Any, path: str) -> Any:
    if not isinstance(data, Mapping):
        raise ModelError(path, "expected an object")
    values: dict[str, Any] = {}
    for field, hint in model_fields(cls):
        name = json_name_of(field)
        field_path = _join(path, name)
        raw = data.get(name)
        if raw is None:
            if not has_default(field):
                raise ModelError(field_path, "is required")
            continue
        values[field.name] = _decode(hint, raw, field_path)
    return cls(**values)


def _decode(hint: Any, raw: Any, path: str) -> Any:
    hint, _optional = unwrap_optional(hint)
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(raw, list | tuple):
            raise ModelError(path, "expected a list")
        item_hint = typing.get_args(hint)[0]
        return tuple(_decode(item_hint, item, f"{path}[{index}]") for index, item in enumerate(raw))
    if origin in (dict, Mapping, typing.Mapping):
        if not isinstance(raw, Mapping):
            raise ModelError(path, "expected a map")
        value_hint = typing.get_args(hint)[1]
        return {str(key): _decode(value_hint, value, f"{path}[{key}]") for key, value in raw.items()}
    if dataclasses.is_dataclass(hint):
        return _decode_model(typing.cast(type[Any], hint), raw, path)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(raw)
        except ValueError:
            allowed = ", ".join(str(member.value) for member in hint)
            raise ModelError(path, f"must be one of {allowed}") from None
    return _decode_scalar(hint, raw, path)


def _decode_scalar(hint: Any, raw: Any, path: str) -> Any:
    if hint is bool:
        if not isinstance(raw, bool):
            raise ModelError(path, "expected true or false")
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ModelError(path, "expected an integer")
        return raw
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ModelError(path, "expected a number")
        return float(raw)
    if hint is str:
        if not isinstance(raw, str):
            raise ModelError(path, "expected a string")
        return raw
    if hint is datetime:
        if isinstance(raw, datetime):
            return raw.astimezone(UTC)
        if not isinstance(raw, str):
            raise ModelError(path, "expected an RFC 3339 timestamp")
        try:
            return parse_timestamp(raw)
        except ValueError:
            raise ModelError(path, "expected an RFC 3339 timestamp") from None
    raise TypeError(f"{path}: unsupported type {hint!r}")


def _encode_model(instance: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for field, _hint in model_fields(type(instance)):
        value = getattr(instance, field.name)
        if value is None or (has_default(field) and isinstance(value, tuple | Mapping) and not value):
            continue
        body[json_name_of(field)] = _encode(value)
    return body


def _encode(value: Any) -> Any:
    if isinstance(value, Model):
        return _encode_model(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _encode(item) for key, item in value.items()}
    return value
