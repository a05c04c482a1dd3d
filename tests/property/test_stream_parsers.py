"""Property: the stream parsers take any bytes, cut anywhere, and only ever raise CopilotError.

Whatever the body (random, or a real stream mutated), the SSE decoder and the stream assembler
either give events whose text encodes as UTF-8, or raise a ``CopilotError`` subclass (an oversized
event, a refusal, an empty or interrupted answer). Nothing else escapes: no ``RecursionError``, no
``UnicodeEncodeError`` later in a front end, no ``IndexError``.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from copilot_tools import AnswerComplete, CopilotError, TextDelta, TextReset
from copilot_tools._sse import SSEDecoder, iter_json_objects
from copilot_tools.streaming import StreamAssembler, StreamReader
from tests.property.strategies import (
    FAST,
    chunkings,
    deep_json,
    encodable_everywhere,
    hostile_text,
    json_text,
    json_values,
    mutated,
    stream_bodies,
)

BODIES = st.one_of(
    mutated(stream_bodies()), st.binary(max_size=2000), hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass"))
)


def read(chunks: list[bytes], prompt: str) -> list[object]:
    reader = StreamReader(StreamAssembler(prompt))
    out: list[object] = []
    try:
        for chunk in chunks:
            out.extend(reader.feed(chunk))
        out.extend(reader.close())
    except CopilotError as error:
        out.append(error)
    return out


@FAST
@given(data=st.data(), body=BODIES)
def test_the_decoder_gives_the_same_encodable_events_however_the_body_is_cut(data: st.DataObject, body: bytes) -> None:
    whole = SSEDecoder()
    try:
        expected = whole.feed(body) + whole.close()
    except CopilotError:
        return
    decoder = SSEDecoder()
    events = [event for chunk in data.draw(chunkings(body)) for event in decoder.feed(chunk)] + decoder.close()
    assert events == expected
    for event in events:
        encodable_everywhere([event.data, event.id, event.event])


@FAST
@given(data=st.data(), body=BODIES, prompt=st.sampled_from(["", "What meeting do I have at 9 AM tomorrow morning?"]))
def test_the_stream_reader_only_raises_copilot_errors_and_shows_encodable_text(
    data: st.DataObject, body: bytes, prompt: str
) -> None:
    out = read(data.draw(chunkings(body)), prompt)
    for item in out:
        if isinstance(item, (TextDelta, TextReset)):
            item.text.encode("utf-8")
        elif isinstance(item, AnswerComplete):
            encodable_everywhere(item.answer)
            item.answer.model_dump_json()  # what a front end does with it
        else:
            assert isinstance(item, CopilotError), repr(item)
            str(item).encode("utf-8")


@FAST
@given(value=json_values, prompt=hostile_text)
def test_any_json_event_is_a_snapshot_or_skipped(value: object, prompt: str) -> None:
    body = f"data: {json_text(value)}\n\n".encode()
    for item in read([body], prompt):
        assert isinstance(item, (TextDelta, TextReset, AnswerComplete, CopilotError))


@FAST
@given(text=deep_json)
def test_json_nested_thousands_deep_is_read_not_a_recursion_error(text: str) -> None:
    assert len(list(iter_json_objects(text))) == 1
    message = f'{{"id": "r", "text": "ok", "adaptiveCards": [{text}]}}'
    out = read([f'data: {{"id": "c", "turnCount": 1, "messages": [{message}]}}\n\n'.encode()], "q")
    assert isinstance(out[-1], (AnswerComplete, CopilotError))
    if text.startswith("{"):
        assert isinstance(out[-1], AnswerComplete) and out[-1].answer.text == "ok"
