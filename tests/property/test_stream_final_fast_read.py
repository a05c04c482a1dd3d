"""Property: the final snapshot read in one step (``streaming._read_final``) reads as the former path.

The stream assembler reads an event whose first ``"turnCount"`` is positive with pydantic's own JSON
parser (``_wire.validate_json_fast``) instead of ``json.loads`` and the tolerant validation, and
validates the other snapshots it validates without the tolerant wrappers first
(``_wire.validate_python_fast``). Whatever
the snapshots hold (odd counts, odd fields, lone surrogate escapes, pretty or compact JSON, several
values in one event), the events, the answer, the warnings and the errors must be exactly those of
the former path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot_tools import streaming
from copilot_tools._sse import ServerSentEvent, SSEDecoder
from tests import reference
from tests.property.test_stream_plain_snapshots import run, snapshots

T = TypeVar("T")

COUNTS = [1, 1, 2, 10, 0, "1", 1.0, 1.5, True, None, -1]


@st.composite
def final_snapshots(draw: st.DrawFn) -> Any:
    snapshot = draw(snapshots())
    if isinstance(snapshot, dict) and draw(st.integers(0, 3)):
        snapshot["turnCount"] = draw(st.sampled_from(COUNTS))
    return snapshot


def dumped(value: Any, indent: int | None, surrogate: bool) -> str:
    text = json.dumps(value, indent=indent)
    return text.replace("Hel", "Hel\\ud800", 1) if surrogate else text


class _Said(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def logged(read: Callable[[], T]) -> tuple[T, list[str]]:
    """What ``read()`` gives, and every message logged meanwhile (at any level: the odd-value warnings are
    logged once per kind, then at DEBUG)."""
    handler, root = _Said(), logging.getLogger("copilot_tools")
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        return read(), handler.messages
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def said(events: list[ServerSentEvent]) -> tuple[tuple[str, int], list[str]]:
    """What ``run`` gives, and every message logged meanwhile."""
    return logged(lambda: run(events))


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(st.lists(final_snapshots(), min_size=1, max_size=2), min_size=1, max_size=4),
    indent=st.sampled_from([None, 2]),
    surrogate=st.sampled_from([False, False, False, True]),
)
def test_reading_the_final_snapshot_in_one_step_changes_nothing(
    events: list[list[Any]], indent: int | None, surrogate: bool,
) -> None:
    sse = [ServerSentEvent("".join(dumped(value, indent, surrogate) for value in values), str(n))
           for n, values in enumerate(events)]
    fast = said(sse)
    with (mock.patch.object(streaming, "_read_final", lambda text: None),  # the former path
          mock.patch.object(streaming, "validate_python_fast", lambda model, value: None)):
        assert fast == said(sse)


def test_the_reference_streams_final_snapshots_take_the_one_step_read() -> None:
    finals = 0
    for _, body in reference.stream_examples():
        decoder = SSEDecoder()
        for event in decoder.feed(body + b"\n\n"):  # (the reference's last event lacks its blank line)
            if json.loads(event.data).get("turnCount", 0) > 0:
                assert streaming._read_final(event.data) is not None
                finals += 1
    assert finals == len(reference.stream_examples())


@pytest.mark.parametrize("text", [
    '{"id":"c","turnCount":0,"messages":[]}',  # not final
    '{"id":"c","turnCount":"1","messages":[]}',  # a count as a string: the former path
    '{"id":"c","turnCount":1,"messages":[]}{"id":"c","turnCount":1}',  # two values in one event
    '{"id":"c","turnCount":1,"messages":[{"text":"x\\ud800"}]}',  # a lone surrogate escape
    '{"id":"c","turnCount":1,"messages":[{"text":"\ud800"}]}',  # a raw surrogate (an event made by hand)
    '{"id":"c","turnCount":1,"messages":5}',  # needs a repair
    '{"id":"c","turnCount":1,"text":"' + "w" * 70_000 + '"}',  # long: json.loads is faster
])
def test_what_the_one_step_read_leaves_to_the_former_path(text: str) -> None:
    assert streaming._read_final(text) is None
