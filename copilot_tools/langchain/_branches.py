"""Which LangChain histories may continue which Copilot conversation, so branches never mix.

A Copilot conversation lives on the service: every turn sent to it is appended there,
whoever sends it. A LangChain history, though, can branch: a LangGraph fork (time
travel to an earlier checkpoint, then a different follow-up), a retry after a failure,
a regenerate, a fallback model given the same input. If each branch continued the one
server conversation, the second branch would be answered from the first branch's turns.

The rule: a history continues a server conversation only when everything up to its
last answer is exactly that conversation's latest state, as this process last saw it
(the same messages, compared by role, text and tool calls). A turn claims the state
before it is sent; a turn that fails leaves the conversation claimed, because the
service may have recorded it, so nothing continues that conversation again. Any other
history (an older state, a changed message, a conversation this process has not seen,
one whose turn failed) starts a new conversation that carries the history as context.

The record is per process and bounded (the oldest conversations are forgotten first,
which only means their next turn starts afresh). A history restored in another process
starts a new conversation with its history as context: never wrong, at the cost of the
service's own memory of the conversation.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, HumanMessage, ToolMessage

#: How many conversations the ledger remembers before forgetting the oldest.
CAPACITY = 10_000
_EMPTY = hashlib.sha256(b"copilot-tools history").hexdigest()


def fingerprint(role: str, text: str, extra: object = None) -> str:
    """One message as the ledger compares it."""
    return json.dumps([role, text, extra], ensure_ascii=False, sort_keys=True, default=str)


def message_fingerprint(message: BaseMessage) -> str:
    """Role, text and (for answers and tool results) the tool calls that tie them together."""
    if isinstance(message, AIMessage):
        calls = [[c["name"], c["args"], c.get("id")] for c in message.tool_calls]
        return fingerprint("ai", message.text, calls or None)
    if isinstance(message, HumanMessage) or (isinstance(message, ChatMessage) and message.role in ("user", "human")):
        return fingerprint("human", message.text)
    if isinstance(message, ToolMessage):
        return fingerprint("tool", message.text, message.tool_call_id)
    return fingerprint(message.type if not isinstance(message, ChatMessage) else message.role, message.text)


def extend(digest: str, piece: str) -> str:
    """The digest of a history one message longer."""
    return hashlib.sha256(f"{digest}\n{piece}".encode("utf-8", "surrogatepass")).hexdigest()


def history_digest(messages: Sequence[BaseMessage], start: str = _EMPTY) -> str:
    """A digest of the whole history: equal digests mean the same messages in the same order.

    ``start`` is the digest of messages before these, so a history is digested once however it is split.
    """
    digest = start
    for message in messages:
        digest = extend(digest, message_fingerprint(message))
    return digest


def answer_digest(history: str, answer_text: str) -> str:
    """The digest of ``history`` followed by the answer ChatCopilot returned (its text as handed out)."""
    return extend(history, fingerprint("ai", answer_text))


class ConversationLedger:
    """The latest state, as a history digest, of each server conversation this process spoke in."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._states: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, conversation_id: str, digest: str) -> bool:
        """Take the next turn of ``conversation_id`` if ``digest`` is its latest state.

        On success the conversation is marked busy until ``record`` gives its new state,
        so a second branch of the same history (sent at once, or after this turn failed)
        cannot continue it.
        """
        with self._lock:
            if self._states.get(conversation_id) != digest:
                return False
            self._states[conversation_id] = None
            self._states.move_to_end(conversation_id)
            return True

    def record(self, conversation_id: str | None, digest: str) -> None:
        """``conversation_id`` now ends with the answer whose history digest is ``digest``."""
        if not conversation_id:
            return
        with self._lock:
            self._states[conversation_id] = digest
            self._states.move_to_end(conversation_id)
            while len(self._states) > self._capacity:
                self._states.popitem(last=False)


#: The ledger every ChatCopilot shares, so a fallback model sees the primary's turns.
LEDGER = ConversationLedger()
