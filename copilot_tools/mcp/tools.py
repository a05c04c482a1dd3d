"""Every ``copilot_tools.agent`` spec as an MCP tool, by one generic adapter.

The spec's input model is published as the ``inputSchema`` (``$ref``s inlined) and the
spec parses the arguments itself, so an argument off the schema (missing, wrong type,
21 files) comes back as the same tool error as every other: kind, which argument, what
to do; never a validator's text. The output model is the ``outputSchema``; the SDK
validates each ``structuredContent`` against it before sending. The content is the
spec's text for the model, then one ``resource_link`` per cited source. Every
``CopilotError`` becomes a tool error (``errors.error_result``), never a crash; a
sign-in the user must do is first offered through the host (``signin``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import ConfigDict

from copilot_tools.agent import ToolContext, ToolOutput, ToolSpec, all_tools, portable_schema
from copilot_tools.auth.errors import SignInRequiredError
from copilot_tools.errors import CopilotError
from copilot_tools.mcp.content import output_result
from copilot_tools.mcp.errors import error_result
from copilot_tools.mcp.icons import tool_icons
from copilot_tools.mcp.signin import sign_in_then

if TYPE_CHECKING:
    from copilot_tools.mcp.server import Runtime


class _RawArguments(ArgModelBase):
    """The SDK's argument model for a spec tool: accepts anything (the spec validates)."""

    model_config = ConfigDict(extra="allow")


class _SpecMetadata(FuncMetadata):
    """Hands the raw arguments to the tool function as ``arguments``: the spec parses them."""

    def validate_arguments(self, arguments_to_validate: dict[str, Any]) -> dict[str, Any]:
        return {"arguments": dict(arguments_to_validate)}


def annotations_of(spec: ToolSpec[Any, Any]) -> ToolAnnotations:
    hints = spec.hints
    return ToolAnnotations(read_only_hint=hints.read_only, destructive_hint=hints.destructive,
                           idempotent_hint=hints.idempotent, open_world_hint=hints.open_world)


def spec_tool(spec: ToolSpec[Any, Any], runtime: Runtime) -> Tool:
    """``spec`` as an MCP tool bound to ``runtime`` (its clients, settings and transcripts)."""

    async def call(arguments: dict[str, Any], ctx: Context) -> CallToolResult:
        reports = 0

        async def progress(message: str) -> None:
            nonlocal reports
            reports += 1
            await ctx.report_progress(reports, message=message)

        async def attempt() -> ToolOutput:
            tool_ctx = ToolContext(
                client=runtime.client(), progress=progress, transcripts=runtime.conversations,
                identity=runtime.identity, progress_interval=runtime.progress_interval,
                throttle_budget=runtime.settings.throttle_budget,
            )
            output: ToolOutput = await spec(tool_ctx, arguments)
            return output

        try:
            try:
                output = await attempt()
            except SignInRequiredError as exc:
                signed_in = await sign_in_then(ctx, exc, attempt, progress)
                if signed_in is None:
                    raise
                output = signed_in
        except CopilotError as exc:
            return error_result(spec, exc, arguments)
        return output_result(output)

    return Tool(
        fn=call,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        parameters=portable_schema(spec.input_model),
        fn_metadata=_SpecMetadata(
            arg_model=_RawArguments,
            output_schema=portable_schema(spec.output_model, mode="serialization"),
            output_model=spec.output_model,
        ),
        is_async=True,
        context_kwarg="ctx",
        annotations=annotations_of(spec),
        icons=tool_icons(spec.name),
    )


def build_tools(runtime: Runtime) -> list[Tool]:
    """The server's tools: every spec in ``copilot_tools.agent.all_tools()``."""
    return [spec_tool(spec, runtime) for spec in all_tools()]
