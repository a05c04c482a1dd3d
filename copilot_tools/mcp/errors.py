"""``CopilotError`` → a tool error the host model can act on.

A tool error is a normal ``CallToolResult`` with ``isError`` set: the model reads it and
decides what to do next (retry later, tell the user to sign in, start a new
conversation, fix an argument). The text is ``copilot_tools.agent_text.error_text``
(the same the LangChain tools give); the same facts go into ``_meta`` under
``copilot-tools/error`` for programs.
"""

from __future__ import annotations

from collections.abc import Mapping

from mcp.types import CallToolResult, TextContent

from copilot_tools.agent_text import error_details, error_text
from copilot_tools.errors import CopilotError

ERROR_META_KEY = "copilot-tools/error"


def error_result(
    error: CopilotError,
    *,
    argument_names: Mapping[str, str] | None = None,
    conversation_id: str | None = None,
) -> CallToolResult:
    """The tool result for ``error``.

    ``argument_names`` maps the core's argument names to this tool's, so an input error
    names the argument the model sent; ``conversation_id`` is the conversation the failed
    turn belonged to, when the model knows it (see ``agent_text.error_text``).
    """
    names = argument_names or {}
    return CallToolResult(
        content=[TextContent(type="text",
                             text=error_text(error, argument_names=names, conversation_id=conversation_id))],
        is_error=True,
        _meta={ERROR_META_KEY: error_details(error, argument_names=names, conversation_id=conversation_id)},
    )
