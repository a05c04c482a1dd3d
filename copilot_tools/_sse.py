"""An incremental, tolerant decoder for Copilot's event streams.

A spec-conforming SSE parser drops most of what Copilot sends as the reference prints
it: one ``data: {`` line, then the JSON spread over bare continuation lines, then
``id:137``, then a blank line, and the very last event often without that blank line.
This decoder accepts that layout and standard framing alike:

- lines end with CRLF, LF or CR, split anywhere across chunks (a CR at a chunk's end
  ends the line; an LF at the start of the next chunk then belongs to it);
- bytes are decoded incrementally, so a chunk boundary inside a UTF-8 character is fine;
- ``:`` starts a comment; ``data``/``id``/``event``/``retry`` are fields as in the spec;
- any other line, while the event already has data, continues that data (the
  reference's layout); before any data it is an unknown field and ignored, as in the spec;
- a blank line dispatches; at the end of the stream a pending event is dispatched only
  if its data is complete JSON (a deviation from the spec, which would drop it).

``iter_json_objects`` then splits an event's data into JSON values, because Work IQ has
been seen to send several concatenated objects in one event.

Time is linear in the bytes, whatever the chunking: a chunk is scanned once, an unfinished
line waits as a list of pieces (joined once, when its end arrives) instead of a growing
string scanned again on every chunk, and runs of continuation lines are copied as one slice
rather than line by line (see ``_complete_lines``). A chunk that cannot end an event is only
held, as bytes, until one that may (see ``feed``), and an event in the shape Copilot sends is
read whole, with a few C-level scans (see ``_whole_events``).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from copilot_tools import _json
from copilot_tools.errors import ServiceError

MAX_EVENT_BYTES = 16 * 1024 * 1024
#: A ``retry`` field longer than this (milliseconds: 12 digits is 30 years) is ignored like junk.
_MAX_RETRY_DIGITS = 12
_FIELD_BY_INITIAL = {"d": "data", "i": "id", "e": "event", "r": "retry"}
# Where the lines that are not continuation lines start: fields, comments and blank lines. The
# pattern begins with a literal LF so that the regex engine skips ahead to each LF in C; the
# same test with MULTILINE's ``^`` is tried at every character and is ten times slower.
_NEXT_SPECIAL_LINE = re.compile(r"\n(?=data|id|event|retry|:|\n|\Z)")
_FIRST_LINE_SPECIAL = re.compile(r"data|id|event|retry|:|\n|\Z")
_BLANK_LINE = re.compile(rb"\n\n")  # as a regular expression: faster than bytes.find for two bytes
_JOIN_BYTES_UP_TO = 64  # held chunks; more are decoded one by one (see _read_pieces)


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event; ``id`` persists across events as the spec says.

    ``parsed`` holds the JSON values of ``data`` when the decoder already had to parse them
    (the last event of a stream without a closing blank line), so nobody parses them twice.
    """

    data: str
    id: str | None = None
    event: str | None = None
    retry: int | None = None
    parsed: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)


class SSEDecoder:
    """Feed bytes in, get whole events out. One instance per stream."""

    def __init__(self, *, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._split_character = False  # the incremental decoder holds the start of a character
        self._pending: list[str] = []  # pieces of the line not yet ended
        self._pending_size = 0
        self._skip_lf = False  # the last chunk ended in CR: an LF next is the same line end
        self._data: list[str] = []
        self._size = 0
        self._event: str | None = None
        self._retry: int | None = None
        self._last_id: str | None = None
        self._max = max_event_bytes
        self._held: list[bytes] = []  # chunks not read yet: they cannot complete an event (see feed)
        self._held_lines = 0  # how many held chunks, from the first, end at least one line
        self._room = max_event_bytes  # bytes that may be held before a size limit could be crossed
        self._ends_in_lf = False  # the last chunk fed ended with LF

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk`` and return the events it completed (possibly none)."""
        # A chunk that cannot end an event is only held, and read together with the chunk that may
        # end it: reading does not depend on where the chunks were cut, so the events are the same.
        # It cannot end one when it holds no CR (which may end lines in any way), no blank line (no
        # LF LF, none across the boundary with the chunk before) and too few bytes for any size
        # limit to be crossed (characters never outnumber bytes). Reading each 256-byte chunk as it
        # came cost 1.5-2.3 us a chunk (the reference layout at 256-byte chunks: 2.9x json.loads of
        # its JSON, against 0.7x at 4 KiB). The tests are ordered by cost: a one-byte find is a
        # memchr (~0.1 us), and the search for LF LF, 3-5x slower, starts at the first LF, if any.
        room = self._room - len(chunk)
        if room >= 0 and chunk.find(b"\r") == -1:
            lf = chunk.find(b"\n")
            if lf == -1:
                if chunk:
                    self._held.append(chunk)
                    self._room = room
                    self._ends_in_lf = False
                return []
            if (lf or not self._ends_in_lf) and _BLANK_LINE.search(chunk, lf) is None:
                self._held.append(chunk)
                self._held_lines = len(self._held)
                self._room = room
                self._ends_in_lf = chunk[-1] == 0x0A
                return []
        self._ends_in_lf = chunk[-1:] == b"\n"
        events = self._read_held(chunk)
        # (less the bytes of a character the incremental decoder may hold: up to three)
        self._room = self._max - self._size - self._pending_size - 3
        return events

    def _read_held(self, chunk: bytes) -> list[ServerSentEvent]:
        """The held chunks, then ``chunk``, read as if each had been read when it came.

        One read of them all, except when ``chunk`` ends no line (it came when a size limit may be
        crossed): then the held chunks that end lines are read first, so that the check of the
        unfinished line's size sees it grow by the chunks that do not end it, as chunk by chunk.
        """
        held, lines = self._held, self._held_lines
        if not held:
            return self._read(chunk)
        self._held, self._held_lines = [], 0
        held.append(chunk)
        if lines and chunk.find(b"\n") == -1 and chunk.find(b"\r") == -1:
            events = self._read_pieces(held[:lines])
            return events + self._read_pieces(held[lines:])
        return self._read_pieces(held)

    def _read_pieces(self, pieces: list[bytes]) -> list[ServerSentEvent]:
        """``pieces`` read as one chunk.

        Many pieces (a big event) are decoded one by one, as each chunk was before it was held, and
        their text joined, not joined as bytes and then decoded: one copy of a 16 MB event fewer,
        which in memory not yet touched costs about as much as json.loads of it.
        """
        if len(pieces) <= _JOIN_BYTES_UP_TO:
            return self._read(b"".join(pieces))
        texts = [self._decode(piece) for piece in pieces]
        pieces.clear()  # (the bytes are not needed any more: less memory at the peak)
        events = self._long_data_line(texts)
        return self._feed_text("".join(texts)) if events is None else events

    def _long_data_line(self, texts: list[str]) -> list[ServerSentEvent] | None:
        """``texts`` read when they begin with a ``data`` line that runs over several of them; else None.

        Such a line's value is joined straight from the pieces, and read as ``_line`` reads a data
        line; the rest, from its line end on, is read as any text. Joined whole first, the value
        was copied twice (the join, then the event's slice of it): a 16 MB event on one line, read
        with the assembler, took 17.5 ms in 4 KiB chunks and 34.5 ms in 1.5 KiB ones, now 14.3 ms and
        18.9 ms (json.loads of its JSON: ~6 ms). The line may have begun in an earlier read (the
        unfinished line's pieces, as when an event starts inside a chunk): they are its start. It
        holds only when that line ends with LF: a CR before it ends the line, or is half of a CRLF.
        tests/property/test_sse_long_data_line.py holds it to reading the joined text.
        """
        # (Pending pieces hold no line end: _feed_text made every CR an LF and kept only what follows the last.)
        first = "".join([*self._pending, texts[0]]) if self._pending else texts[0]
        if (
            self._skip_lf or not first.startswith("data:") or len(first) < 6  # (its space may follow)
            or "\n" in first or "\r" in first
        ):
            return None
        for index in range(1, len(texts)):
            text = texts[index]
            end = text.find("\n")
            if text.find("\r", 0, len(text) if end == -1 else end) != -1:
                return None
            if end != -1:
                break
        else:
            return None  # no line end yet
        begin = 6 if first.startswith(" ", 5) else 5
        self._pending, self._pending_size = [], 0
        self._append("".join([first[begin:], *texts[1:index], text[:end]]))
        del texts[:index]
        texts[0] = text[end + 1 :]
        return self._feed_text("".join(texts))

    def _read(self, chunk: bytes) -> list[ServerSentEvent]:
        return self._feed_text(self._decode(chunk))

    def _decode(self, chunk: bytes) -> str:
        if not self._split_character:
            # The fast path: a chunk that is whole UTF-8 by itself decodes in one C call, several
            # times faster than the incremental decoder's Python-level wrapper. It gives the same
            # text; only a chunk that ends inside a character (or holds invalid bytes) needs the
            # incremental decoder, which then keeps the partial character for the next chunk.
            try:
                return chunk.decode("utf-8")
            except UnicodeDecodeError:
                pass
        text = self._text.decode(chunk, final=False)
        self._split_character = bool(self._text.getstate()[0])
        return text

    def close(self) -> list[ServerSentEvent]:
        """End of stream: flush the last line and a pending event if it is whole JSON."""
        events = self._read_held(b"")
        events += self._feed_text(self._text.decode(b"", final=True))
        if self._pending:
            line = "".join(self._pending)
            self._pending, self._pending_size = [], 0
            events.extend(self._complete_lines(line, len(line)))
        if self._data:
            data = "\n".join(self._data)
            parsed = _parse_whole(data)
            if parsed is not None:
                events.append(self._dispatch(parsed))
            else:
                self._reset()
        return events

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        if self._skip_lf and text:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        if not text:
            return []
        if "\r" in text:
            self._skip_lf = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        last = text.rfind("\n")
        if last == -1:  # no line ends here: keep the piece, copy nothing
            self._pending.append(text)
            self._pending_size += len(text)
            if self._pending_size > self._max:
                raise ServiceError("The event stream sent a line larger than the decoder accepts.")
            return []
        # The complete lines are text[:last], read in place rather than copied (a copy of a 16 MB
        # event costs ~5 ms in fresh memory, close to json.loads of it): after the unfinished line's
        # pieces, if any, they are one join.
        lines, end = text, last
        if self._pending:
            self._pending.append(text)
            lines = "".join(self._pending)
            end = len(lines) - len(text) + last
        rest = text[last + 1 :]
        self._pending, self._pending_size = ([rest], len(rest)) if rest else ([], 0)
        return self._complete_lines(lines, end)

    def _complete_lines(self, text: str, length: int) -> list[ServerSentEvent]:
        """Every line of ``text[:length]`` (lines joined by LF, the last one ended too)."""
        events, position = self._whole_events(text, length)
        starts = [match.end() for match in _NEXT_SPECIAL_LINE.finditer(text, position, length)]
        if _FIRST_LINE_SPECIAL.match(text, position, length):
            starts.insert(0, position)
        for start in starts:
            if start > position:
                self._continuation(text[position : start - 1])
            end = text.find("\n", start, length)
            if end == -1:
                end = length
            event = self._line(text, start, end)
            if event is not None:
                events.append(event)
            position = end + 1
        if position < length:
            self._continuation(text[position:length])
        return events

    def _whole_events(self, text: str, length: int) -> tuple[list[ServerSentEvent], int]:
        """The events at the start of ``text[:length]`` in the shape Copilot sends, and where they end.

        The shape: a ``data:`` line, the continuation lines of the reference's layout, an optional
        ``id:`` line, then the blank line. Each is read with a few C-level scans: a memchr for the
        end of the data line, one search for the next special line (``_NEXT_SPECIAL_LINE``), and
        the data is then one slice, exactly what the line-by-line reading would join. Any other
        shape (an event name, a comment, two data lines, "id" without a colon) stops here and is
        read line by line, as is everything when an event is already under way. Why: line by
        line, the captured stream's ~1.3 KB events cost 5.8 us each, 1.5x json.loads of their
        JSON; a regular expression over the whole event still stepped through every character in
        Python's engine (~1 ns each: 4 ms for one 4 MB line, 3x json.loads of it).
        """
        events: list[ServerSentEvent] = []
        position = 0
        while not self._data and self._event is None and text.startswith("data:", position, length):
            begin = position + 6 if text.startswith(" ", position + 5, length) else position + 5
            end = text.find("\n", begin, length)
            if end == -1:
                break
            special = _NEXT_SPECIAL_LINE.search(text, end, length)
            if special is None:  # the lines end inside the data: the event goes on in the next chunk
                break
            data_end = special.start()
            line = data_end + 1  # the special line after the data
            ident: str | None = None
            if text.startswith("id:", line, length):
                line_end = text.find("\n", line, length)
                if line_end == -1:
                    break
                value = line + 4 if text.startswith(" ", line + 3, length) else line + 3
                ident = text[value:line_end]
                line = line_end + 1
            if line < length and text[line] != "\n":
                break  # another field or a comment: not this shape
            after = line + 1 if line < length else line
            if after - position > self._max:
                break
            if ident is not None and "\x00" not in ident:
                self._last_id = ident or None
            events.append(ServerSentEvent(text[begin:data_end], self._last_id, None, self._retry))
            position = after
        return events, position

    def _continuation(self, lines: str) -> None:
        """One or more lines that are neither fields nor blank, taken as one slice."""
        if self._data:  # continuation lines of the reference's layout
            self._append(lines)
        # before any data they are unknown fields, ignored as the spec says

    def _line(self, text: str, start: int, end: int) -> ServerSentEvent | None:
        """The line ``text[start:end]``, read without copying it first (it may be 16 MB)."""
        if start == end:
            if self._data:
                return self._dispatch()
            self._event = None
            return None
        # The field name by its first character, then one C-level comparison: several times
        # cheaper per line than a regular-expression match and its group.
        name = _FIELD_BY_INITIAL.get(text[start])
        if name is None:  # ":" (a comment) is the only other special line
            return None
        after = start + len(name)
        if not text.startswith(name, start, end) or (after < end and text[after] != ":"):
            self._continuation(text[start:end])  # "dataX..." and the like: an ordinary line after all
            return None
        begin = after + 1 if after < end else end
        if begin < end and text[begin] == " ":
            begin += 1
        value = text[begin:end]
        if name == "data":
            self._append(value)
        elif name == "id":
            if "\x00" not in value:
                self._last_id = value or None
        elif name == "event":
            self._event = value or None
        elif value.isascii() and value.isdigit() and len(value) <= _MAX_RETRY_DIGITS:
            self._retry = int(value)  # str.isdigit alone admits "²" and 5,000 digits, which int() refuses
        return None

    def _append(self, value: str) -> None:
        self._size += len(value) + 1
        if self._size > self._max:
            raise ServiceError("An event in the stream is larger than the decoder accepts.")
        self._data.append(value)

    def _dispatch(self, parsed: tuple[Any, ...] | None = None) -> ServerSentEvent:
        data = self._data[0] if len(self._data) == 1 else "\n".join(self._data)
        event = ServerSentEvent(data, self._last_id, self._event, self._retry, parsed)
        self._reset()
        return event

    def _reset(self) -> None:
        self._data = []
        self._size = 0
        self._event = None


def _parse_whole(data: str) -> tuple[Any, ...] | None:
    """The JSON values of ``data``, or None when it is not whole JSON."""
    if not data.strip():
        return None
    try:
        return tuple(iter_json_objects(data))
    except ValueError:
        return None


def iter_json_objects(data: str) -> Iterator[Any]:
    """Every JSON value in ``data``, which may hold several back to back.

    Raises ``ValueError`` (``json.JSONDecodeError``) when any part is not JSON. Values come
    bounded in depth and with encodable strings (see ``_json``).
    """
    return _json.iter_values(data)
