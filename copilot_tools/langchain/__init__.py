"""Microsoft 365 Copilot for LangChain: tools, a toolkit, a retriever and a chat model.

Needs the ``langchain`` extra: ``pip install "copilot-tools[langchain]"``.

- ``CopilotToolkit(...).get_tools()``: every tool of ``copilot_tools.agent`` (``ask_copilot``,
  ``ask_with_files``, ``continue_conversation``, ``retrieve``, ``verify_answer``, ``whoami``), the MCP server's
  tools, each a ``CopilotTool``; each returns the text for the model and the structured
  result (citations, conversation id, label) as artifact.
- ``CopilotRetriever``: the passages Copilot would ground on, as ``Document``s.
- ``ChatCopilot``: Copilot as a chat model, citations as v1 ``citation`` annotations.

Nothing here is imported by ``copilot_tools`` itself, so the core never needs LangChain.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import TYPE_CHECKING

from copilot_tools._lazy import lazy_exports


def _langchain_is_installed() -> bool:
    """Whether LangChain is there, asked without importing it: ``import langchain_core`` alone
    loads LangSmith's schemas, the better part of the integration's import time."""
    try:
        return find_spec("langchain_core") is not None
    except ImportError:  # a finder that refuses the name says the same as no spec
        return False


if not _langchain_is_installed():  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'copilot_tools.langchain needs LangChain, which is not installed. '
        'Install the extra: pip install "copilot-tools[langchain]"',
        name="langchain_core",
    )

if TYPE_CHECKING:
    from copilot_tools.langchain._clients import CopilotConnection
    from copilot_tools.langchain.chat_models import ChatCopilot
    from copilot_tools.langchain.retrievers import CopilotRetriever
    from copilot_tools.langchain.toolkit import CopilotToolkit
    from copilot_tools.langchain.tools import (
        CopilotAskTool,
        CopilotAskWithFilesTool,
        CopilotContinueConversationTool,
        CopilotRetrieveTool,
        CopilotStatusTool,
        CopilotTool,
    )

# Public name -> the module that defines it, imported on first use like the core's exports
# (``copilot_tools.__getattr__``): a program that wants the retriever does not pay for the chat
# model's share of LangChain (its tracers and LangSmith), and ``import copilot_tools.langchain``
# costs next to nothing (benchmarks/import_time.py).
_EXPORTS: dict[str, str] = {
    "ChatCopilot": "copilot_tools.langchain.chat_models",
    "CopilotRetriever": "copilot_tools.langchain.retrievers",
    "CopilotToolkit": "copilot_tools.langchain.toolkit",
    "CopilotConnection": "copilot_tools.langchain._clients",
    **dict.fromkeys(
        (
            "CopilotAskTool", "CopilotAskWithFilesTool", "CopilotContinueConversationTool",
            "CopilotRetrieveTool", "CopilotStatusTool", "CopilotTool",
        ),
        "copilot_tools.langchain.tools",
    ),
}


__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})

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
