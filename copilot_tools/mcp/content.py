"""What a tool hands back: text for the model, ``structuredContent`` for programs.

The text is ``copilot_tools.agent_text``'s (the same the LangChain tools give): answers
and retrieved extracts spotlighted between nonce markers, because they come from
documents other people author. This module only puts it in a ``CallToolResult``.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcp.types import CallToolResult, TextContent

from copilot_tools.agent_text import answer_text, hits_text, wrap_untrusted
from copilot_tools.answer import Answer
from copilot_tools._retrieval import RetrievalHit, hits_structured

__all__ = ["answer_result", "hits_result", "wrap_untrusted"]


def answer_result(answer: Answer) -> CallToolResult:
    """The answer rendered for the model, and ``answer.structured()`` for programs."""
    return CallToolResult(
        content=[TextContent(type="text", text=answer_text(answer))],
        structured_content=answer.structured(),
    )


def hits_result(hits: Sequence[RetrievalHit]) -> CallToolResult:
    """Numbered extracts with their sources for the model, every hit for programs."""
    return CallToolResult(content=[TextContent(type="text", text=hits_text(hits))],
                          structured_content=hits_structured(hits))
