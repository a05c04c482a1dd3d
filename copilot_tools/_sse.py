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

``json_values`` (inlined in ``streaming.StreamAssembler.feed``) and ``iter_json_objects`` then
split an event's data into JSON values, because Work IQ has been seen to send several
concatenated objects in one event.

Time is linear in the bytes, whatever the chunking. Chunks are held, unread, until a blank line
arrives (see ``feed``); the events up to it are then read from the bytes, one step each when in the
shape Copilot sends (see ``_whole_events``), anything else line by line: a chunk is scanned once, an
unfinished line waits as a list of pieces (joined once, when its end arrives) instead of a growing
string scanned again on every chunk, and runs of continuation lines are copied as one slice rather
than line by line (see ``_complete_lines``).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic_core import from_json

from copilot_tools import _json
from copilot_tools.errors import ServiceError

MAX_EVENT_BYTES = 16 * 1024 * 1024
#: A ``retry`` field longer than this (milliseconds: 12 digits is 30 years) is ignored like junk.
_MAX_RETRY_DIGITS = 12
_FIELD_BY_INITIAL = {"d": "data", "i": "id", "e": "event", "r": "retry"}
# Where the lines that are not continuation lines start: fields, comments and blank lines. The
# pattern begins with a literal LF so that the regex engine skips ahead to each LF in C; the
# same test with MULTILINE's ``^`` is tried at every character and is ten times slower.
_SPECIAL_LINE_AFTER_LF = r"\n(?=data|id|event|retry|:|\n|\Z)"
_NEXT_SPECIAL_LINE = re.compile(_SPECIAL_LINE_AFTER_LF)
# (in bytes) Where a special line begins, and the end of an event in the shape Copilot sends.
_SPECIAL_AFTER_LF = re.compile(_SPECIAL_LINE_AFTER_LF.encode())
# An LF before a line that may be special, by its first byte (``_SPECIAL_AFTER_LF`` then says): one
# class test per LF instead of the lookahead's seven branches. Over the reference's pretty layout
# (41 KB, 552 lines) 16.6 us against 23.2 us; the scan for LF itself, a byte loop, is ~10 us of each.
_MAY_BE_SPECIAL_AFTER_LF = re.compile(rb"\n[\n:d-ir]")
_EVENT_TAIL = re.compile(rb"\n(?:id: ?([^\n]*)\n)?\n")  # at the LF ending the data: an id line, a blank line
_BLANK_LINE = re.compile(rb"\n\n")  # (a regular expression: 150 ns in a reference 256-byte chunk, bytes.find 230)
_blank_line = _BLANK_LINE.search  # (bound once: the one search of every chunk with an LF)
_FIRST_LINE_SPECIAL = re.compile(r"data|id|event|retry|:|\n|\Z")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event; ``id`` persists across events as the spec says.

    ``parsed`` holds the JSON values of ``data`` when the decoder already had to parse them
    (the last event of a stream without a closing blank line), so nobody parses them twice.
    ``raw`` holds the bytes ``data`` is decoded from (with ``errors="replace"``), when the decoder
    read the event in one piece and it is not long: a JSON parser reads them as they came, and
    ``data`` is only decoded when first read (see ``streaming.StreamAssembler.feed``, which reads
    it for odd events only). On the reference layout decoding every event cost 11 us of the
    decoder's ~50 (its characters past ASCII make each a two-byte string), and parsing the text
    16 us more than parsing the bytes (pydantic's parser first made the text UTF-8 again).
    """

    data: str
    id: str | None = None
    event: str | None = None
    retry: int | None = None
    parsed: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)
    raw: bytes | None = field(default=None, compare=False, repr=False)

    if not TYPE_CHECKING:  # (hidden from mypy, which would take every attribute name as valid)

        def __getattr__(self, name: str) -> Any:
            """Only reached for an unset slot: ``data`` of an event made from bytes, decoded once, here."""
            if name == "data":
                raw = _get_raw(self)
                if raw is not None:
                    data = raw.decode("utf-8", "replace")
                    _set_data(self, data)
                    return data
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


_SET_FIELD = {name: vars(ServerSentEvent)[name].__set__ for name in ("data", "id", "event", "retry", "parsed", "raw")}
_set_data, _set_id, _set_event, _set_retry, _set_parsed, _set_raw = _SET_FIELD.values()
_get_raw = vars(ServerSentEvent)["raw"].__get__
# Up to this many bytes an event keeps its ``raw`` bytes (a copy): a snapshot is a few kilobytes; a
# 16 MB event is not held twice over for it (and pydantic's parser builds long strings slowly anyway).
_RAW_UP_TO = 1 << 16
#: Up to this many characters (or bytes) an event's JSON is parsed caching only its keys (see ``json_values``).
KEYS_ONLY_UP_TO = 1 << 16


def _new_event(data: str | None, ident: str | None, retry: int | None, raw: bytes | None = None) -> ServerSentEvent:
    """``ServerSentEvent(data, ident, None, retry, raw=raw)``, made in about half the time.

    With ``raw`` and no ``data``, the data is left to be decoded from ``raw`` when first read.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, looked up anew
    each time: 1.2 us an event, against 0.6 us through the slots' own setters here (a stream event's
    whole decoding is ~1.5 us, json.loads of a 1.3 KB one ~3 us).
    """
    event: ServerSentEvent = object.__new__(ServerSentEvent)
    if data is not None:
        _set_data(event, data)
    _set_id(event, ident)
    _set_event(event, None)
    _set_retry(event, retry)
    _set_parsed(event, None)
    _set_raw(event, raw)
    return event


_Out = TypeVar("_Out")


class EventDecoder(Generic[_Out]):
    """Feed bytes in, get what ``_dispatched`` makes of the whole events out. One instance per stream.

    ``SSEDecoder`` gives the events themselves; ``streaming.StreamReader`` their stream events. The
    reader is a decoder rather than one's caller because most chunks complete no event: then one
    call (``feed``) costs 0.25 us on the reference layout's 256-byte chunks, two cost 0.32 us (with
    161 chunks, 11 us of the stream's ~260).
    """

    def __init__(self, *, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._text: codecs.IncrementalDecoder | None = None  # made when first needed (0.4 us a stream otherwise)
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
        self._held: list[bytes] = []  # chunks not read yet, CR made LF: no event ends in them (see feed)
        self._room = max_event_bytes  # bytes that may be held before a size limit could be crossed

    def _dispatched(self, events: list[ServerSentEvent]) -> list[_Out]:
        """What ``feed`` and ``close`` return for the events a chunk (or the end) completed."""
        raise NotImplementedError

    def feed(self, chunk: bytes) -> list[_Out]:
        """Decode ``chunk`` and return what the events it completed (possibly none) make."""
        # Chunks are only held until a blank line arrives; then every event up to the last blank
        # line is read at once, most in one step each (see _whole_events), and what follows stays
        # held. The events are those of reading each chunk when it came: none is dispatched but on a
        # blank line, and no size limit can be crossed while the held bytes fit in ``_room``
        # (characters never outnumber bytes); past it, the chunk is read as it came (_read_exactly).
        # So a chunk that ends no event costs a memchr or two (and a search for LF LF when it holds an
        # LF) and an append: 0.1-0.3 us. The decoder on the reference layout in 256-byte chunks took
        # 142 us (68 us in 64 KiB ones) when each chunk with an LF was read on arrival; now 90 us (52 us).
        # (``0x0D in chunk`` is a memchr, 25 ns; ``b"\r" in chunk`` first fails to read b"\r" as a byte's
        # value, raising and clearing an exception inside: 220 ns.)
        if self._skip_lf or 0x0D in chunk:
            chunk = self._lf_only(chunk)
        room = self._room - len(chunk)
        if room < 0:
            return self._dispatched(self._read_exactly(chunk))
        if 0x0A in chunk:  # (most chunks of a compact stream stop here)
            blank = _blank_line(chunk)
            if blank is not None:  # (then the last one: the events complete at once)
                return self._dispatched(self._read_held(chunk, chunk.rfind(b"\n\n", blank.start()) + 2))
            if chunk.startswith(b"\n") and (self._held[-1].endswith(b"\n") if self._held else self._lf_ends_event()):
                # (a blank line across chunks: its first LF ended the one before)
                return self._dispatched(self._read_held(chunk, 1))
        if chunk:
            self._held.append(chunk)
            self._room = room
        return []

    def _lf_only(self, chunk: bytes) -> bytes:
        """``chunk`` with every line end made one LF: CRLF and CR, and a CR ending the chunk before.

        Line ends are ASCII, so this is the same before decoding as after (a cut character before a CR
        is replaced all the same); the rest of the decoder sees only LF.
        """
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._skip_lf = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return chunk

    def _read_exactly(self, chunk: bytes) -> list[ServerSentEvent]:
        """The held bytes, then ``chunk``, read as if each chunk had been read when it came.

        One read of them all, except when ``chunk`` ends no line (a size limit may be crossed): then
        the held lines are read first, so that the check of the unfinished line's size sees it grow
        by what does not end it, as chunk by chunk (only a text without a line end is checked).
        """
        if self._held:
            held = b"".join(self._held)
            self._held = []
            lines = held.rfind(b"\n") + 1
            if lines and b"\n" not in chunk:
                events = self._read(held[:lines])
                events += self._read(held[lines:] + chunk)
            else:
                events = self._read(held + chunk)
        else:
            events = self._read(chunk)
        self._room = self._max - self._size - self._pending_size - 3  # (3: a character's bytes held by the decoder)
        return events

    def _read_held(self, chunk: bytes, cut: int) -> list[ServerSentEvent]:
        """The held bytes and ``chunk[:cut]``, which ends a blank line; the rest of ``chunk`` is held."""
        held = self._held
        held.append(chunk)
        data = b"".join(held)  # (one piece is not copied)
        cut += len(data) - len(chunk)
        rest = data[cut:]
        self._held = [rest] if rest else []
        # (``_under_way`` inline, and no memoryview unless a piece is read line by line: 0.2 us of an event)
        if self._data or self._event is not None or self._pending or self._split_character:
            events = self._read(data[:cut])  # read as one chunk
        else:
            events = []
            position = self._whole_events(data, 0, cut, events)
            while position < cut:
                # Events in another shape (and blank lines), up to the next that may be in it: line by line.
                end = data.find(b"\n\ndata:", position, cut)
                end = cut if end == -1 else end + 2
                with memoryview(data) as view:
                    events += self._feed_text(str(view[position:end], "utf-8", "replace"))
                position = self._whole_events(data, end, cut, events)
        self._room = self._max - 3 - len(rest)  # (all read: no event, no line, no character under way)
        return events

    def _lf_ends_event(self) -> bool:
        """Whether the last read ended a line of an event under way (no line or character left unfinished):
        then an LF next ends the event."""
        return bool(self._data) and not self._pending and not self._split_character

    def _under_way(self) -> bool:
        """Whether the last read left an event, a line or a character unfinished (then bytes are read as text)."""
        return bool(self._data or self._event is not None or self._pending or self._split_character)

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
        if self._text is None:
            self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = self._text.decode(chunk, final=False)
        self._split_character = bool(self._text.getstate()[0])
        return text

    def close(self) -> list[_Out]:
        """End of stream: flush the last line and a pending event if it is whole JSON."""
        return self._dispatched(self._last_events())

    def _last_events(self) -> list[ServerSentEvent]:
        if self._held and not self._under_way():
            last = self._last_event()
            if last is not None:
                return last
        events = self._read_exactly(b"")
        if self._text is not None:  # (else no character was ever left unfinished)
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

    def _last_event(self) -> list[ServerSentEvent] | None:
        """The held bytes when they are one event in the shape Copilot sends but for its blank line; else None.

        The stream's last event often comes so (the reference prints it without): it is read in one
        step, as if the stream's end were its blank line, and kept if its data is whole JSON. Line by
        line it cost ~8 us more for the captured stream's last event (4 KB).
        """
        held = b"".join(self._held)
        held += b"\n" if held.endswith(b"\n") else b"\n\n"  # (no blank line among them: see feed)
        events: list[ServerSentEvent] = []
        if self._whole_events(held, 0, len(held), events) != len(held):
            return None  # (nothing was read: the state is as it was)
        self._held = []
        (event,) = events
        parsed = self._values_of_last(event)
        if parsed is None:
            return []
        if parsed:  # (empty: whole JSON, left for the reader to read, see StreamReader)
            _set_parsed(event, parsed)  # (made above, seen by nobody yet: as if made with it)
        return events

    def _values_of_last(self, event: ServerSentEvent) -> tuple[Any, ...] | None:
        """The JSON values of the stream's last event, read without its blank line; None when not whole JSON."""
        return _parse_whole(event.data, event.raw)

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        """Decoded text (line ends made LF already) read line by line."""
        last = text.rfind("\n")
        if last == -1:  # no line ends here: keep the piece, copy nothing
            if text:
                self._pending.append(text)
                self._pending_size += len(text)
                if self._pending_size > self._max:
                    raise ServiceError("The event stream sent a line larger than the decoder accepts.")
            return []
        # The complete lines are text[:last], read in place rather than copied: after the unfinished
        # line's pieces, if any, they are one join.
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
        events: list[ServerSentEvent] = []
        position = 0
        starts = [match.end() for match in _NEXT_SPECIAL_LINE.finditer(text, 0, length)]
        if _FIRST_LINE_SPECIAL.match(text, 0, length):
            starts.insert(0, 0)
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

    def _whole_events(self, held: bytes, position: int, length: int, events: list[ServerSentEvent]) -> int:
        """The events from ``position`` in ``held[:length]`` in the shape Copilot sends, appended to ``events``.

        Returns where they end. The shape: a ``data:`` line, the continuation lines of the reference's
        layout, an optional ``id:`` line, then the blank line. Each is read in the bytes with a few
        C-level scans: a memchr for the end of the data line, one search for the next special line
        (``_MAY_BE_SPECIAL_AFTER_LF``, none when the id or blank line follows it), and the data is then
        one slice, decoded when first read (``ServerSentEvent.raw``), exactly what the line-by-line
        reading would join (every cut is next to an ASCII byte, where UTF-8 decoding splits cleanly).
        Any other shape (an event name, a comment, two data lines, "id" without a colon) stops here
        and is read line by line. Why: line by line, the captured stream's ~1.3 KB
        events cost 5.8 us each, 1.5x json.loads of their JSON; decoding the whole text first and
        then slicing it copied every event twice more (4 bytes a character in the captured stream,
        for one emoji).
        """
        while position < length:
            if not held.startswith(b"data:", position, length):
                break
            begin = position + 5
            # (the data line ends before ``length``: a region read here always ends with LF LF, so
            # ``begin`` is inside it, and an LF before ``length`` - 1 is found that starts a special
            # line; ``\Z`` never decides)
            if held[begin] == 0x20:
                begin += 1
            at = held.find(b"\n", begin, length)
            # The data line alone, then the id line or the blank line (Copilot's compact events):
            # its LF is the first special one, no search needed.
            tail = _EVENT_TAIL.match(held, at, length) if held[at + 1] in b"\ni" else None
            if tail is None:
                while True:
                    candidate = _MAY_BE_SPECIAL_AFTER_LF.search(held, at, length)
                    if candidate is None:
                        return position  # (not reached: see above)
                    at = candidate.start()
                    if _SPECIAL_AFTER_LF.match(held, at, length) is not None:
                        break  # the LF before the next special line: the data ends there
                    at += 1  # (a line such as "do": a continuation line after all)
                tail = _EVENT_TAIL.match(held, at, length)
            if tail is None or tail.end() - position > self._max:
                break  # another field or a comment: not this shape
            ident = tail.group(1)
            if ident is not None and b"\x00" not in ident:  # (an id with NUL is ignored, as the spec says)
                self._last_id = ident.decode("utf-8", "replace") or None
            if at - begin <= _RAW_UP_TO:
                events.append(_new_event(None, self._last_id, self._retry, held[begin:at]))  # (decoded when read)
            else:
                with memoryview(held) as view:  # (a 16 MB event is decoded where it lies, not copied first)
                    events.append(_new_event(str(view[begin:at], "utf-8", "replace"), self._last_id, self._retry))
            position = tail.end()
        return position

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


class SSEDecoder(EventDecoder[ServerSentEvent]):
    """Feed bytes in, get whole events out. One instance per stream."""

    def _dispatched(self, events: list[ServerSentEvent]) -> list[ServerSentEvent]:
        return events


def _parse_whole(data: str, raw: bytes | None = None) -> tuple[Any, ...] | None:
    """The JSON values of ``data`` (bounded as ``iter_json_objects`` bounds them), or None when it is not whole JSON.

    ``raw``: the bytes ``data`` was decoded from (see ``ServerSentEvent.raw``), parsed instead of it.
    """
    if not data or data.isspace():
        return None
    try:
        values, bounded, _ = json_values(data, raw)
    except ValueError:
        return None
    if not bounded:
        return (_json.bound(values[0], data),)
    return values


def json_values(text: str, raw: bytes | None = None) -> tuple[tuple[Any, ...], bool, bool]:
    """``_json.values_unbounded(text)`` in half the time for the usual event, and whether its strings are encodable.

    pydantic's JSON parser (``from_json``) parses a stream event in about half the time ``json.loads``
    takes (the benchmark's events: 38 us against 74 us). Where it succeeds, ``json.loads`` makes the
    same values (types, float rounding, key order, the last of duplicate keys alike); it refuses all
    that ``json.loads`` refuses, and more: a lone surrogate escape, a raw surrogate, several values back
    to back, nesting deeper than its limit (200). Those take ``_json``'s path, which decides everything.
    So the strings it makes hold no surrogate: nobody needs to test them again (the third item; False
    means unknown). Raises ``ValueError`` when ``text`` is not JSON. tests/property/test_stream_values.py
    holds the two to the same values. ``raw``: the bytes ``text`` was decoded from (with
    ``errors="replace"``), read by pydantic's parser instead of the text made UTF-8 again; where they
    are not UTF-8 it refuses them, and ``_json``'s path reads the text. Up to ``KEYS_ONLY_UP_TO``, only
    keys are cached (``cache_strings="keys"``): the same values, 0.2 us sooner for an emulator event of
    3 KB (3.0 us against 3.2), whose few short values rarely repeat; a big event's values repeat (a 4 MB
    one of 25,000 attributions: 9.8 ms against 7.4 with every short string cached).
    """
    data = text if raw is None else raw
    try:
        return (from_json(data, cache_strings="keys" if len(data) <= KEYS_ONLY_UP_TO else True),), False, True
    except (ValueError, TypeError):  # (TypeError: a raw surrogate, with which the text cannot be encoded)
        return (*_json.values_unbounded(text), False)


def iter_json_objects(data: str) -> Iterator[Any]:
    """Every JSON value in ``data``, which may hold several back to back.

    Raises ``ValueError`` (``json.JSONDecodeError``) when any part is not JSON. Values come
    bounded in depth and with encodable strings (see ``_json``).
    """
    return _json.iter_values(data)
