"""Property: an event's JSON parsed by pydantic's parser reads exactly as ``_json`` reads it (``_sse.json_values``).

The assembler parses each stream event with ``pydantic_core.from_json`` first, and takes ``_json``'s
path wherever that parser refuses the text. Whatever the text (any JSON value, numbers of every form,
surrogates escaped or raw, several values back to back, deep nesting, junk), the values, the flag
that says they are bounded and the errors must be those of ``_json.values_unbounded``; and the last
event's parsed values (``_sse._parse_whole``) those of ``iter_json_objects``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from copilot_tools import _json
from copilot_tools._text import is_encodable
from copilot_tools._sse import _parse_whole, iter_json_objects, json_values
from tests.property.strategies import deep_json, hostile_text, json_text, json_values as any_json

NUMBERS = st.one_of(
    st.floats().map(repr),
    st.integers().map(str),
    st.from_regex(r"-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "-0", "-0.0", "1e400", "01", "1.", ".5", "+1", "1" * 4301]),
)
TEXTS = st.one_of(
    any_json.map(json_text),
    any_json.map(lambda value: json.dumps(value, ensure_ascii=False, indent=1)),
    NUMBERS,
    deep_json,
    st.lists(any_json.map(json_text), min_size=2, max_size=3).map(" ".join),
    hostile_text,
    st.lists(st.sampled_from(['{"a": ', "[", "]", "}", ", ", '"x"', "1", "\\ud83d", '"\\udcc5"', " ", "\ud83d"]),
             max_size=12).map("".join),
)


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types throughout (1 and 1.0 and True differ; NaN equals NaN); no recursion."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, dict):
            if list(x) != list(y):
                return False
            stack.extend((x[key], y[key]) for key in x)
        elif isinstance(x, (list, tuple)):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, float):
            if not ((math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) == math.copysign(1, y))):
                return False
        elif x != y:
            return False
    return True


def strings(value: Any) -> list[str]:
    """Every string in ``value``, keys included; no recursion."""
    found, stack = [], [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            found.extend(node)
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return found


def outcome(function: Any, text: str) -> tuple[str, Any]:
    try:
        return "values", function(text)
    except ValueError:
        return "error", None


@settings(max_examples=600, deadline=None)
@given(text=TEXTS)
def test_the_fast_parse_reads_as_json_loads(text: str) -> None:
    fast, former = outcome(json_values, text), outcome(_json.values_unbounded, text)
    assert fast[0] == former[0]
    if fast[1] is not None:
        values, bounded, checked = fast[1]
        assert same((values, bounded), former[1])
        if checked:
            assert all(is_encodable(string) for string in strings(values))


@settings(max_examples=300, deadline=None)
@given(text=TEXTS)
def test_the_last_event_is_parsed_as_before(text: str) -> None:
    former = None if not text.strip() else outcome(lambda t: tuple(iter_json_objects(t)), text)[1]
    assert same(_parse_whole(text), former)
