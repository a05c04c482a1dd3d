"""The body of ``/chat`` and ``/chatOverStream``, checked as the service checks it.

A body the service would refuse gets the 400 it would get (missing ``message.text``,
missing or unknown ``locationHint.timeZone``, a file it cannot open), so that a client's
own validation can be tested against the real failure, not only against itself. What
makes a time zone valid is the client's rule (``copilot_tools._protocol``), applied here
too, so the two can never disagree. Control characters in the question (other than tab
and line breaks) are refused: they have no business in a prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from copilot_tools._protocol import validate_time_zone
from copilot_tools._wire import ChatRequest
from copilot_tools.emulator.corpus import Corpus, Document
from copilot_tools.emulator.errors import ApiError, bad_request, validated
from copilot_tools.emulator.text import CONTROL
from copilot_tools.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class Question:
    """What a turn asks, with the files resolved to documents of the tenant."""

    text: str
    zone: ZoneInfo
    files: tuple[Document, ...] = ()
    web_enabled: bool = True
    context: tuple[str, ...] = ()


def _zone(name: Any) -> ZoneInfo:
    if name is None or (isinstance(name, str) and not name.strip()):
        raise bad_request("locationHint.timeZone is required: the user's IANA time zone, e.g. 'America/New_York'.")
    try:
        return ZoneInfo(validate_time_zone(name))
    except InvalidInputError:
        shown = CONTROL.sub("?", str(name))[:100]
        raise bad_request(f"locationHint.timeZone '{shown}' is not a valid IANA time zone.") from None


def _text(message: dict[str, Any]) -> str:
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("message.text is required and cannot be empty.")
    control = CONTROL.search(text)
    if control is not None:
        raise bad_request(
            f"message.text contains the control character U+{ord(control.group()):04X} at position "
            f"{control.start()}; only tab, line feed and carriage return are allowed."
        )
    return text


def _object(data: Any, name: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise bad_request(f"{name} must be a JSON object.")
    return data


def _files(request: ChatRequest, corpus: Corpus) -> tuple[Document, ...]:
    resources = request.contextual_resources
    documents: list[Document] = []
    for reference in (resources.files or []) if resources else []:
        document = corpus.document_for_url(reference.uri)
        if document is None or not document.is_file:
            raise ApiError(
                400,
                "badRequest",
                f"The file '{reference.uri}' could not be opened: it is not a OneDrive or SharePoint file "
                "this user can access.",
            )
        if document not in documents:
            documents.append(document)
    return tuple(documents)


def read_question(data: Any, corpus: Corpus) -> Question:
    """The turn's question, or an ``ApiError`` (400) saying what the service would refuse."""
    body = _object(data, "The request body")
    message = body.get("message")
    if message is None:
        raise bad_request("The 'message' parameter is required.")
    text = _text(_object(message, "message"))
    location = body.get("locationHint")
    if location is None:
        raise bad_request("The 'locationHint' parameter is required, with at least a timeZone.")
    zone = _zone(_object(location, "locationHint").get("timeZone"))
    request = validated(ChatRequest, body, "request body")
    resources = request.contextual_resources
    web = resources.web_context if resources else None
    return Question(
        text=text,
        zone=zone,
        files=_files(request, corpus),
        web_enabled=True if web is None else bool(web.is_web_enabled),
        context=tuple(item.text for item in request.additional_context or () if item.text.strip()),
    )
