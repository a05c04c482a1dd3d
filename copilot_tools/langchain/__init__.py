"""Microsoft 365 Copilot for LangChain: tools, a toolkit, a retriever and a chat model.

Needs the ``langchain`` extra: ``pip install "copilot-tools[langchain]"``.

- ``CopilotToolkit(...).get_tools()``: every tool of ``copilot_tools.agent`` (``ask_copilot``,
  ``ask_with_files``, ``continue_conversation``, ``retrieve``, ``whoami``), the MCP server's
  tools, each a ``CopilotTool``; each returns the text for the model and the structured
  result (citations, conversation id, label) as artifact.
- ``CopilotRetriever``: the passages Copilot would ground on, as ``Document``s.
- ``ChatCopilot``: Copilot as a chat model, citations as v1 ``citation`` annotations.

Nothing here is imported by ``copilot_tools`` itself, so the core never needs LangChain.
"""

from __future__ import annotations

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'copilot_tools.langchain needs LangChain, which is not installed. '
        'Install the extra: pip install "copilot-tools[langchain]"',
        name=exc.name,
    ) from exc

from copilot_tools.langchain.chat_models import ChatCopilot
from copilot_tools.langchain.retrievers import CopilotRetriever
from copilot_tools.langchain.toolkit import CopilotToolkit
from copilot_tools.langchain._clients import CopilotConnection
from copilot_tools.langchain.tools import (
    CopilotAskTool,
    CopilotAskWithFilesTool,
    CopilotContinueConversationTool,
    CopilotRetrieveTool,
    CopilotStatusTool,
    CopilotTool,
)

__all__ = [
    "ChatCopilot",
    "CopilotAskTool",
    "CopilotAskWithFilesTool",
    "CopilotConnection",
    "CopilotContinueConversationTool",
    "CopilotRetrieveTool",
    "CopilotRetriever",
    "CopilotStatusTool",
    "CopilotTool",
    "CopilotToolkit",
]
