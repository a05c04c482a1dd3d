"""Property: an event's JSON parsed from the decoder's bytes reads as it did from the decoded text.

The SSE decoder keeps the bytes of an event it read in one piece (``ServerSentEvent.raw``), and the
assembler and the last event's parse hand them to pydantic's parser instead of the text made UTF-8
again. Whatever the bytes hold (characters past ASCII, bytes that are not UTF-8 inside and outside
the JSON's strings, lone surrogate escapes, final snapshots or not, a last event without its blank
line), the events, the answer, the warnings and the errors must be exactly those of the same events
without their bytes; and the last event's parsed values those of its text. Such an event's text is
decoded when first read, and the event is then what the text would have made.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot_tools import CopilotError
from copilot_tools._sse import ServerSentEvent, SSEDecoder, _parse_whole
from copilot_tools.streaming import StreamAssembler, StreamReader
from tests.property.test_stream_final_fast_read import final_snapshots, logged, said
from tests.property.test_stream_values import same

ODD_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", "é".encode(), "😀".encode(), b"\\ud800", b"\xef\xbb\xbf"]


@st.composite
def event_bytes(draw: st.DrawFn) -> bytes:
    """One snapshot's JSON as bytes, pretty or not, ASCII or not, with a few odd bytes put anywhere."""
    text = json.dumps(draw(final_snapshots()), indent=draw(st.sampled_from([None, 2])),
                      ensure_ascii=draw(st.booleans()))
    body = text.replace("Hel", "Hél", 1).encode()
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from(ODD_BYTES)) + body[at:]
    return body


def without_bytes(event: ServerSentEvent) -> ServerSentEvent:
    return ServerSentEvent(event.data, event.id, event.event, event.retry, event.parsed)


@settings(max_examples=300, deadline=None)
@given(bodies=st.lists(event_bytes(), min_size=1, max_size=4), last_blank=st.booleans())
def test_parsing_the_decoders_bytes_changes_nothing(bodies: list[bytes], last_blank: bool) -> None:
    stream = b"".join(b"data: " + body + b"\nid:%d\n\n" % n for n, body in enumerate(bodies))
    decoder = SSEDecoder()
    events = decoder.feed(stream if last_blank else stream[:-1]) + decoder.close()
    assert any(event.raw is not None for event in events) or not events
    for event in events:
        if event.raw is not None:
            assert event.raw.decode("utf-8", "replace") == event.data
    assert said(events) == said([without_bytes(event) for event in events])
    if events:
        last = events[-1]
        assert same(_parse_whole(last.data, last.raw), _parse_whole(last.data))


@settings(max_examples=200, deadline=None)
@given(bodies=st.lists(event_bytes(), min_size=1, max_size=3), last_blank=st.booleans(),
       size=st.sampled_from([5, 64, 1 << 16]))
def test_the_readers_last_event_reads_as_the_decoders(bodies: list[bytes], last_blank: bool, size: int) -> None:
    """The reader takes a last event without its blank line that ``_read_final`` reads in one step from that
    read (not parsed by the decoder, then validated): the events, answer, warnings and errors are the same."""
    stream = b"".join(b"data: " + body + b"\nid:%d\n\n" % n for n, body in enumerate(bodies))
    stream = stream if last_blank else stream[:-1]

    def read() -> tuple[str, int]:
        reader = StreamReader(StreamAssembler("Hello?"))
        out: list[object] = []
        try:
            for start in range(0, len(stream), size):
                out.extend(reader.feed(stream[start:start + size]))
            out.extend(reader.close())
        except CopilotError as error:
            out.append((type(error).__name__, str(error), getattr(error, "partial_text", None)))
        return repr(out), reader._assembler.malformed_events

    fast = logged(read)
    with mock.patch.object(StreamReader, "_values_of_last", SSEDecoder._values_of_last):  # the decoder's parse
        assert fast == logged(read)


def test_an_event_longer_than_the_limit_keeps_no_bytes() -> None:
    text = json.dumps({"id": "c", "turnCount": 1, "messages": [{"id": "m", "text": "w" * 70_000}]})
    decoder = SSEDecoder()
    (long,) = decoder.feed(f"data: {text}\n\n".encode())
    (short,) = decoder.feed(b'data: {"id": "c"}\n\n')
    assert long.raw is None and long.data == text
    assert short.raw == b'{"id": "c"}'


def test_an_event_read_from_bytes_is_decoded_when_first_read() -> None:
    (event,) = SSEDecoder().feed(b'data: {"a": "\xc3\xa9\xff"}\nid: 1\n\n')
    by_hand = ServerSentEvent('{"a": "\u00e9\ufffd"}', "1")
    assert event.raw == b'{"a": "\xc3\xa9\xff"}'
    assert event == by_hand and by_hand == event and hash(event) == hash(by_hand) and repr(event) == repr(by_hand)
    assert copy.copy(event) == event and dataclasses.replace(event, id="2").data == by_hand.data
    with pytest.raises(AttributeError):
        event.nothing  # type: ignore[attr-defined]  # noqa: B018
