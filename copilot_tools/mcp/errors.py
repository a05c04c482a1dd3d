"""``CopilotError`` → a tool error the host model can act on.

A tool error is a normal ``CallToolResult`` with ``isError`` set: the model reads it and
decides what to do next (retry later, tell the user to sign in, start a new
conversation, fix an argument). The text is ``copilot_tools.agent.tool_error``'s (the
same the LangChain tools give); the same facts go into ``_meta`` under
``copilot-tools/error`` for programs. No ``structuredContent``: clients validate it
against the tool's output schema, which describes a success.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp.types import CallToolResult, TextContent

from copilot_tools.agent import ToolSpec, tool_error
from copilot_tools.errors import CopilotError

ERROR_META_KEY = "copilot-tools/error"


def error_result(
    spec: ToolSpec[Any, Any], error: CopilotError, arguments: Mapping[str, Any] | None = None
) -> CallToolResult:
    """The tool result for ``error`` raised by ``spec`` called with ``arguments``."""
    report = tool_error(spec, error, arguments)
    return CallToolResult(content=[TextContent(type="text", text=report.text)], is_error=True,
                          _meta={ERROR_META_KEY: report.details})
