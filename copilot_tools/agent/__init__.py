"""One tool layer for every framework: each tool written once, as a ``ToolSpec``.

The MCP server (``copilot_tools.mcp``) and the LangChain tools (``copilot_tools.langchain``)
publish the same tools from these specs, so both give the same descriptions, argument
names and limits, structured results, and errors. Nothing here imports ``mcp`` or
``langchain_core``.

The contract (stable; adapters rely on it)::

    from copilot_tools.agent import ToolContext, all_tools, tool_error

    for spec in all_tools():                 # ask_copilot, ask_with_files, continue_conversation,
        spec.name, spec.title                # retrieve, verify_answer, whoami — a tool added here appears in
        spec.description                     # every framework
        spec.input_model                     # pydantic model (ToolInput): the arguments' schema
        spec.output_model                    # pydantic model (ToolOutput): the structured result
        spec.hints                           # ToolHints(read_only, destructive, idempotent, open_world)
        spec.argument_names                  # every name an error may carry -> the tool's argument name

    ctx = ToolContext(client=async_copilot_client,          # required
                      progress=async_report,                # async (message: str) -> None, optional
                      transcripts=store,                    # Transcripts (record / turns), optional
                      identity=async_identity,              # async () -> Identity | None, optional
                      progress_interval=0.2,                # least seconds between stream reports
                      throttle_budget=20.0)                 # None: the client's retry policy alone
    try:
        output = await spec(ctx, raw_arguments)  # = spec.run(ctx, spec.parse(raw_arguments))
    except CopilotError as error:                # InvalidInputError for arguments off the schema too
        report = tool_error(spec, error, raw_arguments)
        report.text                              # what the model reads: kind, what happened, what to do
        report.details                           # {"kind", "message", "hint", "argument"?, "retry_after"?, ...}
        report.is_configuration                  # the application's set-up is wrong, not the model's call
    output.text()                                # what the model reads (untrusted data spotlighted)
    output.structured()                          # the JSON result (output_model's schema; has ``notice``)
    output.sources()                             # [SourceLink(uri, title, mime_type)] cited, once each

``portable_schema(model)`` gives a model's JSON schema with ``$ref``s inlined, for
publishing. What the model reads (answers, extracts, errors) is in ``agent.text``
(``copilot_tools.agent_text`` is its old name). ``ctx.past_answer(conversation_id, turn)``
looks up an answer recorded in ``ctx.transcripts``.
"""

from __future__ import annotations

from typing import Any

from copilot_tools.agent import models as _models
from copilot_tools.agent import spec as _spec
from copilot_tools.agent.errors import ToolErrorReport, tool_error
from copilot_tools.agent.models import *  # noqa: F403 - the names in models.__all__
from copilot_tools.agent.spec import *  # noqa: F403 - the names in spec.__all__
from copilot_tools.agent.spec import ToolSpec
from copilot_tools.agent.tools import ASK_COPILOT, ASK_WITH_FILES, CONTINUE_CONVERSATION, RETRIEVE, WHOAMI
from copilot_tools.agent.verify import VERIFY_ANSWER, VerificationOutput, VerifyInput

# Each module lists what it exports once, in its own ``__all__`` (as asyncio's package does).
__all__ = ["ToolErrorReport", "VerificationOutput", "VerifyInput", "all_tools", "get_tool", "tool_error"]
__all__ += _models.__all__
__all__ += _spec.__all__

_TOOLS: tuple[ToolSpec[Any, Any], ...] = (
    ASK_COPILOT, ASK_WITH_FILES, CONTINUE_CONVERSATION, RETRIEVE, VERIFY_ANSWER, WHOAMI,
)


def all_tools() -> tuple[ToolSpec[Any, Any], ...]:
    """Every tool, in the order hosts list them."""
    return _TOOLS


def get_tool(name: str) -> ToolSpec[Any, Any]:
    """The spec named ``name`` (``KeyError`` when there is none)."""
    for spec in _TOOLS:
        if spec.name == name:
            return spec
    raise KeyError(name)
