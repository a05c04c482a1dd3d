"""Property: ``_json`` reads any JSON the standard parser reads, with encodable strings and bounded depth."""

from __future__ import annotations

import json

from hypothesis import assume, given
from hypothesis import strategies as st

from copilot_tools import _json
from copilot_tools._text import encodable
from tests.property.strategies import FAST, deep_json, encodable_everywhere, json_values

ESCAPES = [
    "\\", "\\\\", "\\ud83d", "\\uD83D", "\\udcc5", "\\uDC05", "\\ud800", "\\udfff", "\\u0041", "\\n", '\\"', "a", "📅",
]


@FAST
@given(parts=st.lists(st.sampled_from(ESCAPES), max_size=12))
def test_surrogate_escapes_become_what_encodable_makes_of_them(parts: list[str]) -> None:
    text = '"' + "".join(parts) + '"'
    try:
        expected = json.loads(text)
    except ValueError:
        return
    assert _json.loads(text) == encodable(expected)


@FAST
@given(value=json_values)
def test_any_json_value_round_trips_with_encodable_strings(value: object) -> None:
    text = json.dumps(value)
    parsed = _json.loads(text)
    encodable_everywhere(parsed)
    assume(encodable(text) == text)
    json.dumps(parsed).encode("utf-8")


@FAST
@given(text=deep_json)
def test_depth_is_bounded_whatever_the_nesting(text: str) -> None:
    value = _json.loads(text)
    depth, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            depth = max(depth, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    assert depth <= _json.MAX_DEPTH
    json.dumps(value)  # a front end can serialise it
