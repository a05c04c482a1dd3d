"""One odd value in a reply never throws the answer away (issue 12: tolerant about what we read).

Each odd value is put into a real reference body and fed through the real clients (tests/canned.py);
the answer survives with everything else intact, and a warning says what was odd.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

from copilot_tools import AnswerComplete
from copilot_tools._text import is_encodable
from copilot_tools.answer import Answer
from tests import reference
from tests.canned import CONVERSATION_ID, Canned

REQUEST, RESPONSE = reference.chat_examples()[0]
PROMPT = REQUEST["message"]["text"]


def ask(response: dict[str, Any]) -> Answer:
    with Canned(chat=response).sync_client() as client:
        return client.chat(CONVERSATION_ID, PROMPT)


def reply_of(response: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in response["messages"] if m["text"] != PROMPT)


BASELINE = ask(RESPONSE)


def odd(mutate: Any) -> dict[str, Any]:
    response = copy.deepcopy(RESPONSE)
    mutate(response)
    return response


@pytest.mark.parametrize(
    "cards", ["<card/>", None, 7, ["a string", None, {"type": "AdaptiveCard"}], '{"type": "AdaptiveCard"}']
)
def test_adaptive_cards_that_are_strings_or_null(cards: Any, caplog: pytest.LogCaptureFixture) -> None:
    answer = ask(odd(lambda r: reply_of(r).__setitem__("adaptiveCards", cards)))
    assert answer.text == BASELINE.text and answer.citations == BASELINE.citations
    assert all(isinstance(card, dict) for card in answer.adaptive_cards)


def test_dates_that_are_not_iso_8601(caplog: pytest.LogCaptureFixture) -> None:
    def mutate(response: dict[str, Any]) -> None:
        response["createdDateTime"] = "yesterday at noon"
        for message in response["messages"]:
            message["createdDateTime"] = "31/12/2025"

    with caplog.at_level(logging.DEBUG, logger="copilot_tools"):
        answer = ask(odd(mutate))
    assert answer.text == BASELINE.text
    assert "createdDateTime" in caplog.text


def test_turn_count_null_in_a_synchronous_reply(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="copilot_tools"):
        answer = ask(odd(lambda r: r.__setitem__("turnCount", None)))
    assert answer.text == BASELINE.text and answer.turn_count == 0
    assert "turnCount" in caplog.text


def test_turn_count_null_on_the_last_event_of_a_stream(caplog: pytest.LogCaptureFixture) -> None:
    body = reference.captured_stream()
    final = body.rindex(b'"turnCount":')
    mutated = body[:final] + body[final:].replace(b'"turnCount":1', b'"turnCount":null', 1)
    assert mutated != body
    with caplog.at_level(logging.DEBUG, logger="copilot_tools"), Canned(stream=mutated).sync_client() as client:
        events = list(client.stream(CONVERSATION_ID, reference.CAPTURE_PROMPT))
    with Canned(stream=body).sync_client() as client:
        expected = list(client.stream(CONVERSATION_ID, reference.CAPTURE_PROMPT))[-1].answer
    assert isinstance(events[-1], AnswerComplete)
    assert events[-1].answer.text == expected.text and events[-1].answer.citations == expected.citations
    assert "turnCount" in caplog.text


def test_messages_out_of_order_pick_the_reply_not_the_last_message() -> None:
    answer = ask(odd(lambda r: r["messages"].reverse()))
    assert answer.text == BASELINE.text and answer.message_id == BASELINE.message_id


def test_messages_out_of_order_in_the_final_stream_event() -> None:
    request, body = reference.stream_examples()[0]
    prompt = request["message"]["text"]
    start = body.rindex(b"data: ") + len(b"data: ")
    end = body.rindex(b"\nid:")
    final = json.loads(body[start:end])
    final["messages"].reverse()
    mutated = body[:start] + json.dumps(final).encode() + body[end:]
    answers = []
    for stream in (body, mutated):
        with Canned(stream=stream).sync_client() as client:
            answers.append(list(client.stream(CONVERSATION_ID, prompt))[-1].answer)
    assert answers[1].text == answers[0].text and answers[1].message_id == answers[0].message_id


def test_an_odd_attribution_is_left_out_and_the_rest_kept(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="copilot_tools"):
        answer = ask(odd(lambda r: reply_of(r)["attributions"].append({"imageWidth": "wide", "seeMoreWebUrl": 5})))
    assert answer.text == BASELINE.text and answer.citations == BASELINE.citations
    assert "imageWidth" in caplog.text


def test_a_lone_surrogate_escape_becomes_encodable_text() -> None:
    raw = json.dumps(RESPONSE).replace("You asked", "You \\ud83d asked", 1)
    with Canned(chat=raw).sync_client() as client:
        answer = client.chat(CONVERSATION_ID, PROMPT)
    assert "\ufffd" in answer.text and is_encodable(answer.text) and is_encodable(answer.raw_text)
    answer.text.encode("utf-8")


def test_a_card_nested_thousands_deep_keeps_the_answer(caplog: pytest.LogCaptureFixture) -> None:
    deep: Any = {"type": "TextBlock", "text": "deep"}
    for _ in range(5000):
        deep = {"type": "Container", "items": [deep]}
    text = json.dumps(RESPONSE)
    # json.dumps itself cannot go 5,000 deep: splice the card in as text.
    nested = '{"items": [' * 5000 + '{"type": "TextBlock", "text": "deep"}' + "]}" * 5000
    card = '{"type": "AdaptiveCard", "body": [' + nested + "]}"
    marker = '"adaptiveCards": [{}]'
    assert marker in text
    with caplog.at_level(logging.DEBUG, logger="copilot_tools"):
        answer = ask_raw(text.replace(marker, f'"adaptiveCards": [{card}]', 1))
    assert answer.text == BASELINE.text
    answer.model_dump_json()  # every front end can serialise it
    assert "nested deeper" in caplog.text


def ask_raw(body: str) -> Answer:
    with Canned(chat=body).sync_client() as client:
        return client.chat(CONVERSATION_ID, PROMPT)


# --- retrieval -----------------------------------------------------------------------------------

_, RETRIEVAL_REQUEST, RETRIEVAL_RESPONSE = reference.retrieval_examples()[0]


def retrieve(response: Any) -> list[Any]:
    with Canned(retrieval=response).sync_client() as client:
        return client.retrieve(RETRIEVAL_REQUEST["queryString"])


def test_a_hit_without_web_url_keeps_its_extracts() -> None:
    response = copy.deepcopy(RETRIEVAL_RESPONSE)
    del response["retrievalHits"][0]["webUrl"]
    hits = retrieve(response)
    assert len(hits) == len(RETRIEVAL_RESPONSE["retrievalHits"])
    assert hits[0].url == "" and hits[0].extracts and hits[0].text


def test_an_extract_with_null_text_and_null_hits(caplog: pytest.LogCaptureFixture) -> None:
    response = copy.deepcopy(RETRIEVAL_RESPONSE)
    response["retrievalHits"][0]["extracts"][0]["text"] = None
    with caplog.at_level(logging.DEBUG, logger="copilot_tools"):
        hits = retrieve(response)
        assert retrieve({"retrievalHits": None}) == []
    assert hits[0].extracts[0].text == "" and hits[0].extracts[1].text
    assert "retrievalHits" in caplog.text


def test_a_batch_header_whose_value_is_a_number() -> None:
    path, _, response = reference.retrieval_examples()[2]
    assert path.endswith("$batch")
    responses = copy.deepcopy(response["responses"])
    for item in responses:
        item["headers"] = {"Content-Type": "application/json", "Retry-After": 0, "x-count": 3.5}
    canned = Canned(batch_responses=responses)
    with canned.sync_client() as client:
        hits = client.retrieve_many(RETRIEVAL_REQUEST["queryString"], data_sources=["sharePoint", "externalItem"])
    assert hits and all(hit.extracts for hit in hits)
