"""Every ``copilot_tools.agent`` tool spec as a LangChain tool, by one generic class: ``CopilotTool``.

The specs are the same ones the MCP server publishes, so both give the same names,
descriptions, argument schemas and limits, structured results and errors (a test
compares them spec by spec). Each tool returns ``(content, artifact)``: the content is
what the agent's model reads (the spec's text: the answer with its numbered sources and
how to follow up, spotlighted between nonce markers because it is data other people
wrote), the artifact is the spec's structured result, exactly the MCP tool's
``structuredContent``.

While a call runs, the spec's progress reports (how much of a streamed answer has
arrived, throttling waits) go to the callbacks as the custom event ``PROGRESS_EVENT``,
as the MCP server sends them as progress notifications.

A Copilot failure the agent can act on (throttled, not signed in, conversation gone,
bad argument, no answer) becomes a ``ToolException`` with the spec's error text (what
happened and what to do); with ``handle_tool_error=True`` (the default here) the
agent's model reads it as the tool's result and the loop goes on. Arguments off the
schema get the same text (``handle_validation_error``). A broken configuration (an
unknown setting, an invalid config file) is not the model's to fix and is raised as is.

``CopilotAskTool`` and the other named classes are ``CopilotTool`` with their spec as
the default, kept for code that builds one tool by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.tools import BaseTool, ToolException
from pydantic import ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from copilot_tools.agent import ToolContext, ToolSpec, get_tool, portable_schema, tool_error
from copilot_tools.agent.models import AskInput, AskWithFilesInput, ContinueInput, RetrieveInput
from copilot_tools.agent.spec import arguments_error
from copilot_tools.agent.transcripts import MemoryTranscripts
from copilot_tools.errors import CopilotError
from copilot_tools.langchain._clients import CopilotConnection, SyncClientInThreads

__all__ = [
    "ASK_DESCRIPTION",
    "ASK_WITH_FILES_DESCRIPTION",
    "CONTINUE_DESCRIPTION",
    "RETRIEVE_DESCRIPTION",
    "AskInput",
    "AskWithFilesInput",
    "ContinueInput",
    "CopilotAskTool",
    "CopilotAskWithFilesTool",
    "CopilotContinueConversationTool",
    "CopilotRetrieveTool",
    "CopilotStatusTool",
    "CopilotTool",
    "RetrieveInput",
]

T = TypeVar("T")

#: The custom callback event each progress report of a tool call is (``astream_events``: ``on_custom_event``),
#: with data ``{"tool": name, "message": "Copilot is answering: …"}``, as the MCP server's progress notifications.
PROGRESS_EVENT = "copilot_tools.progress"

# Old names of what the specs now hold (code written against the first version imports them).
ASK_DESCRIPTION = get_tool("ask_copilot").description
ASK_WITH_FILES_DESCRIPTION = get_tool("ask_with_files").description
CONTINUE_DESCRIPTION = get_tool("continue_conversation").description
RETRIEVE_DESCRIPTION = get_tool("retrieve").description


def spec_metadata(spec: ToolSpec[Any, Any]) -> dict[str, Any]:
    """What LangChain keeps beside the tool: the title, the hints (MCP's annotations) and the output schema."""
    hints = spec.hints
    return {
        "title": spec.title,
        "read_only": hints.read_only,
        "destructive": hints.destructive,
        "idempotent": hints.idempotent,
        "open_world": hints.open_world,
        "output_schema": portable_schema(spec.output_model, mode="serialization"),
    }


class CopilotTool(CopilotConnection, BaseTool):
    """One Copilot tool (``spec``) for LangChain agents; see the module docstring.

    >>> from copilot_tools.agent import get_tool
    >>> ask = CopilotTool(spec=get_tool("ask_copilot"), api_key=token)
    >>> message = ask.invoke({"type": "tool_call", "id": "1", "name": "ask_copilot",
    ...                       "args": {"question": "What meeting do I have at 9 AM tomorrow?"}})
    >>> message.artifact["citations"]

    Connection arguments are ``CopilotConnection``'s (``base_url``, ``api_key``,
    ``timeout``, ``max_retries``, or ``client``/``async_client``/``settings``); unknown
    arguments are refused. Name, description and argument schema come from the spec.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid", arbitrary_types_allowed=True)

    spec: ToolSpec[Any, Any] = Field(exclude=True)
    """The tool written once in ``copilot_tools.agent``."""
    _transcripts: MemoryTranscripts = PrivateAttr(default_factory=MemoryTranscripts)
    """The turns this tool (and the toolkit's other tools, which share it) asked: ``verify_answer``
    looks answers up here by conversation id."""
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool | str | Callable[[ToolException], str] | None = True

    @model_validator(mode="before")
    @classmethod
    def _from_spec(cls, data: Any) -> Any:
        """Name, description, argument schema, error text for bad arguments and metadata from the spec."""
        if not isinstance(data, dict):
            return data
        spec = data.get("spec")
        if spec is None:
            default = cls.model_fields["spec"].default
            spec = default if isinstance(default, ToolSpec) else None
        if isinstance(spec, ToolSpec):
            data = {"name": spec.name, "description": spec.description, "args_schema": spec.input_model,
                    "metadata": spec_metadata(spec), **data}
            data.setdefault("handle_validation_error", _validation_error_text(spec))
        return data

    # --- calls ----------------------------------------------------------------------------------

    def _run(self, *, run_manager: CallbackManagerForToolRun | None = None,
             **arguments: Any) -> tuple[str, dict[str, Any]]:
        client = SyncClientInThreads(self._source.sync_client())  # a configuration error here is raised as is

        async def progress(message: str) -> None:
            if run_manager is not None:
                run_manager.get_child().on_custom_event(PROGRESS_EVENT, self._progress(message),
                                                        run_id=run_manager.run_id)

        context = ToolContext(client=client, progress=progress,  # type: ignore[arg-type]
                              transcripts=self._transcripts)
        return _run_coroutine(self._call(context, arguments))

    async def _arun(self, *, run_manager: AsyncCallbackManagerForToolRun | None = None,
                    **arguments: Any) -> tuple[str, dict[str, Any]]:
        client = self._source.async_client()

        async def progress(message: str) -> None:
            if run_manager is not None:
                await run_manager.get_child().on_custom_event(PROGRESS_EVENT, self._progress(message),
                                                              run_id=run_manager.run_id)

        context = ToolContext(client=client if client is not None
                              else SyncClientInThreads(self._source.sync_client()),  # type: ignore[arg-type]
                              progress=progress, transcripts=self._transcripts)
        return await self._call(context, arguments)

    def _progress(self, message: str) -> dict[str, str]:
        return {"tool": self.name, "message": message}

    async def _call(self, context: ToolContext, arguments: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        try:
            output = await self.spec(context, arguments)
        except CopilotError as exc:
            report = tool_error(self.spec, exc, arguments)
            if report.is_configuration:
                raise  # the application's configuration: raised as is for the application to fix
            raise ToolException(report.text) from exc
        return output.text(), output.structured()


def _validation_error_text(spec: ToolSpec[Any, Any]) -> Callable[[ValidationError], str]:
    """Arguments LangChain's own validation refused get the spec's error text, as on MCP."""

    def text(error: ValidationError) -> str:
        # The arguments the model sent that failed (even ones the tool lacks) are the model's to fix.
        sent = {str(e["loc"][0]): e.get("input") for e in error.errors(include_url=False) if e.get("loc")}
        return tool_error(spec, arguments_error(error, spec.input_model), sent).text

    return text


def _run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code: in a fresh event loop here, or in a worker thread when one runs."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:  # sync invoke from async code (e.g. a notebook)
        return pool.submit(asyncio.run, coroutine).result()


# --- the named tools (each spec, as its own class) --------------------------------------------------


class CopilotAskTool(CopilotTool):
    """``ask_copilot``: a question to Microsoft 365 Copilot in a new conversation."""

    spec: ToolSpec[Any, Any] = Field(default=get_tool("ask_copilot"), exclude=True)


class CopilotAskWithFilesTool(CopilotTool):
    """``ask_with_files``: a question grounded in OneDrive or SharePoint files."""

    spec: ToolSpec[Any, Any] = Field(default=get_tool("ask_with_files"), exclude=True)


class CopilotContinueConversationTool(CopilotTool):
    """``continue_conversation``: the next turn of a Copilot conversation."""

    spec: ToolSpec[Any, Any] = Field(default=get_tool("continue_conversation"), exclude=True)


class CopilotRetrieveTool(CopilotTool):
    """``retrieve``: the extracts Copilot would ground on, for the agent's own model."""

    spec: ToolSpec[Any, Any] = Field(default=get_tool("retrieve"), exclude=True)


class CopilotStatusTool(CopilotTool):
    """``whoami``: who the tools act as (account, tenant, endpoint) and whether a sign-in is needed."""

    spec: ToolSpec[Any, Any] = Field(default=get_tool("whoami"), exclude=True)


#: The class for each spec name (the toolkit uses the named class where there is one).
NAMED_TOOLS: dict[str, type[CopilotTool]] = {
    cls.model_fields["spec"].default.name: cls
    for cls in (CopilotAskTool, CopilotAskWithFilesTool, CopilotContinueConversationTool, CopilotRetrieveTool,
                CopilotStatusTool)
}
