"""The generator maps Python types to structural schema and refuses what it cannot express."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import StrEnum
from typing import Any

import pytest

from vaultsync.api.codec import Model
from vaultsync.api.schema import Rule, model, prop, schema_of, type_schema


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


@model(rules=(Rule(rule="self.low <= self.high", message="low must not exceed high", field_path=".low"),))
class Sample(Model):
    """A sample object.

    Its second paragraph stays a paragraph."""

    low: int = prop("Lower bound.", schema={"minimum": 0})
    high: int = prop("Upper bound.", default=10)
    color: Color = prop("A color.", default=Color.RED)
    tags: tuple[str, ...] = prop("Tags.", default=(), schema={"maxItems": 3}, items={"maxLength": 5})
    when: datetime | None = prop(
        """When it happened,
        across two lines.""",
        default=None,
    )


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (datetime, {"type": "string", "format": "date-time"}),
        (Color, {"type": "string", "enum": ["red", "blue"]}),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (dict[str, str], {"type": "object", "additionalProperties": {"type": "string"}}),
    ],
    ids=["str", "int", "float", "bool", "datetime", "enum", "list", "map"],
)
def test_type_schema(hint: Any, expected: dict[str, Any]) -> None:
    assert type_schema(hint) == expected


@pytest.mark.parametrize(
    "hint",
    [tuple[int, str], dict[int, str], bytes, list[int]],
    ids=["fixed-tuple", "int-keys", "bytes", "list-instead-of-tuple"],
)
def test_type_schema_refuses_what_a_structural_schema_cannot_say(hint: Any) -> None:
    with pytest.raises(TypeError):
        type_schema(hint)


def test_object_schema_carries_required_defaults_bounds_and_rules() -> None:
    schema = schema_of(Sample)
    assert schema["description"] == "A sample object.\n\nIts second paragraph stays a paragraph."
    assert schema["required"] == ["low"]
    assert schema["x-kubernetes-validations"] == [
        {"rule": "self.low <= self.high", "message": "low must not exceed high", "fieldPath": ".low"}
    ]
    properties = schema["properties"]
    assert properties["low"] == {"description": "Lower bound.", "type": "integer", "minimum": 0}
    assert properties["high"]["default"] == 10
    assert properties["color"]["default"] == "red"
    assert "default" not in properties["tags"]
    assert properties["tags"]["items"] == {"type": "string", "maxLength": 5}
    assert properties["when"]["description"] == "When it happened, across two lines."


def test_a_model_needs_a_docstring() -> None:
    with pytest.raises(TypeError, match="needs a docstring"):

        @model()
        class Undocumented(Model):
            value: int = prop("A value.")


def test_every_field_needs_prop() -> None:
    @model()
    class Bare(Model):
        """Has a field without a description."""

        value: int = dataclasses.field(default=0)

    with pytest.raises(TypeError, match="has no description"):
        schema_of(Bare)


def test_models_are_frozen_and_keyword_only() -> None:
    sample = Sample(low=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.low = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        Sample(1)  # type: ignore[misc]


@model()
class Holder(Model):
    """Holds a sample."""

    sample: Sample = prop("The sample this holder keeps.")


def test_a_field_of_a_model_type_has_the_field_description_only() -> None:
    """The type's docstring is its description where it stands alone, never appended to a field's
    (the two paragraphs would say the same thing twice in `kubectl explain`)."""
    field = schema_of(Holder)["properties"]["sample"]
    assert field["description"] == "The sample this holder keeps."
    assert field["properties"]["low"]["description"] == "Lower bound."
