"""Helpers for the emulator's own tests: a plain httpx client on the shared ``emulator``.

These tests talk HTTP on loopback, like any client would, and check what goes over the
wire; they do not go through copilot_tools' client (tests/e2e does that).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from copilot_tools.emulator import EmulatorServer

AUTH = {"Authorization": "Bearer test-token"}
ZONE = {"timeZone": "America/New_York"}
MEETING = "What meeting do I have at 9 AM tomorrow morning?"
BUSINESS_MODEL = "https://contoso.sharepoint.com/sites/Engineering/Shared%20Documents/Specs/Business-Model.docx"
BOX_OFFICE = "What is the highest grossing movie at the global box office this year?"
BIRTHDAY = "What is the birthday of my best friend, John Doe?"
NOTES = Path(__file__).parent / "fixtures" / "notes"
_ID_LINE = re.compile(r"^id:(\d+) ?$")


@dataclass(frozen=True)
class Event:
    id: int
    data: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.data)  # type: ignore[no-any-return]


def parse_events(body: str) -> list[Event]:
    """Events of either layout: ``data:`` (maybe spread over lines) up to an ``id:N`` line."""
    events: list[Event] = []
    lines: list[str] | None = None
    for line in body.split("\n"):
        if line.startswith("data: ") and lines is None:
            lines = [line[len("data: "):]]
        elif (match := _ID_LINE.match(line)) and lines is not None:
            events.append(Event(int(match.group(1)), "\n".join(lines)))
            lines = None
        elif lines is not None:
            lines.append(line)
    return events


class Api:
    """The Copilot API of one emulator, spoken with httpx."""

    def __init__(self, client: httpx.Client, prefix: str = "/beta") -> None:
        self.client = client
        self.prefix = prefix

    def create(self, path: str | None = None, **headers: str) -> str:
        response = self.client.post(path or f"{self.prefix}/copilot/conversations", json={}, headers=headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def turn(
        self,
        text: str | None,
        conversation: str | None = None,
        *,
        stream: bool = False,
        headers: dict[str, str] | None = None,
        action: str | None = None,
        **body: Any,
    ) -> httpx.Response:
        conversation = conversation or self.create()
        payload: dict[str, Any] = {"locationHint": ZONE, **body}
        if text is not None:
            payload["message"] = {"text": text}
        name = action or ("chatOverStream" if stream else "chat")
        url = f"{self.prefix}/copilot/conversations/{conversation}/{name}"
        return self.client.post(url, json=payload, headers=headers or {})

    def ask(self, text: str, conversation: str | None = None, **body: Any) -> dict[str, Any]:
        response = self.turn(text, conversation, **body)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def stream(self, text: str, conversation: str | None = None, **kwargs: Any) -> list[Event]:
        response = self.turn(text, conversation, stream=True, **kwargs)
        assert response.status_code == 200, response.text
        return parse_events(response.text)


def reply_of(conversation: dict[str, Any]) -> dict[str, Any]:
    return conversation["messages"][-1]  # type: ignore[no-any-return]


def citations(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in message["attributions"] if a["attributionType"] == "citation"]


def client_for(server: EmulatorServer, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=server.root_url, headers={**AUTH, **headers}, timeout=20)


@pytest.fixture
def http(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    with client_for(emulator) as client:
        yield client


@pytest.fixture
def api(http: httpx.Client) -> Api:
    return Api(http)
