"""The JSON bodies the emulator sends, built from the shared wire models.

Everything goes through ``copilot_tools._wire``: whatever the emulator sends, the client
can parse, by construction. Dumps use ``exclude_unset`` so that a field appears exactly
when the reference shows it: ``agentId: null`` on stream events but not on ``/chat``,
a sensitivity label with every field present and null when there is none.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from copilot_tools._wire import (
    RESPONSE_MESSAGE_TYPE,
    Conversation,
    ResponseMessage,
    SensitivityLabel,
    WireModel,
)
from copilot_tools.emulator.conversations import ConversationRecord, Turn
from copilot_tools.emulator.corpus import Label
from copilot_tools.emulator.draft import Reply
from copilot_tools.emulator.ids import graph_time, utc_now

INTERMEDIATE = "Intermediate Conversation Update"
ADAPTIVE_CARDS = "adaptiveCards"
#: Fields whose wire names are not identifiers go in by alias.
_MESSAGE_TYPE: dict[str, Any] = {"@odata.type": RESPONSE_MESSAGE_TYPE}


def _context(base: str, fragment: str) -> dict[str, Any]:
    return {"@odata.context": f"{base}/$metadata#{fragment}"}


def stream_context(base: str, conversation_id: str) -> str:
    """The ``@odata.context`` of every event of a Graph stream, as the capture shows it."""
    return (f"{base}/copilot/conversations('{conversation_id}')/microsoft.graph.copilot.chatOverStream"
            "/$metadata#Edm.Stream/$entity")


def _stream_context(context: str | None) -> dict[str, Any]:
    return {} if context is None else {"@odata.context": context}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return graph_time(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


def dump(model: WireModel) -> dict[str, Any]:
    """The model as JSON data: wire names, only the fields set, Graph's timestamps."""
    return _jsonable(model.model_dump(mode="python", by_alias=True, exclude_unset=True))  # type: ignore[no-any-return]


def sensitivity_label(label: Label | None) -> SensitivityLabel:
    """The label object, field for field (``Label`` has the wire's names); with no label every
    field is present and null, as in the reference."""
    if label is None:
        return SensitivityLabel(**dict.fromkeys(SensitivityLabel.model_fields))
    return SensitivityLabel(**asdict(label))


if {field.name for field in fields(Label)} != set(SensitivityLabel.model_fields):  # pragma: no cover
    raise ImportError("emulator.corpus.Label is out of step with the wire's SensitivityLabel")


def adaptive_card(text: str) -> dict[str, Any]:
    return {
        "type": "AdaptiveCard",
        "version": "1.0",
        "body": [{"type": "TextBlock", "text": text, "wrap": True}],
    }


def prompt_message(turn: Turn) -> ResponseMessage:
    return ResponseMessage(
        **_MESSAGE_TYPE,
        id=turn.prompt_id,
        text=turn.prompt,
        created_date_time=turn.asked,
        adaptive_cards=[],
        attributions=[],
        sensitivity_label=sensitivity_label(None),
    )


def reply_message(turn: Turn, *, partial: str | None = None, streamed: bool = False) -> ResponseMessage:
    """The reply, whole or as far as ``partial`` goes; streamed replies carry a real card."""
    reply: Reply = turn.reply
    text = reply.text if partial is None else partial
    if streamed:
        cards = [adaptive_card(reply.card_text(text))] if text else []
    else:
        cards = [{}]
    return ResponseMessage(
        **_MESSAGE_TYPE,
        id=turn.reply_id,
        text=text,
        created_date_time=turn.replied,
        adaptive_cards=cards,
        attributions=reply.attributions(partial),
        sensitivity_label=sensitivity_label(reply.label),
    )


def created_conversation(record: ConversationRecord, base: str) -> dict[str, Any]:
    return dump(
        Conversation(
            **_context(base, "copilot/conversations/$entity"),
            id=record.id,
            created_date_time=record.created,
            display_name="",
            state="active",
            turn_count=0,
        )
    )


def chat_result(turn: Turn, base: str) -> dict[str, Any]:
    return dump(
        Conversation(
            **_context(base, "microsoft.graph.copilotConversation"),
            id=turn.conversation_id,
            created_date_time=turn.asked,
            display_name=turn.display_name,
            state=turn.reply.state,
            turn_count=turn.turn_count,
            messages=[prompt_message(turn), reply_message(turn)],
        )
    )


def stream_snapshot(
    turn: Turn, partial: str | None, *, turn_count: int = 0, context: str | None = None
) -> dict[str, Any]:
    """An intermediate event: the reply so far (``partial``), or a keep-alive when None.

    ``turn_count`` is 0 except on the capture's second keep-alive, which says 1 before
    any reply exists; ``context`` is the stream's ``@odata.context`` (None: left out).
    """
    messages = [] if partial is None else [reply_message(turn, partial=partial, streamed=True)]
    return dump(
        Conversation(
            **_stream_context(context),
            id=turn.conversation_id,
            agent_id=None,
            created_date_time=utc_now(),
            display_name=INTERMEDIATE,
            state=turn.reply.state,
            turn_count=turn_count,
            messages=messages,
        )
    )


def stream_final(turn: Turn, *, context: str | None = None) -> dict[str, Any]:
    return dump(
        Conversation(
            **_stream_context(context),
            id=turn.conversation_id,
            agent_id=None,
            created_date_time=turn.asked,
            display_name=turn.display_name,
            state=turn.reply.state,
            turn_count=turn.turn_count,
            messages=[prompt_message(turn), reply_message(turn, streamed=True)],
        )
    )


def refusal(conversation_id: str, text: str, created: datetime, message_id: str, base: str) -> dict[str, Any]:
    """A conversation whose only message is Copilot refusing (the ``license-403`` body)."""
    return dump(
        Conversation(
            **_context(base, "microsoft.graph.copilotConversation"),
            id=conversation_id,
            created_date_time=created,
            display_name="",
            state="active",
            turn_count=0,
            messages=[
                ResponseMessage(
                    **_MESSAGE_TYPE,
                    id=message_id,
                    text=text,
                    created_date_time=created,
                    adaptive_cards=[{}],
                    attributions=[],
                    sensitivity_label=sensitivity_label(None),
                )
            ],
        )
    )
