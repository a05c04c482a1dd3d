"""One notation for the JSON schemas of the core's ``structured()`` results.

``Answer``, the retrieval hits and ``Verification`` each publish a plain-JSON result with a
hand-written schema (``STRUCTURED_ANSWER_SCHEMA``, ``RETRIEVAL_SCHEMA``, ``VERIFICATION_SCHEMA``).
They are written with these builders, so the three spell a nullable value, an array and an
object the same way and a schema reads as its list of properties:

- a property is a JSON type name (``"integer"``), the name with ``?`` for "or null"
  (``"string?"`` is ``{"type": ["string", "null"]}``), or a schema built here;
- an object requires every property it lists unless ``required`` names fewer.

The schemas stay plain dicts (the tests validate results against them with ``jsonschema``);
the frameworks' published schemas come from the models in ``copilot_tools.agent``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Property = str | dict[str, Any]


def prop(spec: Property, description: str | None = None, *, enum: Sequence[str] | None = None) -> dict[str, Any]:
    """The schema of one property: a type name (``?`` for "or null") or a schema, described."""
    if isinstance(spec, dict):
        schema = dict(spec)
    elif spec.endswith("?"):
        schema = {"type": [spec[:-1], "null"]}
    else:
        schema = {"type": spec}
    if enum is not None:
        schema["enum"] = list(enum)
    if description is not None:
        schema["description"] = description
    return schema


def array_of(items: Property) -> dict[str, Any]:
    return {"type": "array", "items": prop(items)}


def object_of(properties: Mapping[str, Property], *, required: Sequence[str] | None = None,
              nullable: bool = False) -> dict[str, Any]:
    """An object with ``properties``; all of them required unless ``required`` says which
    (``()``: none). ``nullable``: null is accepted too."""
    schema: dict[str, Any] = {
        "type": ["object", "null"] if nullable else "object",
        "properties": {name: prop(spec) for name, spec in properties.items()},
    }
    names = list(properties) if required is None else list(required)
    if names:
        schema["required"] = names
    return schema
