"""LangChain messages to a Copilot turn, and Copilot's answer back to LangChain messages.

The chat model is stateless from LangChain's side, as every LangChain chat model is:
the caller sends the whole history each time. Copilot, though, keeps conversations on
the service, and only a conversation it holds can be continued. So a history that ends
with an ``AIMessage`` this model produced (its ``response_metadata`` names the
conversation) followed by new human input continues that conversation with only the
new input, provided the history up to that answer is the conversation's latest state
(``_branches``: forks, retries, regenerations and fallbacks never share a conversation).
Any other history starts a new conversation whose prompt is the last human message,
with every earlier message (system messages included) passed as an
``additionalContext`` entry that says what it was.

Answers become v1 content: one text block (the answer with its ``[n]`` markers) whose
``annotations`` are ``citation`` annotations, one per marker with its span in the text,
then one (without a span) per source Copilot used but did not mark.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from copilot_tools.langchain._branches import ConversationLedger, answer_digest, history_digest
from copilot_tools.errors import InvalidInputError

if TYPE_CHECKING:
    from copilot_tools.answer import Answer, Citation

logger = logging.getLogger("copilot_tools.langchain")

#: ``response_metadata["model_provider"]`` of every message ChatCopilot produces.
PROVIDER = "microsoft-365-copilot"

_MARKER = re.compile(r"\[(\d+)\]")
# Content blocks Copilot cannot take: it reads text, and files only as OneDrive/SharePoint links.
_MEDIA_BLOCKS = frozenset({"image", "image_url", "file", "audio", "input_audio", "video", "document"})


# --- messages -> turn ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Turn:
    """What to send: the prompt, the conversation to continue (if any) and extra context."""

    message: str
    conversation_id: str | None = None
    additional_context: tuple[dict[str, str], ...] = ()
    history: str = ""
    """The digest of the whole history sent (``_branches.history_digest``)."""

    def answered(self, ledger: ConversationLedger, conversation_id: str | None, text: str) -> None:
        """Record that ``conversation_id`` now ends with this history and the answer ``text``."""
        ledger.record(conversation_id, answer_digest(self.history, text))


def plan_turn(messages: Sequence[BaseMessage], ledger: ConversationLedger) -> Turn:
    """The Copilot turn for a LangChain history (see the module docstring)."""
    if not messages:
        raise InvalidInputError("messages", "no messages were given", hint="Pass at least one human message.")
    last_ai = next((i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], AIMessage)), None)
    answered = history_digest(messages[: last_ai + 1]) if last_ai is not None else history_digest(())
    history = history_digest(messages[last_ai + 1 :] if last_ai is not None else messages, answered)
    if last_ai is not None:
        conversation_id = own_conversation_id(messages[last_ai])
        new_input = messages[last_ai + 1 :]
        if conversation_id and new_input and all(_is_human(m) for m in new_input):
            prompt = "\n\n".join(text for m in new_input if (text := _human_text(m)))
            if ledger.claim(conversation_id, answered):
                return Turn(prompt, conversation_id, history=history)
    if not _is_human(messages[-1]):
        raise InvalidInputError(
            "messages",
            f"the history ends with a {type(messages[-1]).__name__}; Copilot answers the last human message",
            hint="End the messages with a HumanMessage holding the question.",
        )
    earlier = messages[:-1]
    context = tuple(
        entry for position, message in enumerate(earlier, 1)
        if (entry := _context_entry(message, position, len(earlier))) is not None
    )
    return Turn(_human_text(messages[-1]), None, context, history)


def own_conversation_id(message: BaseMessage) -> str | None:
    """The conversation id of an answer ChatCopilot produced, else None."""
    metadata = message.response_metadata
    if metadata.get("model_provider") != PROVIDER:
        return None
    conversation_id = metadata.get("conversation_id")
    return conversation_id if isinstance(conversation_id, str) and conversation_id else None


def _is_human(message: BaseMessage) -> bool:
    return isinstance(message, HumanMessage) or (
        isinstance(message, ChatMessage) and message.role in ("user", "human")
    )


def _human_text(message: BaseMessage) -> str:
    if isinstance(message.content, list):
        for block in message.content:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind in _MEDIA_BLOCKS:
                raise InvalidInputError(
                    "messages",
                    f"a human message has a {kind!r} content block; Copilot takes text only",
                    hint="Ground the question in OneDrive or SharePoint documents with files=[url, ...] instead.",
                )
    return message.text


def _context_entry(message: BaseMessage, position: int, total: int) -> dict[str, str] | None:
    text: str
    where = f"Earlier in this conversation (message {position} of {total})"
    if isinstance(message, SystemMessage):
        text, description = message.text, "Instructions from the application (system message)"
    elif _is_human(message):
        text, description = _human_text(message), f"{where}, the user wrote"
    elif isinstance(message, AIMessage):
        calls = [f"(called the tool {c['name']} with {json.dumps(c['args'], ensure_ascii=False)})"
                 for c in message.tool_calls]
        text, description = "\n".join(filter(None, [message.text, *calls])), f"{where}, the assistant replied"
    elif isinstance(message, ToolMessage):
        name = message.name or "a tool"
        text, description = message.text, f"{where}, {name} returned"
    else:
        text, description = message.text, f"{where}, {getattr(message, 'role', message.type)} wrote"
    if not text.strip():
        return None
    return {"text": text, "description": description}


# --- answer -> message --------------------------------------------------------------------


def apply_stop(text: str, stop: Sequence[str] | None) -> tuple[str, str | None]:
    """``text`` cut before the earliest stop sequence, and the sequence that cut it.

    Copilot has no stop sequences, so they are applied to its answer here: the text
    ends where one first appears, as it would with a model that honours them.
    """
    best: tuple[int, str] | None = None
    for sequence in stop or ():
        if sequence:
            index = text.find(sequence)
            if index != -1 and (best is None or index < best[0]):
                best = (index, sequence)
    return (text, None) if best is None else (text[: best[0]], best[1])


def citation_annotations(text: str, citations: Sequence[Citation]) -> list[dict[str, Any]]:
    """v1 ``citation`` annotations for ``text``: one per ``[n]`` marker, then the unmarked sources."""
    by_index = {citation.index: citation for citation in citations}
    annotations: list[dict[str, Any]] = []
    marked: set[int] = set()
    for match in _MARKER.finditer(text):
        citation = by_index.get(int(match.group(1)))
        if citation is not None:
            annotations.append(_annotation(citation, match.start(), match.end()))
            marked.add(citation.index)
    annotations.extend(_annotation(c) for c in citations if c.index not in marked)
    return annotations


def _annotation(citation: Citation, start: int | None = None, end: int | None = None) -> dict[str, Any]:
    annotation: dict[str, Any] = {"type": "citation"}
    if citation.url:
        annotation["url"] = citation.url
    if citation.title:
        annotation["title"] = citation.title
    if start is not None and end is not None:
        annotation["start_index"], annotation["end_index"] = start, end
    annotation["extras"] = {k: v for k, v in {"index": citation.index, "source": citation.source}.items()
                            if v is not None}
    return annotation


def response_metadata(answer: Answer, model_name: str, stop_sequence: str | None) -> dict[str, Any]:
    """What every ChatCopilot message carries besides its text (no token usage: Copilot gives none)."""
    metadata: dict[str, Any] = {
        "model_provider": PROVIDER,
        "model_name": model_name,
        "conversation_id": answer.conversation_id,
        "turn_count": answer.turn_count,
        "sensitivity_label": answer.sensitivity_label.model_dump() if answer.sensitivity_label else None,
    }
    if stop_sequence is not None:
        metadata["stop_sequence"] = stop_sequence
    return metadata


def text_block(text: str, citations: Sequence[Citation], *, index: int | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    if index is not None:
        block["index"] = index
    annotations = citation_annotations(text, citations)
    if annotations:
        block["annotations"] = annotations
    return block


def answer_message(answer: Answer, model_name: str, stop: Sequence[str] | None) -> AIMessage:
    text, stop_sequence = apply_stop(answer.text, stop)
    return AIMessage(
        content=[text_block(text, answer.citations)],
        response_metadata=response_metadata(answer, model_name, stop_sequence),
        id=answer.message_id,
    )


# --- streaming ----------------------------------------------------------------------------


class StreamText:
    """Decides which text a stream may hand out, so the chunks add up to the final answer.

    LangChain chunks are additive: text handed out can never be taken back. Copilot,
    though, sometimes rewrites text it has already sent (``TextReset``: it inserts
    citation markers and entity tags, or rephrases the sentence it is writing). So text
    goes out a line at a time: a line is handed out once the next one has begun, and a
    rewrite of the line still being written costs nothing. With stop sequences, the end
    of the released text that could begin one is held back as well. At the end, the rest
    of the final answer goes out, and the chunks add up to exactly the final answer.

    A rewrite of a line already handed out has never been seen (the CLI's pipe output
    makes the same assumption). If it happens, the lines already out stay, the final
    answer continues from the first line not yet out, ``diverged`` becomes True and a
    warning is logged: the streamed message then differs from the final answer in those
    lines, and the annotations are computed on the streamed text, so they stay right.
    """

    def __init__(self, stop: Sequence[str] | None = None) -> None:
        self._stop = [s for s in stop or () if s]
        self.sent = ""
        self.diverged = False

    def update(self, shown: str) -> str:
        """The text to hand out now that the reply reads ``shown`` (the stream's ``text``; possibly empty)."""
        return self._release(self._releasable(shown))

    def finish(self, final_text: str) -> str:
        """The rest of ``final_text`` (already cut at a stop sequence) to hand out last."""
        if final_text.startswith(self.sent):
            rest = final_text[len(self.sent):]
        else:
            self.diverged = True
            lines_out = self.sent.count("\n")
            rest = "\n".join(final_text.split("\n")[lines_out:])
            logger.warning(
                "Copilot rewrote text it had already streamed; the streamed message keeps %d earlier "
                "line(s) as first sent and differs from the final answer there", lines_out,
            )
        self.sent += rest
        return rest

    def _releasable(self, shown: str) -> str:
        text, stop_sequence = apply_stop(shown, self._stop)
        complete = text[: text.rfind("\n") + 1]
        if self._stop and stop_sequence is None:
            # A stop sequence may begin at the end of the complete lines and end in the next one.
            complete = complete[: max(0, len(complete) - (max(map(len, self._stop)) - 1))]
        return complete

    def _release(self, target: str) -> str:
        if target.startswith(self.sent):
            piece, self.sent = target[len(self.sent):], target
            return piece
        return ""  # a rewrite reached text already out: wait for the final answer


def text_chunk(text: str) -> AIMessageChunk:
    """A streamed piece of the one text block (fixed index, no per-chunk id, so pieces merge)."""
    return AIMessageChunk(content=[{"type": "text", "text": text, "index": 0}])


def last_chunk(stream: StreamText, answer: Answer, model_name: str, stop: Sequence[str] | None) -> AIMessageChunk:
    """The final chunk: the rest of the text, every annotation and the response metadata."""
    final_text, stop_sequence = apply_stop(answer.text, stop)
    rest = stream.finish(final_text)
    block = text_block(rest, (), index=0)
    annotations = citation_annotations(stream.sent, answer.citations)
    if annotations:
        block["annotations"] = annotations
    metadata = response_metadata(answer, model_name, stop_sequence)
    if stream.diverged:
        metadata["streamed_text_differs"] = True
    return AIMessageChunk(content=[block], response_metadata=metadata, id=answer.message_id,
                          chunk_position="last")
