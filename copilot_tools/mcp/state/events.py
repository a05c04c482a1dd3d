"""The MCP ``EventStore`` over a ``StateBackend``: one per session, so a stream id (the client's
request id) never meets another session's.

Replay differs from the SDK's in-memory example in one way that makes resumption work on any
replica: after the stored events, it keeps reading the stream from the backend until the
request's response has been sent (or ``max_wait`` passes). The request may still be running
on another replica, whose events reach the client only through the store; the transport that
replays never sees them otherwise. The response ends the replayed stream, so the client gets
exactly one answer and the turn is never sent to Copilot again. A stream that stalls for
``STALL`` seconds (the replica answering it died) is ended, so the client stops waiting.
"""

from __future__ import annotations

import time

from mcp.server.streamable_http import (
    GET_STREAM_KEY,
    EventCallback,
    EventId,
    EventMessage,
    EventStore,
    StreamId,
)
from mcp.types import JSONRPCMessage, jsonrpc_message_adapter

from copilot_tools.mcp.state.base import StateBackend, is_response

#: The longest a resumed stream waits for the rest of an answer (an answer's deadline is 600 s).
MAX_WAIT = 660.0
#: A stream with no new event for this long is given up (the replica answering may have died).
STALL = 120.0
POLL = 1.0


class SessionEventStore(EventStore):
    def __init__(self, state: StateBackend, session_id: str, *, max_wait: float = MAX_WAIT) -> None:
        self.state = state
        self.session_id = session_id
        self.max_wait = max_wait

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        data = None if message is None else message.model_dump_json(by_alias=True, exclude_unset=True)
        return await self.state.append_event(self.session_id, str(stream_id), data)

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        found = await self.state.events_after(self.session_id, last_event_id, wait=0)
        if found is None:
            return None
        stream_id, events = found
        deadline = time.monotonic() + self.max_wait
        cursor, last_seen = last_event_id, time.monotonic()
        while True:
            if events:
                last_seen = time.monotonic()
            for event in events:
                cursor = event.event_id
                if event.data is None:  # a priming event: nothing to deliver
                    continue
                message = jsonrpc_message_adapter.validate_json(event.data)
                await send_callback(EventMessage(message, event.event_id))
                if is_response(event.data, stream_id):
                    return None  # the request is answered: end this stream
            if stream_id == GET_STREAM_KEY:
                return stream_id  # the standalone stream: the transport carries it on live
            now = time.monotonic()
            if now >= deadline or now - last_seen >= STALL:
                return None
            found = await self.state.events_after(self.session_id, cursor, wait=POLL)
            if found is None:
                return None
            events = found[1]


__all__ = ["SessionEventStore"]
