"""The examples of the API reference (tests/fixtures/reference), extracted for tests.

The reference pages are the ground truth of the wire: every example response must
normalize exactly right, and the emulator's output must share their shape.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).parent / "fixtures" / "reference"
_DECODER = json.JSONDecoder()


def _text(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")


def _json_after(text: str, marker: str) -> list[Any]:
    values = []
    for match in re.finditer(re.escape(marker), text):
        start = text.index("{", match.end())
        value, _ = _DECODER.raw_decode(text, start)
        values.append(value)
    return values


def _json_requests(text: str) -> list[Any]:
    """Request bodies: the JSON after a 'POST …/chat[OverStream]' line."""
    values = []
    for match in re.finditer(r"POST https://\S+/(chat|chatOverStream)\s*\nContent-Type: application/json\s*\n", text):
        start = text.index("{", match.end())
        value, _ = _DECODER.raw_decode(text, start)
        values.append(value)
    return values


@cache
def create_responses() -> list[dict[str, Any]]:
    return _json_after(_text("graph-create.txt"), "HTTP/1.1 201 Created") + _json_after(
        _text("workiq-create.txt"), "HTTP/1.1 201 Created"
    )


@cache
def chat_examples() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(request, response) pairs of the synchronous page's four examples."""
    text = _text("graph-chat.txt")
    return list(zip(_json_requests(text), _json_after(text, "HTTP/1.1 200 OK"), strict=True))


@cache
def stream_examples() -> list[tuple[dict[str, Any], bytes]]:
    """(request, raw event-stream body) pairs of the streamed page's four examples."""
    text = _text("graph-chat-over-stream.txt")
    bodies = []
    for match in re.finditer(r"HTTP/1.1 200 OK\nContent-Type: text/event-stream\n\n", text):
        end = text.index("\n```", match.end())
        bodies.append(text[match.end() : end].encode("utf-8"))
    return list(zip(_json_requests(text), bodies, strict=True))


@cache
def retrieval_examples() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(url path, request, response) of the retrieval examples in the source page."""
    text = _text("graph-chat-source-retrieval.txt")
    pairs = []
    for match in re.finditer(r"POST https://graph\.microsoft\.com(/beta/(?:copilot/retrieval|\$batch))\s*\n", text):
        start = text.index("{", match.end())
        request, end = _DECODER.raw_decode(text, start)
        response_at = text.index("HTTP/1.1 200 OK", end)
        response, _ = _DECODER.raw_decode(text, text.index("{", response_at))
        pairs.append((match.group(1), request, response))
    return pairs


CAPTURES = Path(__file__).parent / "fixtures" / "captures"
#: The question of the captured stream (its final event echoes it in quotes).
CAPTURE_PROMPT = "What meeting do I have at 9 AM tomorrow morning?"


@cache
def captured_stream() -> bytes:
    """The body of one real chatOverStream response, as Microsoft published it (see its README)."""
    return (CAPTURES / "graph-chatOverStream-capture-1.sse").read_bytes()
