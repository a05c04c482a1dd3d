"""An incremental, tolerant decoder for Copilot's event streams.

A spec-conforming SSE parser drops most of what Copilot sends as the reference prints
it: one ``data: {`` line, then the JSON spread over bare continuation lines, then
``id:137``, then a blank line, and the very last event often without that blank line.
This decoder accepts that layout and standard framing alike:

- lines end with CRLF, LF or CR, split anywhere across chunks (a CR at a chunk's end
  waits for the next chunk to see whether an LF follows);
- bytes are decoded incrementally, so a chunk boundary inside a UTF-8 character is fine;
- ``:`` starts a comment; ``data``/``id``/``event``/``retry`` are fields as in the spec;
- any other line, while the event already has data, continues that data (the
  reference's layout); before any data it is an unknown field and ignored, as in the spec;
- a blank line dispatches; at the end of the stream a pending event is dispatched only
  if its data is complete JSON (a deviation from the spec, which would drop it).

``iter_json_objects`` then splits an event's data into JSON values, because Work IQ has
been seen to send several concatenated objects in one event.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from copilot_tools.errors import ServiceError

MAX_EVENT_BYTES = 16 * 1024 * 1024
_FIELD = re.compile(r"^(data|id|event|retry)(?::|$)")
_JSON = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event; ``id`` persists across events as the spec says."""

    data: str
    id: str | None = None
    event: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed bytes in, get whole events out. One instance per stream."""

    def __init__(self, *, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._data: list[str] = []
        self._size = 0
        self._event: str | None = None
        self._retry: int | None = None
        self._last_id: str | None = None
        self._max = max_event_bytes

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk`` and return the events it completed (possibly none)."""
        return self._feed_text(self._text.decode(chunk, final=False))

    def close(self) -> list[ServerSentEvent]:
        """End of stream: flush the last line and a pending event if it is whole JSON."""
        events = self._feed_text(self._text.decode(b"", final=True))
        if self._buffer:
            events.extend(self._line(self._buffer.rstrip("\r")))
            self._buffer = ""
        if self._data:
            data = "\n".join(self._data)
            if _is_complete_json(data):
                events.append(self._dispatch())
            else:
                self._reset()
        return events

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        if not text:
            return []
        buffer = self._buffer + text
        events: list[ServerSentEvent] = []
        start = 0
        length = len(buffer)
        while True:
            cr = buffer.find("\r", start)
            lf = buffer.find("\n", start)
            if cr == -1 and lf == -1:
                break
            if cr != -1 and (lf == -1 or cr < lf):
                if cr == length - 1:
                    break  # a lone CR at the end: wait to see whether LF follows
                end, next_start = cr, cr + 2 if buffer[cr + 1] == "\n" else cr + 1
            else:
                end, next_start = lf, lf + 1
            events.extend(self._line(buffer[start:end]))
            start = next_start
        self._buffer = buffer[start:]
        if len(self._buffer) > self._max:
            raise ServiceError("The event stream sent a line larger than the decoder accepts.")
        return events

    def _line(self, line: str) -> list[ServerSentEvent]:
        if line == "":
            return [self._dispatch()] if self._data else self._clear_fields()
        if line.startswith(":"):
            return []
        match = _FIELD.match(line)
        if match is None:
            if self._data:  # a continuation line of the reference's layout
                self._append(line)
            return []
        name = match.group(1)
        value = line[len(name) + 1 :] if len(line) > len(name) else ""
        value = value.removeprefix(" ")
        if name == "data":
            self._append(value)
        elif name == "id":
            if "\x00" not in value:
                self._last_id = value or None
        elif name == "event":
            self._event = value or None
        elif value.isdigit():
            self._retry = int(value)
        return []

    def _append(self, value: str) -> None:
        self._size += len(value) + 1
        if self._size > self._max:
            raise ServiceError("An event in the stream is larger than the decoder accepts.")
        self._data.append(value)

    def _dispatch(self) -> ServerSentEvent:
        event = ServerSentEvent("\n".join(self._data), self._last_id, self._event, self._retry)
        self._reset()
        return event

    def _clear_fields(self) -> list[ServerSentEvent]:
        self._event = None
        return []

    def _reset(self) -> None:
        self._data = []
        self._size = 0
        self._event = None


def _is_complete_json(data: str) -> bool:
    try:
        list(iter_json_objects(data))
    except ValueError:
        return False
    return bool(data.strip())


def iter_json_objects(data: str) -> Iterator[Any]:
    """Every JSON value in ``data``, which may hold several back to back.

    Raises ``ValueError`` (``json.JSONDecodeError``) when any part is not JSON.
    """
    index = 0
    length = len(data)
    while True:
        while index < length and data[index] in " \t\r\n":
            index += 1
        if index >= length:
            return
        value, index = _JSON.raw_decode(data, index)
        yield value
