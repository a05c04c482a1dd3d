"""HTTP responses, including the two that end badly on purpose.

``json_response`` is every ordinary answer. ``CutResponse`` and ``EventStreamResponse``
can stop mid-body *without* the closing chunk: the ASGI app returns without completing
the response, the server closes the connection, and the client sees exactly what a
dropped connection looks like (the ``cut`` fault). A clean end would hide the very bug
that fault exists to find.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import Response, StreamingResponse
from starlette.types import Send

from copilot_tools.emulator.errors import Outcome
from copilot_tools.emulator.streaming import StreamCut

JSON_TYPE = "application/json; charset=utf-8"
#: What uvicorn logs when an app returns without finishing its response; for the
#: emulator that is a deliberate cut, not an error (see ``server.quiet_deliberate_cuts``).
INCOMPLETE_RESPONSE_LOG = "ASGI callable returned without completing response."


def encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(outcome: Outcome, headers: Mapping[str, str]) -> Response:
    return Response(encode(outcome.body), outcome.status, {**headers, **outcome.headers}, media_type=JSON_TYPE)


class CutResponse(Response):
    """Announces the whole body's length, sends half of it, then drops the connection."""

    async def __call__(self, scope: Any, receive: Any, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})


def cut_response(outcome: Outcome, headers: Mapping[str, str]) -> Response:
    return CutResponse(encode(outcome.body), outcome.status, {**headers, **outcome.headers}, media_type=JSON_TYPE)


class EventStreamResponse(StreamingResponse):
    """``text/event-stream`` whose body iterator may raise ``StreamCut`` to drop the connection."""

    media_type = "text/event-stream"

    def __init__(self, body: AsyncIterator[bytes], headers: Mapping[str, str]) -> None:
        # Exactly "text/event-stream", as the reference shows it (Starlette would add a charset).
        super().__init__(body, 200, {**headers, "Cache-Control": "no-cache", "Content-Type": "text/event-stream"})

    async def stream_response(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        try:
            async for chunk in self.body_iterator:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except StreamCut:
            return  # no closing chunk: the server drops the connection
        await send({"type": "http.response.body", "body": b"", "more_body": False})
