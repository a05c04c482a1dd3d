"""Property: a stream's final answer built as ``checked`` is the answer built with every test.

The assembler tells ``build_answer`` that the final reply is ``checked`` (its strings encodable, its
containers no deeper than ``_json.MAX_DEPTH``) when pydantic's parser or the SSE decoder read it from
bytes; ``normalize_message`` then skips the tests of the cards and attributions. Whatever the bytes hold
(bytes that are not UTF-8, lone surrogate escapes, a last event without its blank line, which the
decoder parses itself), and for events made by hand with raw surrogates in their text, the answer is
the one built with ``checked=False``.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from copilot_tools._sse import ServerSentEvent
from copilot_tools.errors import CopilotError
from copilot_tools.streaming import StreamAssembler, StreamReader, build_answer
from tests.property.test_normalize_equivalence import _fields_set, _nest
from tests.property.test_stream_final_fast_read import final_snapshots
from tests.property.test_stream_raw_bytes import event_bytes

TEXT_BLOCK = {"type": "TextBlock", "text": "[1](https://a.example/1) é"}


def _answers_agree(assembler: StreamAssembler) -> None:
    final = assembler._final
    if final is None:
        return
    snapshot, reply, checked = final
    built: list[Any] = []
    for flag in (checked, False):
        try:
            built.append(build_answer(snapshot, reply, request_id="r", checked=flag))
        except CopilotError as error:
            built.append(type(error))
    assert built[0] == built[1]
    assert _fields_set(built[0]) == _fields_set(built[1])


@settings(max_examples=200, deadline=None)
@given(bodies=st.lists(event_bytes(), min_size=1, max_size=3), last_blank=st.booleans(),
       depth=st.sampled_from([0, 63, 71]), surrogate=st.booleans())
def test_a_checked_final_answer_is_the_answer_built_with_every_test(bodies: list[bytes], last_blank: bool,
                                                                     depth: int, surrogate: bool) -> None:
    odd = {"id": "c", "turnCount": 1, "messages": [{"id": "r", "text": "See [^1^] and <Person>Ann</Person>.",
                                                    "adaptiveCards": [_nest(TEXT_BLOCK, depth)],
                                                    "attributions": [{"attributionType": "citation",
                                                                      "providerDisplayName": "Doc"}]}]}
    text = json.dumps(odd)
    bodies = [*bodies, (text.replace('"Doc"', '"D\\ud800oc"') if surrogate else text).encode()]
    stream = b"".join(b"data: " + body + b"\nid:%d\n\n" % n for n, body in enumerate(bodies))
    assembler = StreamAssembler("Hello?")
    reader = StreamReader(assembler)
    try:
        reader.feed(stream if last_blank else stream[:-1])
        reader.close()
    except CopilotError:
        pass
    _answers_agree(assembler)


def _odd_final(text: str) -> dict[str, Any]:
    """A final snapshot with ``text`` in its card, its attribution and an unknown field of it."""
    return {"id": "c", "turnCount": 1, "messages": [{
        "id": "r", "text": "See [^1^] and <Person>Ann</Person>.",
        "adaptiveCards": [{"type": "AdaptiveCard",
                           "body": [{"type": "TextBlock", "text": f"[1](https://a/1) {text}"}]}],
        "attributions": [{"attributionType": "citation", "providerDisplayName": text, "other": text}]}]}


@settings(max_examples=100, deadline=None)
@given(snapshots=st.lists(final_snapshots() | st.sampled_from(["x\ud800", "é"]).map(_odd_final), min_size=1,
                          max_size=3), surrogate=st.booleans())
def test_events_made_by_hand_are_not_taken_as_checked(snapshots: list[Any], surrogate: bool) -> None:
    assembler = StreamAssembler("Hello?")
    for n, snapshot in enumerate(snapshots):
        text = json.dumps(snapshot, ensure_ascii=False)
        event = ServerSentEvent(text.replace("Hel", "Hel\ud800", 1) if surrogate else text, str(n))
        try:
            assembler.feed(event)
        except CopilotError:
            return
    _answers_agree(assembler)
