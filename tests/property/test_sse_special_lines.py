"""Property: the special lines inside a pretty event are found as reading line by line finds them.

The decoder reads an event in the shape Copilot sends in one step, finding the end of its data by
the LFs followed by a byte a special line (a field, a comment, a blank line) may start with, each
then tested (``_sse._MAY_BE_SPECIAL_AFTER_LF``). Whatever the lines start with (letters the search
takes for a field's start, fields, comments, blank lines, line ends of every kind) and wherever the
chunks are cut, the events and the errors must be those of reading the text line by line.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.property.test_sse_long_data_line import read

LINES = ['  "a": 1,', "}", "{", "do", "fine", "retro", "identity", "ever", "data", "data: {}", "id: 4", "id:",
         "event: e", "retry: 9", ": c", ":", "", "  ]", "é😀", "r", "i", "dataX"]
ENDS = ["\n", "\n", "\n", "\r\n", "\r"]


@st.composite
def pretty_events(draw: st.DrawFn) -> bytes:
    lines = ["data: {", *draw(st.lists(st.sampled_from(LINES), max_size=12)), "}"]
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from(["id:7", "id: 8 ", "id:\x00"])))
    end = draw(st.sampled_from(ENDS))
    return (end.join(lines) + end + (end if draw(st.integers(0, 3)) else "")).encode()


@settings(max_examples=300, deadline=None)
@given(events=st.lists(pretty_events(), min_size=1, max_size=4), size=st.sampled_from([1, 2, 3, 7, 16, 64, 4096]))
def test_special_lines_in_pretty_events_read_as_line_by_line(events: list[bytes], size: int) -> None:
    body = b"".join(events)
    limit = 16 * 1024 * 1024
    assert read(body, size, limit, joined=False) == read(body, size, limit, joined=True)
