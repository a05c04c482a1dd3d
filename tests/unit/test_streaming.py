"""Snapshots become deltas, resets and one final answer; refusals and cuts are typed."""

from __future__ import annotations

import json

import pytest

from copilot_tools import (
    AnswerComplete,
    EmptyResponseError,
    ResponseDeclinedError,
    StreamInterruptedError,
    TextDelta,
    TextReset,
)
from copilot_tools._sse import ServerSentEvent
from copilot_tools.streaming import StreamAssembler

PROMPT = "Who organises the standup?"


def snapshot(text: str | None, *, turn: int = 0, state: str = "active", with_prompt: bool = False) -> ServerSentEvent:
    messages = []
    if with_prompt:
        messages.append({"id": "p", "text": PROMPT})
    if text is not None:
        messages.append({"id": "r", "text": text, "attributions": [
            {"attributionType": "annotation", "seeMoreWebUrl": "https://people/john"},
            {"attributionType": "citation", "providerDisplayName": "Standup", "seeMoreWebUrl": "https://meet/1"}]})
    return ServerSentEvent(json.dumps({"id": "c", "turnCount": turn, "state": state, "messages": messages}))


def run(events: list[ServerSentEvent]) -> list:
    assembler = StreamAssembler(PROMPT)
    out = []
    for event in events:
        out.extend(assembler.feed(event))
    return out + assembler.finish()


def test_growing_snapshots_become_deltas_without_half_written_tags() -> None:
    out = run([
        snapshot("It is <Pers"),
        snapshot("It is <Person>John Doe</Person>[^1"),
        snapshot(None),  # keep-alive
        ServerSentEvent(json.dumps({"id": "c", "turnCount": 0, "messages": []})),
        snapshot("It is <Person>John Doe</Person>[^1^]."),
        snapshot("It is <Person>John Doe</Person>[^1^].", turn=1, with_prompt=True),
    ])
    assert out[:-1] == [TextDelta("It is "), TextDelta("John Doe"), TextDelta("[1].")]
    answer = out[-1].answer
    assert answer.text == "It is John Doe[1]." and answer.citations[0].url == "https://meet/1"
    assert answer.entities[0].url == "https://people/john"


def test_a_rewrite_becomes_a_reset_and_the_final_text_is_exact() -> None:
    out = run([
        snapshot("John Doe runs it"),
        snapshot("<Person>John Doe</Person> organises it[^1^]"),
        snapshot("<Person>John Doe</Person> organises it[^1^].", turn=2, with_prompt=True),
    ])
    assert out[1] == TextReset("John Doe organises it[1]")
    shown = ""
    for event in out[:-1]:
        shown = event.text if isinstance(event, TextReset) else shown + event.text
    assert shown == out[-1].answer.text == "John Doe organises it[1]."


def test_a_malformed_event_is_skipped_when_later_snapshots_restore_it() -> None:
    assembler = StreamAssembler(PROMPT)
    assert assembler.feed(ServerSentEvent('{"id": "c", "messages": [')) == []
    out = assembler.feed(snapshot("Done.", turn=1, with_prompt=True)) + assembler.finish()
    assert assembler.malformed_events == 1 and isinstance(out[-1], AnswerComplete)


def test_a_refusal_raises_declined() -> None:
    with pytest.raises(ResponseDeclinedError):
        run([snapshot("I can't help with that.", state="disengagedForRai")])


def test_a_stream_without_final_snapshot_raises_with_partial_text() -> None:
    with pytest.raises(StreamInterruptedError) as info:
        run([snapshot("It is <Person>John Doe</Person>")])
    assert info.value.partial_text == "It is John Doe"


def test_a_stream_with_no_reply_or_an_empty_final_reply_raises_empty() -> None:
    with pytest.raises(EmptyResponseError):
        run([ServerSentEvent(json.dumps({"id": "c", "messages": []}))])
    with pytest.raises(EmptyResponseError):
        run([snapshot("", turn=1, with_prompt=True)])
