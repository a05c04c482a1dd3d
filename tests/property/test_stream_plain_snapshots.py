"""Property: a snapshot the assembler reads straight from the JSON reads as the validated model would.

The stream assembler skips pydantic for snapshots that are not final and hold plainly what the
model would (``streaming._plain``). Whatever the snapshots hold (odd types, nulls, snake_case keys,
both ``state`` and ``status``, a refusal), the events, the answer and the errors must be exactly
those of validating every snapshot.
"""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot_tools import CopilotError, streaming
from copilot_tools._sse import ServerSentEvent

ODD = [None, 0, 1, -1, True, "x", "", [], {}, [1], [{}], 2.0, "2"]
TEXTS = ["Hello?", "The <Person>Ann", "The <Person>Ann</Person> said [^1^]", "abc [^2", "Hel", ""]
RESPONSE_TYPE = "#microsoft.graph.copilotConversationResponseMessage"


@st.composite
def odd(draw: st.DrawFn, value: dict[str, Any], extra: dict[str, list[Any]]) -> Any:
    """``value`` made odd at most a few times: a key dropped, a value of another type, an extra key."""
    for _ in range(draw(st.integers(0, 2))):
        choice = draw(st.integers(0, 3))
        if choice == 0 and value:
            value.pop(draw(st.sampled_from(sorted(value))))
        elif choice == 1 and value:
            value[draw(st.sampled_from(sorted(value)))] = draw(st.sampled_from(ODD))
        elif choice == 2:
            key = draw(st.sampled_from(sorted(extra)))
            value[key] = draw(st.sampled_from(extra[key]))
        else:
            return draw(st.sampled_from(ODD))
    return value


@st.composite
def messages(draw: st.DrawFn) -> Any:
    message = {
        "id": draw(st.sampled_from(["m0", "m1"])),
        "text": draw(st.sampled_from(TEXTS)),
        "@odata.type": draw(st.sampled_from([RESPONSE_TYPE, RESPONSE_TYPE, "other"])),
        "attributions": draw(st.sampled_from([[], [{"attributionType": "citation", "seeMoreWebUrl": "https://a/b"}]])),
        "adaptiveCards": draw(st.sampled_from([[], [{"type": "AdaptiveCard"}]])),
    }
    return draw(odd(message, {
        "odata_type": ["other"], "adaptive_cards": [[{"type": "AdaptiveCard"}]], "attributions": [[5], [{"x": 1}, 2]],
        "adaptiveCards": [["card"]], "createdDateTime": ["2025-01-01T00:00:00Z", "yesterday"],
    }))


@st.composite
def snapshots(draw: st.DrawFn) -> Any:
    snapshot = {
        "id": "c",
        "turnCount": draw(st.sampled_from([0, 0, 0, 1])),
        "state": draw(st.sampled_from(["active"] * 5 + ["disengagedForRai"])),
        "messages": draw(st.lists(messages(), max_size=3)),
    }
    return draw(odd(snapshot, {"turn_count": [1, 0], "status": ["active", "disengagedForRai"], "state": [None]}))


def run(events: list[ServerSentEvent]) -> tuple[str, int]:
    assembler = streaming.StreamAssembler("Hello?")
    out: list[object] = []
    try:
        for event in events:
            out.extend(assembler.feed(event))
        out.extend(assembler.finish())
    except CopilotError as error:
        out.append((type(error).__name__, str(error), getattr(error, "partial_text", None)))
    return repr(out), assembler.malformed_events


@settings(max_examples=300, deadline=None)
@given(events=st.lists(st.lists(snapshots(), min_size=1, max_size=2), min_size=1, max_size=5))
def test_reading_plain_snapshots_from_the_json_changes_nothing(events: list[list[Any]]) -> None:
    sse = [ServerSentEvent("".join(json.dumps(value) for value in values), str(n)) for n, values in enumerate(events)]
    fast = run(sse)
    with mock.patch.object(streaming, "_plain", lambda obj: None):  # every snapshot validated, as before
        validated = run(sse)
    assert fast == validated


REPLY = {"id": "m1", "text": "The <Person>Ann</Person> said [^1^]", "@odata.type": RESPONSE_TYPE}
OTHER = {"id": "m2", "text": "Another reply"}
ECHO = {"id": "m0", "text": "Hello?"}


@pytest.mark.parametrize("snapshot", [
    {"id": "c", "turn_count": 1, "messages": [ECHO, REPLY]},
    {"id": "c", "turnCount": 0, "state": "active", "status": "disengagedForRai", "messages": [REPLY]},
    {"id": "c", "status": "disengagedForRai", "messages": [REPLY]},
    {"id": "c", "state": None, "status": "disengagedForRai", "messages": [REPLY]},
    {"id": "c", "messages": None},
    {"id": "c", "messages": [{**OTHER, "@odata.type": RESPONSE_TYPE}, {"id": "m1", "text": "A", "odata_type": "x"}]},
    {"id": "c", "messages": [{"id": "m1", "text": "A", "adaptiveCards": ["card"]}, OTHER]},
    {"id": "c", "messages": [{"id": "m1", "text": "A", "attributions": [5]}, OTHER]},
    {"id": "c", "messages": [{"id": "m1", "text": "A", "adaptive_cards": [{}]}, OTHER]},
    {"id": "c", "messages": [{**REPLY, "attributions": None}, OTHER]},
    {"id": "c", "messages": [{**REPLY, "text": 5}, {**OTHER, "id": 7}]},
    {"id": "c", "messages": [5, REPLY]},
    {"id": "c", "turnCount": True, "messages": [REPLY]},
    {"id": "c", "turnCount": "1", "messages": [REPLY]},
    {"id": "c", "turnCount": None, "messages": [REPLY]},
    {"id": 5, "messages": [REPLY]},
    {"messages": [REPLY]},
    [{"id": "c", "messages": [REPLY]}],
])
@pytest.mark.parametrize("with_final", [False, True])
def test_snapshots_that_are_not_plain_read_as_validated(snapshot: Any, with_final: bool) -> None:
    final = {"id": "c", "turnCount": 1, "messages": [ECHO, {**REPLY, "text": "The <Person>Ann</Person> said [^1^]."}]}
    events = [ServerSentEvent(json.dumps(snapshot), "1")]
    if with_final:
        events.append(ServerSentEvent(json.dumps(final), "2"))
    fast = run(events)
    with mock.patch.object(streaming, "_plain", lambda obj: None):
        assert fast == run(events)
