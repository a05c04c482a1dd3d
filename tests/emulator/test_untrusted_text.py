"""Text the caller controls (the question, additional context) never turns into markup.

The emulator echoes the question and quotes the caller's context. Whatever they contain
(control characters, ``[^n^]`` markers, ``<Person>`` tags, markdown links, a 96 KB run of
unclosed tags) must come back as plain text: no server error, no invented citation or
entity, and an answer in reasonable time (pytest-timeout's per-test limit is the guard).
One test reads the reply through the client itself, since its normalizer is what must
not be fooled.
"""

from __future__ import annotations

import re

import pytest

from copilot_tools import CopilotClient
from copilot_tools.emulator import EmulatorServer
from copilot_tools.streaming import AnswerComplete

from .conftest import Api, citations, parse_events, reply_of

FAKE_MARKUP = "[^external^] [^7^] <Person>Eve</Person> <File>evil.docx</File> travel per diem"
#: What the client's normalizer reads as markup (copilot_tools.answer).
CLIENT_MARKER = re.compile(r"\[\^([^\^\]\s]+)\^\]")
CLIENT_TAG = re.compile(r"<(Person|Event|File)>([^<]*)</\1>")
CARD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
def test_control_characters_in_the_question_are_a_graph_400_naming_the_field(api: Api, character: str) -> None:
    response = api.turn(f"travel{character}per diem")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "badRequest"
    assert "message.text" in error["message"]
    assert f"U+{ord(character):04X}" in error["message"]
    assert error["innerError"]["request-id"]


def test_tabs_and_line_breaks_in_the_question_are_fine(api: Api) -> None:
    reply = reply_of(api.ask("What is the\ttravel\r\nper diem?\n"))
    assert citations(reply)


def test_fake_markup_in_the_question_stays_text(api: Api) -> None:
    reply = reply_of(api.ask(FAKE_MARKUP))
    text = reply["text"]
    assert "Eve" in text and "evil.docx" in text and "7" in text
    markers = CLIENT_MARKER.findall(text)
    assert "external" not in markers and "7" not in markers
    assert all(1 <= int(m) <= len(citations(reply)) for m in markers)
    assert ("Person", "Eve") not in CLIENT_TAG.findall(text)
    assert ("File", "evil.docx") not in CLIENT_TAG.findall(text)


def test_the_client_reads_no_citation_or_entity_from_the_question(emulator: EmulatorServer) -> None:
    with CopilotClient(base_url=emulator.base_url, token="test-token") as client:
        answer = client.ask(FAKE_MARKUP)
        streamed = [e for e in client.stream(None, FAKE_MARKUP) if isinstance(e, AnswerComplete)][-1].answer
    for result in (answer, streamed):
        assert "Eve" in result.text
        assert {e.name for e in result.entities}.isdisjoint({"Eve", "evil.docx"})
        assert all(c.source != "external" and c.url for c in result.citations)
        assert [c.index for c in result.citations] == list(range(1, len(result.citations) + 1))


def test_a_markdown_link_in_the_question_is_no_link_in_the_streamed_card(api: Api) -> None:
    question = "travel per diem for [John Doe](https://evil.example/x) and [1](https://evil.example/1)"
    final = api.stream(question)[-1].json()
    card = final["messages"][-1]["adaptiveCards"][0]["body"][0]["text"]
    assert "evil.example" in card
    assert all("evil.example" not in url for _, url in CARD_LINK.findall(card))


def test_placeholder_shaped_context_is_quoted_as_text(api: Api) -> None:
    context = "The per diem in Narnia is \x00doc:policies/travel.md\x00 forty gold coins, \x00nope\x00 paid weekly."
    reply = reply_of(api.ask("What is the per diem in Narnia?", additionalContext=[{"text": context}]))
    assert "forty gold coins" in reply["text"]
    assert "\x00" not in reply["text"]
    assert citations(reply) == []  # only the caller's context answers, cited [^external^]
    assert "[^external^]" in reply["text"]


def test_markup_in_the_context_stays_text(api: Api) -> None:
    context = "The per diem in Narnia is forty gold coins, approved by <Person>Eve</Person>[^3^]."
    reply = reply_of(api.ask("What is the per diem in Narnia?", additionalContext=[{"text": context}]))
    assert "Eve" in reply["text"]
    assert ("Person", "Eve") not in CLIENT_TAG.findall(reply["text"])
    assert "3" not in CLIENT_MARKER.findall(reply["text"])


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "question",
    [
        "<Person>" * 12_000,
        "travel <Person>x" * 6_000,
        "per diem [^" * 8_000,
        "[^a" * 30_000,
        "[" * 90_000,
        "<" * 90_000,
    ],
    ids=["open-tags", "open-tags-with-words", "open-markers", "open-marker-words", "brackets", "angles"],
)
def test_a_long_question_of_unclosed_markup_gets_an_answer(api: Api, question: str) -> None:
    reply = reply_of(api.ask(question))
    assert reply["text"]
    assert len(reply["text"]) < 5_000  # the echo is shortened, not the whole 96 KB again
    events = parse_events(api.turn(question, stream=True, headers={"x-emulator-layout": "compact"}).text)
    assert events[-1].json()["messages"][-1]["text"] == reply["text"]
