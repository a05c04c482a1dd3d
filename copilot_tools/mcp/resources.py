"""Transcripts of the conversations this server process has held.

The Copilot API has no call that lists a conversation's earlier turns, so the server
keeps what passed through it: each question with its ``Answer``. A host can attach a
transcript (``copilot://conversations/{id}``) to its context, cite from it, or show it
to the user. It lives in memory, per process, bounded: the oldest conversations are
forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from copilot_tools.answer import Answer
from copilot_tools.mcp.content import wrap_untrusted

TRANSCRIPT_TEMPLATE = "copilot://conversations/{conversation_id}"
MAX_CONVERSATIONS = 200
MAX_TURNS = 100


@dataclass(frozen=True, slots=True)
class Turn:
    question: str
    answer: Answer


class ConversationStore:
    """Turns by conversation id, least recently used first out."""

    def __init__(self, max_conversations: int = MAX_CONVERSATIONS, max_turns: int = MAX_TURNS) -> None:
        self._turns: OrderedDict[str, list[Turn]] = OrderedDict()
        self._max_conversations = max_conversations
        self._max_turns = max_turns

    def record(self, question: str, answer: Answer) -> None:
        turns = self._turns.pop(answer.conversation_id, [])
        turns.append(Turn(question, answer))
        self._turns[answer.conversation_id] = turns[-self._max_turns:]
        while len(self._turns) > self._max_conversations:
            self._turns.popitem(last=False)

    def turns(self, conversation_id: str) -> list[Turn] | None:
        return self._turns.get(conversation_id)

    def transcript(self, conversation_id: str) -> str | None:
        """Markdown: every turn's question and rendered answer (with its sources), or None."""
        turns = self.turns(conversation_id)
        if not turns:
            return None
        last = turns[-1].answer
        parts = [
            f"# Copilot conversation {conversation_id}",
            f"{len(turns)} turn(s) held by this server; the conversation is at turn {last.turn_count}.",
        ]
        for number, turn in enumerate(turns, 1):
            parts.append(f"## Turn {number} (Copilot turn {turn.answer.turn_count})")
            parts.append(f"**Question:** {turn.question}")
            parts.append(wrap_untrusted(turn.answer.render()))
        return "\n\n".join(parts) + "\n"
