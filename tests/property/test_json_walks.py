"""Property: ``_json``'s depth walks give what their former versions gave.

``_prune`` and ``_is_clean`` walk level by level now (no (container, depth) tuple per container for
the garbage collector to track). The former stack-based walks are kept below as the oracles, run on
values of any shape: nested past the limit, wide levels, surrogates at any depth (and shared
children, for ``_is_clean``). ``_containers_below`` types each level's children in C now; its former
Python walk is kept as its oracle.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from unittest.mock import patch

from hypothesis import given
from hypothesis import strategies as st

from copilot_tools import _json
from copilot_tools._text import SURROGATE, is_encodable
from tests.property.strategies import FAST, json_values


def _old_prune(root: Any, max_depth: int) -> tuple[Any, int]:
    if type(root) is not dict and type(root) is not list:
        return root, 0
    pruned = 0
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if type(node) is dict else node
        if depth < max_depth:
            stack.extend((child, depth + 1) for child in children if type(child) is dict or type(child) is list)
            continue
        keys = [key for key, child in (node.items() if type(node) is dict else enumerate(node))
                if type(child) is dict or type(child) is list]
        for key in keys:
            node[key] = None
        pruned += len(keys)
    return root, pruned


def _old_is_clean(value: Any, max_depth: int) -> bool:
    if isinstance(value, str):
        return is_encodable(value)
    if not isinstance(value, (dict, list)):
        return True
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth >= max_depth:
            return False
        if isinstance(node, dict):
            if any(isinstance(key, str) and SURROGATE.search(key) for key in node):
                return False
            children = list(node.values())
        else:
            children = node
        for child in children:
            if isinstance(child, str):
                if SURROGATE.search(child):
                    return False
            elif isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return True


def _old_containers_below(root: Any, depth: int) -> list[Any]:
    if type(root) is not dict and type(root) is not list:
        return []
    level = [root]
    for _ in range(1, depth):
        below: list[Any] = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is dict or type(child) is list:
                    below.append(child)
        if not below:
            return below
        level = below
    return level


def _nest(value: Any, depth: int, kind: str) -> Any:
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


values = st.builds(_nest, json_values, st.integers(min_value=0, max_value=12), st.sampled_from(["list", "dict"]))
limits = st.integers(min_value=0, max_value=10)


@FAST
@given(value=values, limit=st.integers(min_value=1, max_value=10))
def test_prune_cuts_what_the_former_walk_cut_and_says_so(value: Any, limit: int) -> None:
    expected, pruned = _old_prune(copy.deepcopy(value), limit)
    with patch.object(_json.logger, "warning") as warning:
        assert _json._prune(copy.deepcopy(value), limit) == expected
    assert warning.call_count == (1 if pruned else 0)
    if pruned:
        assert warning.call_args.args[1:] == (limit, pruned)


@FAST
@given(value=values, limit=st.integers(min_value=1, max_value=10))
def test_the_containers_at_a_depth_are_those_the_former_walk_found(value: Any, limit: int) -> None:
    mixed = [value, {"a": value, "b": 1, "c": [value, "x"]}, [[value]], "s", None]
    for root in (value, mixed):
        found = _json._containers_below(root, limit)
        expected = _old_containers_below(root, limit)
        assert len(found) == len(expected)
        assert all(a is b for a, b in zip(found, expected, strict=True))


@FAST
@given(value=values, limit=limits)
def test_is_clean_says_what_the_former_walk_said(value: Any, limit: int) -> None:
    assert _json._is_clean(value, limit) == _old_is_clean(value, limit)


@FAST
@given(value=values, limit=limits)
def test_a_shared_child_is_judged_like_any_other(value: Any, limit: int) -> None:
    # (Only _is_clean: _prune is given what the parser made, a tree.)
    shared: list[Any] = [value, value, {"a": value, "b": [value]}]
    assert _json._is_clean(shared, limit) == _old_is_clean(shared, limit)


@FAST
@given(value=values, width=st.integers(min_value=0, max_value=300), pad=st.sampled_from([0, 1 << 16]))
def test_bound_gives_what_loads_gives(value: Any, width: int, pad: int) -> None:
    # bound walks a few steps first when the text is long (past _WALK_FIRST), and prunes at once when
    # that walk already met more containers than MAX_DEPTH; iter_values counts the brackets.
    document = {"pad": "x" * pad, "wide": [[] for _ in range(width)], "value": _nest(value, 60, "list")}
    text = json.dumps(document)
    (parsed,), bounded = _json.values_unbounded(text)
    assert not bounded
    assert _json.bound(parsed, text) == next(_json.iter_values(text))
