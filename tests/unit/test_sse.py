"""The event-stream decoder accepts every layout Copilot has been seen to send."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot_tools.errors import ServiceError
from copilot_tools._sse import ServerSentEvent, SSEDecoder, iter_json_objects
from tests import reference


def decode(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events + decoder.close()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


SNAPSHOTS = [
    {"id": "c1", "turnCount": 0, "messages": [{"id": "m", "text": "Héllo 📅 wörld"}]},
    {"id": "c1", "messages": []},
]


def pretty(objects: list[dict], *, newline: str = "\n", last_blank: bool = False) -> bytes:
    parts = []
    for number, obj in enumerate(objects):
        parts.append("data: " + json.dumps(obj, indent=2, ensure_ascii=False) + f"\nid:{number}")
    text = "\n\n".join(parts) + ("\n\n" if last_blank else "")
    return text.replace("\n", newline).encode("utf-8")


def compact(objects: list[dict], *, newline: str = "\n") -> bytes:
    text = "".join(f"data: {json.dumps(o, ensure_ascii=False)}\nid: {n}\n\n" for n, o in enumerate(objects))
    return text.replace("\n", newline).encode("utf-8")


@pytest.mark.parametrize("number", range(4))
def test_reference_layout_decodes_every_event(number: int) -> None:
    _, body = reference.stream_examples()[number]
    events = decode([body])
    assert len(events) == 3
    assert [json.loads(e.data)["turnCount"] for e in events][-1] > 0
    assert events[-1].id is not None  # the last event has no blank line after its id


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("layout", [pretty, compact])
def test_line_endings_and_layouts(layout, newline: str) -> None:
    events = decode([layout(SNAPSHOTS, newline=newline)])
    assert [json.loads(e.data) for e in events] == SNAPSHOTS
    assert events[0].id == "0"


def test_multi_line_data_joins_with_newlines_and_comments_are_skipped() -> None:
    body = b': keep-alive\nevent: update\ndata: {"a":\ndata: 1}\n\nretry: 5\ndata: 2\n\n'
    events = decode([body])
    assert [(e.data, e.event) for e in events] == [('{"a":\n1}', "update"), ("2", None)]
    assert events[1].retry == 5


def test_unterminated_last_event_is_kept_only_when_it_is_whole_json() -> None:
    assert [e.data for e in decode([b'data: {"a": 1}'])] == ['{"a": 1}']
    assert decode([b'data: {"a": 1}\n\ndata: {"b":']) == [ServerSentEvent('{"a": 1}')]


def test_concatenated_objects_in_one_event() -> None:
    (event,) = decode([b'data: {"a": 1}{"b": 2}\n\n'])
    assert list(iter_json_objects(event.data)) == [{"a": 1}, {"b": 2}]
    with pytest.raises(ValueError):
        list(iter_json_objects('{"a": 1}{"b"'))


def test_an_oversized_event_is_refused() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    with pytest.raises(ServiceError):
        decoder.feed(b"data: " + b"x" * 200 + b"\n")


def test_a_long_single_line_event_over_64_kib() -> None:
    obj = {"id": "c", "messages": [{"text": "w" * 200_000}]}
    (event,) = decode(split(compact([obj]), [1, 70_000, 150_000]))
    assert json.loads(event.data) == obj


@settings(max_examples=150, deadline=None)
@given(
    layout=st.sampled_from([pretty, compact]),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30),
)
def test_every_split_decodes_to_the_same_events(layout, newline: str, cuts: list[int]) -> None:
    body = layout(SNAPSHOTS * 2, newline=newline)
    assert decode(split(body, cuts)) == decode([body])


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=50_000), min_size=1, max_size=40))
def test_every_split_of_a_reference_stream_decodes_the_same(cuts: list[int]) -> None:
    _, body = reference.stream_examples()[0]
    assert decode(split(body, cuts)) == decode([body])


def test_split_inside_a_utf8_character() -> None:
    body = compact(SNAPSHOTS)
    index = body.index("📅".encode()) + 2
    assert decode([body[:index], body[index:]]) == decode([body])


def test_a_cr_ending_one_chunk_and_an_lf_starting_the_next_are_one_line_end() -> None:
    # A second line end here would be a blank line, dispatching the event too early.
    events = decode([b'data: {"a":\r', b"\n", b'data: 1}\r', b"\n\r\n"])
    assert [e.data for e in events] == ['{"a":\n1}']


def test_the_unterminated_last_event_carries_its_parsed_json() -> None:
    (event,) = decode([b'data: {"a": [1, 2]}\nid: 9'])
    assert event.parsed == ({"a": [1, 2]},) and event.id == "9"
    assert event == ServerSentEvent('{"a": [1, 2]}', "9")  # what was parsed is not part of equality


def test_json_nested_thousands_deep_is_pruned_not_a_recursion_error() -> None:
    data = '{"text": "kept", "card": ' + "[" * 5000 + "]" * 5000 + "}"
    (value,) = iter_json_objects(data)
    assert value["text"] == "kept"


def test_a_blank_line_across_a_chunk_boundary_after_a_chunk_that_ended_an_event() -> None:
    # The first chunk is read (it ends an event); the LF ending it and the LF starting the next
    # chunk are a blank line, so the second event must come out of the second chunk's feed.
    decoder = SSEDecoder()
    assert [e.data for e in decoder.feed(b"data: 1\n\ndata: 2\n")] == ["1"]
    assert [e.data for e in decoder.feed(b"\ndata: 3")] == ["2"]


def test_an_oversized_line_is_refused_on_the_chunk_that_makes_it_too_long() -> None:
    # The chunks before are held unread (they cannot end an event); the line they leave unfinished
    # still counts every later chunk that does not end it, as when each chunk was read on arrival.
    decoder = SSEDecoder(max_event_bytes=12)
    assert decoder.feed(b"\niddata:idx") == []
    with pytest.raises(ServiceError, match="line larger"):
        decoder.feed(b"iddata:data:")
    decoder = SSEDecoder(max_event_bytes=12)
    assert decoder.feed(b"id: 1\nid\xc3") == []  # the decoder holds half a character
    with pytest.raises(ServiceError, match="line larger"):
        decoder.feed(b": cid:retr")
