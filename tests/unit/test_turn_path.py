"""Regressions found while speeding up the ``/chat`` turn path (issue 17)."""

from __future__ import annotations

from copilot_tools._protocol import parse_conversation
from copilot_tools._text import is_encodable
from copilot_tools.answer import find_reply
from copilot_tools.streaming import build_answer


def test_a_lone_surrogate_in_an_unknown_attribution_key_is_made_encodable() -> None:
    # Found by tests/property/test_normaliser.py: the JSON-mode dump of the attribution raised
    # UnicodeEncodeError for a key only a caller's dict (never bytes read through _json) can hold.
    body = {"id": "c", "turnCount": 1,
            "messages": [{"id": "r", "text": "[", "attributions": [{"": {"\ud83d": None}}]}]}
    conversation = parse_conversation(body)
    answer = build_answer(conversation, find_reply(conversation, ""))
    assert answer.attributions == ({"": {"\ufffd": None}},)
    assert all(is_encodable(key) for item in answer.attributions for key in item[""])


def test_the_attributions_dumped_in_one_call_are_what_to_wire_gives() -> None:
    from copilot_tools._wire import Attribution
    from copilot_tools.answer import _attributions_wire

    attributions = [
        Attribution.model_validate(item) for item in (
            {}, {"attributionType": "citation", "seeMoreWebUrl": "https://x", "imageWidth": 3, "imageHeight": None},
            {"providerDisplayName": "é 📅", "extra": {"nested": [1, None, {"a": "b"}]}, "n": 1.5, "t": True},
            {"attribution_type": "annotation", "see_more_web_url": "u", "unknownFutureValue": None},
        )
    ]
    assert _attributions_wire(attributions) == [a.to_wire() for a in attributions]
    assert _attributions_wire([]) == []


def test_the_request_id_is_set_only_when_there_is_one() -> None:
    from tests import reference

    conversation = parse_conversation(reference.chat_examples()[0][1])
    reply = find_reply(conversation, reference.chat_examples()[0][0]["message"]["text"])
    with_id, without = build_answer(conversation, reply, request_id="r-1"), build_answer(conversation, reply)
    assert with_id.request_id == "r-1" and without.request_id is None
    assert with_id.model_fields_set == without.model_fields_set | {"request_id"}
    assert "request_id" not in without.model_fields_set
    assert with_id.model_copy(update={"request_id": None}) == without
