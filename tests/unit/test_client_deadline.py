"""Time limits and odd upstreams, through the public clients against a misbehaving loopback server.

``timeout`` bounds each silence while bytes should flow; ``deadline`` bounds the whole
call. A server that trickles a byte at a time must not hold a call past its deadline,
a synchronous turn that stays silent until it is done must get up to the deadline, and
what the server sends that is not Copilot's answer must become a typed error.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from copilot_tools import (
    APIConnectionError,
    AsyncCopilotClient,
    CopilotClient,
    DeadlineExceededError,
    InvalidInputError,
    ServiceError,
    StreamInterruptedError,
)
from tests.replicas.processes import free_port

CID = "0d110e7e-2b7e-4270-a899-fd2af6fde333"
ODD_ID = "19:meeting_Zm9v@thread.v2"
#: Generous bounds that only catch a hang (the calls under test end in about a second).
HANG = 15.0


def snapshot(text: str, *, final: bool, conversation_id: str = CID) -> bytes:
    return json.dumps({
        "id": conversation_id, "turnCount": 1 if final else 0, "state": "active",
        "messages": [{"id": "p", "text": "hi"}, {"id": "r", "text": text}],
    }).encode()


class Misbehaving(BaseHTTPRequestHandler):
    """Answers by the ``x-mode`` request header; records every path it was asked for."""

    protocol_version = "HTTP/1.1"
    paths: ClassVar[list[str]] = []
    stop: ClassVar[threading.Event] = threading.Event()

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Misbehaving.paths.append(self.path)
        mode = self.headers.get("x-mode", "ok")
        if self.path.endswith("/conversations"):
            conversation_id = ODD_ID if mode == "odd-id" else CID
            return self._send(201, json.dumps({"id": conversation_id, "turnCount": 0, "messages": []}).encode())
        conversation_id = ODD_ID if mode == "odd-id" else CID
        if self.path.endswith("/chatOverStream"):
            if mode == "html":
                return self._send(200, b"<html><body>Sign in to continue</body></html>", "text/html; charset=utf-8")
            if mode == "gzip-lie":
                return self._send(200, b"data: " + snapshot("x", final=True) + b"\n\n", "text/event-stream",
                                  headers={"Content-Encoding": "gzip"})
            if mode == "stall":
                return self._stalled_stream()
            return self._trickle_stream()
        if mode == "trickle":
            return self._trickle_body(snapshot("The standup is at 9:00.", final=True))
        if mode.startswith("slow="):
            time.sleep(float(mode.removeprefix("slow=")))
        if mode == "gzip-lie":
            return self._send(200, snapshot("x", final=True), headers={"Content-Encoding": "gzip"})
        return self._send(200, snapshot("The standup is at 9:00.", final=True, conversation_id=conversation_id))

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("request-id", "req-1")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def _trickle_body(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body) * 100))  # never completes
        self.end_headers()
        self._drip([body[i:i + 1] for i in range(len(body))] * 100, 0.05)

    def _trickle_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        words = [f"word{n} " for n in range(400)]
        events = [b"data: " + snapshot("".join(words[: n + 1]), final=False) + b"\n\n" for n in range(len(words))]
        self._drip(events, 0.1)
        self.close_connection = True

    def _stalled_stream(self) -> None:
        """A few events, then silence with the connection held open."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self._drip([b"data: " + snapshot(f"The standup {n}", final=False) + b"\n\n" for n in range(3)], 0.1)
        Misbehaving.stop.wait(20)

    def _drip(self, pieces: list[bytes], interval: float) -> None:
        for piece in pieces:
            if Misbehaving.stop.is_set():
                return
            try:
                self.wfile.write(piece)
                self.wfile.flush()
            except OSError:
                return  # the client hung up: what a deadline should make it do
            time.sleep(interval)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client hanging up mid-trickle is the point of these tests


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), Misbehaving)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/beta"
    Misbehaving.stop.set()
    httpd.shutdown()
    httpd.server_close()


def client(base_url: str, mode: str = "ok", **options: object) -> CopilotClient:
    return CopilotClient(base_url, token="t", time_zone="UTC", headers={"x-mode": mode}, **options)  # type: ignore[arg-type]


def aclient(base_url: str, mode: str = "ok", **options: object) -> AsyncCopilotClient:
    return AsyncCopilotClient(base_url, token="t", time_zone="UTC", headers={"x-mode": mode}, **options)  # type: ignore[arg-type]


# --- the total deadline --------------------------------------------------------------------------


def test_a_trickling_stream_ends_at_the_deadline_with_the_partial_answer(server: str) -> None:
    started = time.monotonic()
    with client(server, deadline=1.0, timeout=5.0) as c, pytest.raises(DeadlineExceededError) as info, \
            c.stream(CID, "hi") as stream:
        for _ in stream:
            pass
    assert time.monotonic() - started < HANG
    assert info.value.partial_text.startswith("word0 word1")
    assert isinstance(info.value, StreamInterruptedError)  # front ends keep the partial answer
    assert info.value.deadline == 1.0 and "deadline of 1 s" in info.value.message


async def test_a_trickling_stream_ends_at_the_deadline_async(server: str) -> None:
    started = time.monotonic()
    async with aclient(server, deadline=1.0, timeout=5.0) as c:
        with pytest.raises(DeadlineExceededError) as info:
            async with c.stream(CID, "hi") as stream:
                async for _ in stream:
                    pass
    assert time.monotonic() - started < HANG
    assert info.value.partial_text.startswith("word0 word1")


def test_a_stream_that_falls_silent_ends_at_the_deadline_not_the_silence_timeout(server: str) -> None:
    started = time.monotonic()
    with client(server, "stall", deadline=1.5, timeout=8.0) as c, pytest.raises(DeadlineExceededError) as info:
        list(c.stream(CID, "hi"))
    assert time.monotonic() - started < 8.0  # the silence timeout would have ended it only after 8 s
    assert info.value.partial_text.startswith("The standup")


async def test_a_stream_that_falls_silent_ends_at_the_deadline_async(server: str) -> None:
    started = time.monotonic()
    async with aclient(server, "stall", deadline=1.5, timeout=8.0) as c:
        with pytest.raises(DeadlineExceededError):
            async for _ in c.stream(CID, "hi"):
                pass
    assert time.monotonic() - started < 8.0


def test_a_trickling_reply_to_chat_ends_at_the_deadline(server: str) -> None:
    started = time.monotonic()
    with client(server, "trickle", deadline=1.0, timeout=5.0) as c, pytest.raises(DeadlineExceededError) as info:
        c.chat(CID, "hi")
    assert time.monotonic() - started < HANG
    assert "may have processed" in info.value.message


async def test_a_trickling_reply_to_chat_ends_at_the_deadline_async(server: str) -> None:
    started = time.monotonic()
    async with aclient(server, "trickle", deadline=1.0, timeout=5.0) as c:
        with pytest.raises(DeadlineExceededError):
            await c.chat(CID, "hi")
    assert time.monotonic() - started < HANG


def test_a_synchronous_turn_silent_past_the_timeout_is_waited_for_until_the_deadline(server: str) -> None:
    with client(server, "slow=1.2", timeout=0.3, deadline=30.0) as c:
        assert c.chat(CID, "hi").text == "The standup is at 9:00."
    with client(server, "slow=2", timeout=0.3, deadline=0.8) as c, pytest.raises(DeadlineExceededError):
        c.chat(CID, "hi")


async def test_a_synchronous_turn_silent_past_the_timeout_is_waited_for_async(server: str) -> None:
    async with aclient(server, "slow=1.2", timeout=0.3, deadline=30.0) as c:
        assert (await c.chat(CID, "hi")).text == "The standup is at 9:00."


# --- what is not Copilot's answer ------------------------------------------------------------------


def test_an_html_page_with_status_200_on_a_stream_is_a_service_error(server: str) -> None:
    with client(server, "html") as c, pytest.raises(ServiceError) as info:
        list(c.stream(CID, "hi"))
    assert "text/html" in info.value.message and info.value.request_id == "req-1"


def test_a_body_that_claims_gzip_but_is_not_is_a_service_error(server: str) -> None:
    with client(server, "gzip-lie") as c, pytest.raises(ServiceError) as info:
        c.chat(CID, "hi")
    assert "gzip" in info.value.message
    with client(server, "gzip-lie") as c, pytest.raises(ServiceError) as info:
        list(c.stream(CID, "hi"))
    assert "gzip" in info.value.message


async def test_a_body_that_claims_gzip_but_is_not_is_a_service_error_async(server: str) -> None:
    async with aclient(server, "gzip-lie") as c:
        with pytest.raises(ServiceError):
            await c.chat(CID, "hi")
        with pytest.raises(ServiceError):
            async for _ in c.stream(CID, "hi"):
                pass


def test_a_conversation_id_the_service_returns_is_used_as_returned(server: str) -> None:
    with client(server, "odd-id") as c:
        answer = c.ask("hi")
    assert answer.conversation_id == ODD_ID
    assert Misbehaving.paths[-1] == "/beta/copilot/conversations/19%3Ameeting_Zm9v%40thread.v2/chat"
    with client(server) as c, pytest.raises(InvalidInputError):
        c.chat("../../me/messages", "hi")  # what a user or a model passes is still checked


def test_an_unreachable_emulator_is_named_with_how_to_start_it() -> None:
    port = free_port()
    with CopilotClient(f"http://127.0.0.1:{port}/beta", token="t", time_zone="UTC", max_retries=0) as c, \
            pytest.raises(APIConnectionError) as info:
        c.create_conversation()
    assert f"127.0.0.1:{port}" in info.value.message
    assert "copilot-tools emulator" in (info.value.hint or "")
