"""A misbehaving Copilot API on loopback: one small ASGI app, one misbehaviour per question.

Creating a conversation always works; the turn misbehaves as the question asks: a question
``fault:<name> …`` gets the misbehaviour ``<name>`` (see ``FAULTS``), any other question a
plain answer. So one server (and one stdio MCP server pointed at it) can meet every kind of
misbehaviour in turn and then be asked a normal question, which must still be answered.

The app speaks the wire as the service does (``/copilot/conversations``, ``/chat``,
``/chatOverStream`` under ``/beta``; events as ``data: {json}`` then ``id:N``), but writes
every body by hand, because what it sends is what a well-behaved server never would.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from copilot_tools.emulator.server import bind
from tests.mcp.test_http_auth import serve

CREATED = "2026-11-23T15:00:00Z"

#: Text other people wrote, at its most hostile: lone UTF-16 surrogates (valid JSON escapes),
#: NUL and other C0/C1 controls, terminal escapes, bidi overrides, zero-width characters,
#: broken citation markers and entity tags, and runs of the characters regexes trip on.
HOSTILE_TEXT = (
    "Lone surrogates \ud83d and \udfff and a reversed pair \ude00\ud83d; "
    "NUL \x00, bell \x07, escape \x1b[31mred\x1b[0m, C1 \x85\x9b, DEL \x7f; "
    "bidi \u202eevil\u202c, zero-width \u200b\ufeff; "
    "markers [^1^] [^99^] [^ [^^ ^^] <Event>unclosed <Person>x</Event> "
    "<script>alert(1)</script> ![img](javascript:alert(1)) "
    + "[" * 2000 + "<" * 2000 + "^" * 2000 + " end."
)

#: Deep nesting for every JSON parser and card walker on the way.
DEPTH = 50_000


def _conversation(cid: str, messages: list[dict[str, Any]], turn_count: int = 1) -> dict[str, Any]:
    return {"id": cid, "createdDateTime": CREATED, "displayName": "Fault", "state": "active",
            "turnCount": turn_count, "messages": messages}


def _reply(question: str, text: str, **extra: Any) -> list[dict[str, Any]]:
    kind = "#microsoft.graph.copilotConversationResponseMessage"
    return [
        {"@odata.type": kind, "id": "request-1", "text": question, "createdDateTime": CREATED},
        {"@odata.type": kind, "id": "reply-1", "text": text, "createdDateTime": CREATED, "attributions": [],
         **extra},
    ]


def _json(body: Any) -> bytes:
    # ensure_ascii: a lone surrogate goes out as the JSON escape \ud83d, as the service sends it.
    return json.dumps(body, ensure_ascii=True).encode("ascii")


def _event(body: Any, number: int) -> bytes:
    return b"data: " + _json(body) + f"\nid:{number}\n\n".encode()


class FaultServer:
    """The app. ``base_url`` is the Copilot endpoint (``http://127.0.0.1:PORT/beta``);
    ``seen_tokens`` the bearer tokens it received (the tests check none comes back out)."""

    def __init__(self) -> None:
        self.seen_tokens: list[str] = []
        self.base_url = ""
        self.trickle_seconds = 8.0

    # --- the app -------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        self.seen_tokens.append(headers.get("authorization", ""))
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        if scope["method"] == "POST" and path.rstrip("/").endswith("/copilot/conversations"):
            await self._send(send, 201, _json(_conversation(str(uuid.uuid4()), [], 0)))
            return
        if scope["method"] != "POST" or not path.endswith(("/chat", "/chatOverStream")):
            await self._send(send, 404, _json({"error": {"code": "NotFound", "message": "no such path"}}))
            return
        cid = path.split("/")[-2]
        try:
            question = str(json.loads(body)["message"]["text"])
        except (ValueError, KeyError, TypeError):
            question = ""
        fault = question.split()[0].removeprefix("fault:") if question.startswith("fault:") else "none"
        handler = getattr(self, "_" + fault.replace("-", "_"), None)
        if handler is None:
            await self._send(send, 400, _json({"error": {"code": "BadFault", "message": f"no fault {fault!r}"}}))
            return
        await handler(send, cid=cid, question=question, stream=path.endswith("/chatOverStream"),
                      authorization=headers.get("authorization", ""))

    async def _send(self, send: Any, status: int, body: bytes, content_type: str = "application/json",
                    extra: list[tuple[bytes, bytes]] | None = None) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
                                *(extra or [])]})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, send: Any, cid: str, question: str, stream: bool, text: str, **extra: Any) -> None:
        """``text`` as a /chat body, or as a stream of three growing snapshots."""
        if not stream:
            await self._send(send, 200, _json(_conversation(cid, _reply(question, text, **extra))))
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        cuts = [len(text) // 3, 2 * len(text) // 3]
        for number, cut in enumerate(cuts, start=1):
            snapshot = _conversation(cid, _reply(question, text[:cut])[1:], 0)
            await send({"type": "http.response.body", "body": _event(snapshot, number), "more_body": True})
        final = _event(_conversation(cid, _reply(question, text, **extra)), len(cuts) + 1)
        await send({"type": "http.response.body", "body": final})

    # --- the misbehaviours (each ``_<name>`` answers ``fault:<name>``) ----------------------------

    async def _none(self, send: Any, *, cid: str, question: str, stream: bool, **_: Any) -> None:
        await self._answer(send, cid, question, stream, "All is well: the standup is at 9 AM.")

    async def _hostile_text(self, send: Any, *, cid: str, question: str, stream: bool, **_: Any) -> None:
        card = {"type": "AdaptiveCard", "version": "1.0", "body": [{"type": "TextBlock", "text": HOSTILE_TEXT}]}
        await self._answer(send, cid, question, stream, HOSTILE_TEXT, adaptiveCards=[card])

    async def _echo_authorization(self, send: Any, *, authorization: str, **_: Any) -> None:
        """A proxy that quotes the request it could not forward, Authorization header included."""
        message = f"Upstream failed. Request headers: Authorization: {authorization}; Host: graph"
        body = _json({"error": {"code": "BadGateway", "message": message,
                                "innerError": {"headers": {"Authorization": authorization}}}})
        await self._send(send, 502, body)

    async def _echo_authorization_html(self, send: Any, *, authorization: str, **_: Any) -> None:
        body = f"<html><body><h1>400 Bad Request</h1><pre>{authorization}</pre></body></html>".encode()
        await self._send(send, 400, body, "text/html")

    async def _bad_gzip(self, send: Any, *, cid: str, question: str, stream: bool, **_: Any) -> None:
        await self._send(send, 200, b"this is not gzip at all" * 10,
                         "text/event-stream" if stream else "application/json", [(b"content-encoding", b"gzip")])

    async def _html_200(self, send: Any, **_: Any) -> None:
        body = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Proxy login</body></html>"
        await self._send(send, 200, body, "text/html; charset=utf-8")

    async def _deep_json(self, send: Any, *, cid: str, question: str, stream: bool, **_: Any) -> None:
        nested = "[" * DEPTH + "]" * DEPTH
        raw = (f'{{"id":"{cid}","createdDateTime":"{CREATED}","state":"active","turnCount":1,"messages":'
               f'[{{"id":"reply-1","text":"deep","adaptiveCards":[{nested}]}}]}}').encode()
        if stream:
            await self._send(send, 200, b"data: " + raw + b"\nid:1\n\n", "text/event-stream")
        else:
            await self._send(send, 200, raw)

    async def _deep_card(self, send: Any, *, cid: str, question: str, stream: bool, **_: Any) -> None:
        card: dict[str, Any] = {"type": "TextBlock", "text": "bottom"}
        for _level in range(400):  # 800 levels: under the encoder's limit, deep for a recursive walker
            card = {"type": "Container", "items": [card]}
        await self._answer(send, cid, question, stream, "An answer with a deep card.",
                           adaptiveCards=[{"type": "AdaptiveCard", "body": [card]}])

    async def _bracket_run(self, send: Any, *, cid: str, question: str, stream: bool, **_: Any) -> None:
        await self._answer(send, cid, question, stream, "Runs: " + "[" * 40_000 + "<" * 40_000 + "^" * 40_000)

    async def _trickle(self, send: Any, *, cid: str, question: str, stream: bool, **_: Any) -> None:
        """The start of an answer, then one byte at a time for ``trickle_seconds``: never silent
        long enough for a read timeout, never finished."""
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream" if stream else b"application/json")]})
        if stream:
            start = _conversation(cid, _reply(question, "The answer so far")[1:], 0)
            await send({"type": "http.response.body", "body": _event(start, 1), "more_body": True})
        ends = time.monotonic() + self.trickle_seconds
        while time.monotonic() < ends:
            await send({"type": "http.response.body", "body": b" " if not stream else b":\n", "more_body": True})
            await asyncio.sleep(0.25)
        await send({"type": "http.response.body", "body": b""})


#: Every misbehaviour, by the name a question asks for.
FAULTS = ("hostile-text", "echo-authorization", "echo-authorization-html", "bad-gzip", "html-200", "deep-json",
          "deep-card", "bracket-run", "trickle")


@contextmanager
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer()
    # Its misbehaviours make uvicorn log errors by design: only a critical one is worth showing.
    with serve(server, bind("127.0.0.1", 0), log_level="critical") as root:
        server.base_url = f"{root}/beta"
        yield server
