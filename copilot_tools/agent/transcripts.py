"""``MemoryTranscripts``: the turns one caller's tools asked, held in this process.

Frameworks that run the tools in-process (LangChain's toolkit) hand every tool of one toolkit the
same store, so ``verify_answer`` can find an answer ``ask_copilot`` got earlier. Bounded: the least
recently used conversation goes first, and a conversation keeps its latest turns only. (The MCP
server keeps its transcripts per user in ``copilot_tools.mcp``'s state backends instead.)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from copilot_tools.agent.spec import Turn
from copilot_tools.answer import Answer

MAX_CONVERSATIONS = 200
MAX_TURNS = 100


class MemoryTranscripts:
    """A ``Transcripts`` store in memory, for one caller."""

    def __init__(self, max_conversations: int = MAX_CONVERSATIONS, max_turns: int = MAX_TURNS) -> None:
        self._conversations: OrderedDict[str, list[Turn]] = OrderedDict()
        self._max_conversations = max_conversations
        self._max_turns = max_turns

    async def record(self, question: str, answer: Answer) -> None:
        turns = self._conversations.pop(answer.conversation_id, [])
        turns.append(Turn(question, answer))
        self._conversations[answer.conversation_id] = turns[-self._max_turns:]
        while len(self._conversations) > self._max_conversations:
            self._conversations.popitem(last=False)

    async def turns(self, conversation_id: str) -> Sequence[Turn] | None:
        turns = self._conversations.get(conversation_id)
        return list(turns) if turns is not None else None

    def conversation_ids(self) -> list[str]:
        """The conversations held, the most recently used first."""
        return list(reversed(self._conversations))
