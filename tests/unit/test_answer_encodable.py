"""Every string an ``Answer`` carries encodes as UTF-8, also from a conversation a caller built."""

from __future__ import annotations

from copilot_tools._protocol import parse_conversation
from copilot_tools.answer import find_reply
from copilot_tools.streaming import build_answer
from tests.property.strategies import encodable_everywhere


def test_the_label_ids_and_state_of_a_callers_dict_are_made_encodable() -> None:
    # A dict is validated as it is (no _json on the way): its lone surrogates reach normalize_message.
    label = {"sensitivityLabelId": "\ud83d", "displayName": "\udc00", "toolTip": "\ud800", "color": "", "priority": 1}
    body = {"id": "c\ud83d", "turnCount": 1, "state": "\udfff",
            "messages": [{"id": "r\ud800", "text": "hi", "sensitivityLabel": label}]}
    conversation = parse_conversation(body)
    answer = build_answer(conversation, find_reply(conversation, "q"))
    encodable_everywhere(answer)
    answer.model_dump_json()
    assert answer.sensitivity_label is not None
    assert (answer.sensitivity_label.id, answer.sensitivity_label.name, answer.sensitivity_label.color) == (
        "\ufffd", "\ufffd", "")
    assert (answer.conversation_id, answer.message_id, answer.state) == ("c\ufffd", "r\ufffd", "\ufffd")
