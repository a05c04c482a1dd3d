"""The notation the core's result schemas are written in (``copilot_tools._schema``)."""

from __future__ import annotations

from copilot_tools._schema import array_of, object_of, prop


def test_a_property_is_a_type_name_a_nullable_type_name_or_a_schema() -> None:
    assert prop("integer") == {"type": "integer"}
    assert prop("string?") == {"type": ["string", "null"]}
    assert prop({"type": "object"}, "described") == {"type": "object", "description": "described"}
    assert prop("string", enum=("a", "b")) == {"type": "string", "enum": ["a", "b"]}


def test_an_object_requires_every_property_unless_told_otherwise() -> None:
    assert object_of({"a": "string", "b": "number?"}) == {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": ["number", "null"]}},
        "required": ["a", "b"],
    }
    assert object_of({"a": "string", "b": "number?"}, required=("a",))["required"] == ["a"]
    assert "required" not in object_of({"a": "string"}, required=())
    assert object_of({"a": "string"}, nullable=True)["type"] == ["object", "null"]


def test_an_array_holds_one_kind_of_item() -> None:
    assert array_of("string") == {"type": "array", "items": {"type": "string"}}
    assert array_of(object_of({})) == {"type": "array", "items": {"type": "object", "properties": {}}}
