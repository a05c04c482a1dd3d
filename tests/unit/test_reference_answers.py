"""Every example response of the API reference normalizes exactly right."""

from __future__ import annotations

import pytest

from copilot_tools import AnswerComplete, TextDelta
from copilot_tools.answer import find_reply
from copilot_tools._sse import SSEDecoder
from copilot_tools.streaming import StreamAssembler, build_answer
from copilot_tools._wire import Conversation
from tests import reference

STANDUP_SYNC = (
    "https://teams.microsoft.com/l/meeting/details?eventId=BBMkADg5ZjdjZGNiLWRiMzItNDA3MC1iNDNlLTdlMGY4ZDc0ZjdlZg"
    "BGAAAAAACm2kxZvrUtTa-iv1uzeNCxBwA4nsl0tFf4R7qmHdVqpNbsAAAAAAENAAA4nsl0tFf4R7qmHdVqpNbsAAAVa4BBAAA%3d"
)
BUSINESS_MODEL = "https://contoso.sharepoint.com/sites/Engineering/Shared%20Documents/Specs/Business-Model.docx"


def sync_answer(number: int):
    request, response = reference.chat_examples()[number]
    conversation = Conversation.model_validate(response)
    return build_answer(conversation, find_reply(conversation, request["message"]["text"]))


def stream_events(number: int):
    request, body = reference.stream_examples()[number]
    decoder = SSEDecoder()
    assembler = StreamAssembler(request["message"]["text"])
    events = []
    for sse in decoder.feed(body) + decoder.close():
        events.extend(assembler.feed(sse))
    return events + assembler.finish()


def test_sync_meeting_answer_has_numbered_citation_and_entities() -> None:
    answer = sync_answer(0)
    assert "<Event>" not in answer.text and "[^1^]" not in answer.text
    assert "- **Meeting**: Contoso Engineering Standup\n" in answer.text
    assert "- **Organizer**: John Doe[1]\n" in answer.text
    assert answer.text.count("[1]") == 2
    assert [(c.index, c.title, c.url, c.source) for c in answer.citations] == [
        (1, "Contoso Engineering Standup", STANDUP_SYNC, "model")
    ]
    assert [(e.kind, e.name) for e in answer.entities] == [
        ("event", "Contoso Engineering Standup"),
        ("person", "John Doe"),
    ]
    assert answer.entities[0].url == STANDUP_SYNC + "&EntityRepresentationId=988db526-6e9b-46ec-906e-3fba32438e5d"
    assert answer.entities[1].url.startswith("https://www.office.com/search?q=John+Doe")
    assert answer.conversation_id == "0d110e7e-2b7e-4270-a899-fd2af6fde333"
    assert answer.turn_count == 1
    assert answer.sensitivity_label is None
    assert answer.raw_text.count("[^1^]") == 2


def test_sync_file_summary_keeps_the_unmarked_grounding_citation() -> None:
    answer = sync_answer(1)
    assert answer.text.startswith('You asked for a summary of the document "Business-Model.docx".')
    assert [(c.index, c.title, c.url, c.source, c.cited_in_text) for c in answer.citations] == [
        (1, "529425287-What-Is-a-Business-Model", BUSINESS_MODEL, "grounding", False)
    ]
    assert [(e.kind, e.name, e.url) for e in answer.entities] == [("file", "Business-Model.docx", BUSINESS_MODEL)]
    assert answer.turn_count == 2


def test_sync_web_off_answer_cites_nothing() -> None:
    answer = sync_answer(2)
    assert answer.citations == () and answer.entities == ()
    assert answer.text == answer.raw_text
    assert answer.turn_count == 3


def test_sync_additional_context_answer_names_the_person_once() -> None:
    answer = sync_answer(3)
    assert answer.text.startswith("You asked for the birthday of your best friend, John Doe.")
    assert "John Doe's birthday is on **January 1st**" in answer.text
    assert [(e.kind, e.name, e.url) for e in answer.entities] == [("person", "John Doe", None)]
    assert answer.citations == ()
    assert answer.turn_count == 4


def test_stream_meeting_answer_matches_the_card_links() -> None:
    events = stream_events(0)
    assert isinstance(events[-1], AnswerComplete)
    answer = events[-1].answer
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert streamed == answer.text
    assert answer.turn_count == 1
    assert answer.citations[0].url.endswith("AAAVa4BBAAA%3d")
    assert answer.citations[0].url.startswith("https://teams.microsoft.com/l/meeting/details?eventId=AAMk")
    assert answer.entities[1].url.endswith("EntityRepresentationId=55cdb988-cbf5-44db-b75d-a431ca839c70")
    assert answer.message_id == "65781ab5-79ce-4159-950f-edc04c51e909"


def test_stream_file_summary_takes_entity_link_from_the_card() -> None:
    answer = stream_events(1)[-1].answer
    assert answer.citations[0].source == "grounding"
    assert answer.citations[0].title == "529425287-What-Is-a-Business-Model"
    assert answer.entities[0].kind == "file"
    assert "EntityRepresentationId=ce9ee99a" in answer.entities[0].url


def test_stream_web_off_answer() -> None:
    answer = stream_events(2)[-1].answer
    assert answer.citations == ()
    assert answer.text.startswith("You asked: **What is the highest grossing movie")


def test_stream_external_marker_becomes_a_context_citation() -> None:
    answer = stream_events(3)[-1].answer
    assert "**John Doe's birthday is on January 1st**[1]." in answer.text
    assert [(c.index, c.source, c.url) for c in answer.citations] == [(1, "external", None)]
    assert answer.turn_count == 4


@pytest.mark.parametrize("number", range(4))
def test_every_stream_example_streams_exactly_its_final_text(number: int) -> None:
    events = stream_events(number)
    answer = events[-1].answer
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == answer.text


def test_structured_output_and_rendering() -> None:
    answer = sync_answer(0)
    data = answer.structured()
    assert data["citations"] == [
        {"index": 1, "title": "Contoso Engineering Standup", "url": STANDUP_SYNC, "source": "model"}
    ]
    assert data["conversation_id"] == answer.conversation_id and data["turn_count"] == 1
    rendered = answer.render()
    assert rendered.startswith(answer.text.rstrip())
    assert f"Sources:\n[1] Contoso Engineering Standup — {STANDUP_SYNC}" in rendered


def test_create_examples_parse_with_either_state_spelling() -> None:
    for body in reference.create_responses():
        conversation = Conversation.model_validate(body)
        assert conversation.state == "active" and conversation.turn_count == 0
        assert conversation.to_wire()["state"] == "active"
