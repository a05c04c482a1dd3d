"""A canned Copilot API on loopback, so the benchmarks measure the client, not a server.

It answers create, ``/chat`` with the reference's first example, and ``/chatOverStream``
with the reference's first streamed example, each event after ``event_delay`` seconds.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import reference

CHAT_BODY = __import__("json").dumps(reference.chat_examples()[0][1]).encode()
STREAM_EVENTS = [part + b"\n\n" for part in reference.stream_examples()[0][1].split(b"\n\n")]


def make_app(event_delay: float) -> Starlette:
    async def create(request: Request) -> Response:
        return Response(b'{"id": "0d110e7e-2b7e-4270-a899-fd2af6fde333", "turnCount": 0}', 201,
                        media_type="application/json")

    async def chat(request: Request) -> Response:
        await request.body()
        return Response(CHAT_BODY, media_type="application/json")

    async def stream(request: Request) -> StreamingResponse:
        await request.body()

        async def events():
            for event in STREAM_EVENTS:
                if event_delay:
                    await asyncio.sleep(event_delay)
                yield event

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[
        Route("/beta/copilot/conversations", create, methods=["POST"]),
        Route("/beta/copilot/conversations/{cid}/chat", chat, methods=["POST"]),
        Route("/beta/copilot/conversations/{cid}/chatOverStream", stream, methods=["POST"]),
    ])


class CannedServer:
    def __init__(self, event_delay: float = 0.0) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(make_app(event_delay), log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/beta"

    def __enter__(self) -> CannedServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("canned server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
