"""Property: a data line held over many chunks reads as before (``SSEDecoder._whole_events``).

Held chunks are read at once when a blank line arrives, and an event in the shape Copilot sends is
read from the bytes in one step. Whatever the body (line ends of every kind, fields and comments
after the line, multi-byte characters cut in half, a size limit crossed), the events and the errors
must be those of reading the text line by line, as before.
"""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot_tools import CopilotError
from copilot_tools._sse import SSEDecoder
from tests.property.strategies import mutated, stream_bodies

LINE_ENDS = ["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"]
AFTER = ["id:7", "id: 8", "event: x", ": note", "retry: 5", "data: {}", "  more", "", "dataX", "id:\x00"]
VALUE = ['{"a": "', *["w" * 120] * 8, "é", "😀", "\r", "\n", "\\n", '"}', " ", "data:"]


@st.composite
def long_lines(draw: st.DrawFn) -> bytes:
    prefix = draw(st.sampled_from(["data: ", "data:", "data:  "]))
    value = "".join(draw(st.lists(st.sampled_from(VALUE), min_size=12, max_size=40)))
    rest = "".join(draw(st.sampled_from(LINE_ENDS)) + draw(st.sampled_from(AFTER))
                   for _ in range(draw(st.integers(0, 4))))
    before = draw(st.sampled_from(["", "", "", ": c\n", "event: e\n\n", "\n"]))
    return (before + prefix + value + rest).encode()


def read(body: bytes, size: int, limit: int, *, joined: bool) -> list[object]:
    decoder = SSEDecoder(max_event_bytes=limit)
    out: list[object] = []
    # (joined: no event is read in one step; all line by line)
    patch = mock.patch.object(SSEDecoder, "_whole_events", lambda self, held, at, *_: at) if joined else None
    try:
        if patch:
            patch.start()
        for start in range(0, len(body), size):
            out.extend(decoder.feed(body[start:start + size]))
        out.extend(decoder.close())
    except CopilotError as error:
        out.append((type(error).__name__, str(error)))
    finally:
        if patch:
            patch.stop()
    return out


@settings(max_examples=300, deadline=None)
@given(
    body=st.one_of(long_lines(), long_lines(), mutated(stream_bodies())),
    repeat=st.integers(1, 3),
    size=st.sampled_from([1, 5, 6, 7, 9, 16, 31]),
    limit=st.sampled_from([16 * 1024 * 1024] * 3 + [400, 5000]),
)
def test_a_data_line_over_many_chunks_reads_as_the_joined_text(body: bytes, repeat: int, size: int,
                                                                limit: int) -> None:
    body = body * repeat
    assert read(body, size, limit, joined=False) == read(body, size, limit, joined=True)


@pytest.mark.parametrize("body", [
    b"data: " + b"w" * 1000 + end + b"id: 1" + end + end + b"data: {}" + end + end
    for end in (b"\n", b"\r\n", b"\r")
] + [
    b"data:" + b"w" * 1000 + b"\r" + b"w" * 10 + b"\n\n",  # a CR ends the line before the LF
    "data: é😀".encode() * 300 + b"\n  more\n\n",  # characters cut between chunks; a continuation line
    b"data: " + b"w" * 1000 + b"\n: comment\nevent: e\n\n",
    (b"event: e\n\ndata: " + b"w" * 1000 + b"\n\n") * 2,  # the line begun inside a chunk read earlier
])
@pytest.mark.parametrize("size", [6, 7, 10])
@pytest.mark.parametrize("limit", [16 * 1024 * 1024, 900])
def test_long_data_lines_with_each_kind_of_line_end(body: bytes, size: int, limit: int) -> None:
    fast = read(body, size, limit, joined=False)
    assert fast == read(body, size, limit, joined=True)
    if limit > len(body):  # (which size error comes first depends on the chunks)
        assert fast == read(body, len(body), limit, joined=True)  # one chunk: read as a whole
