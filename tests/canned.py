"""Canned Copilot responses served to the real clients through ``httpx.MockTransport``, in chunks.

The clients run unchanged (sync and async, the real sans-IO flows and decoders); only the
network is replaced by bytes we choose, handed over ``chunk`` bytes at a time, so a test can
show that an answer does not depend on where the body happens to be cut.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from copilot_tools import AsyncCopilotClient, CopilotClient

BASE_URL = "http://127.0.0.1:9/beta"
CONVERSATION_ID = "0d110e7e-2b7e-4270-a899-fd2af6fde333"


class Chunked(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body handed over ``size`` bytes at a time, to either client."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data = data
        self._size = size

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self._data), self._size):
            yield self._data[start : start + self._size]

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._data), self._size):
            yield self._data[start : start + self._size]


def as_bytes(body: bytes | str | Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


@dataclass
class Canned:
    """What the fake service answers, per operation; ``chunk`` is the size of every body piece."""

    chunk: int = 4096
    create: Any = field(default_factory=lambda: {"id": CONVERSATION_ID, "state": "active", "turnCount": 0})
    chat: Any = None
    stream: bytes = b""
    retrieval: Any = None
    batch_responses: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.endswith("/chatOverStream"):
            return self._reply(self.stream, "text/event-stream")
        if path.endswith("/chat"):
            return self._reply(self.chat)
        if path.endswith("/$batch"):
            sent = json.loads(request.content)["requests"]
            # The reference's sub-responses, in order, under the ids this client sent.
            responses = [
                {**self.batch_responses[number % len(self.batch_responses)], "id": item["id"]}
                for number, item in enumerate(sent)
            ]
            return self._reply({"responses": responses})
        if path.endswith("/copilot/retrieval"):
            return self._reply(self.retrieval)
        if path.endswith("/conversations"):
            return self._reply(self.create, status=201)
        return httpx.Response(404)

    def _reply(self, body: Any, content_type: str = "application/json", *, status: int = 200) -> httpx.Response:
        return httpx.Response(status, headers={"Content-Type": content_type},
                              stream=Chunked(as_bytes(body), self.chunk))

    def sync_client(self) -> CopilotClient:
        http = httpx.Client(transport=httpx.MockTransport(self.handler))
        return CopilotClient(BASE_URL, token="test-token", time_zone="UTC", max_retries=0, http_client=http)

    def async_client(self) -> AsyncCopilotClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handler))
        return AsyncCopilotClient(BASE_URL, token="test-token", time_zone="UTC", max_retries=0, http_client=http)
