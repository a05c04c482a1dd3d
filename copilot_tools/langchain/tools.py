"""Copilot as LangChain tools: ask_copilot, ask_with_files, continue_conversation, retrieve.

The same four tools the MCP server offers, with the same names and arguments, so an
agent's prompt works with either. Each returns ``(content, artifact)``: the content is
what the agent's model reads (the answer with its numbered sources, then how to follow
up), the artifact is the structured answer (``Answer.structured()``, or the retrieval
hits) for the program around the agent.

The content is ``copilot_tools.agent_text``'s, the same text the MCP tools give: the
answer and retrieved extracts come from documents other people author, so they are
spotlighted between nonce markers as data, not instructions (prompt injection).

A Copilot failure the agent can act on (throttled, not signed in, conversation gone,
bad argument, no answer) becomes a ``ToolException`` whose text says what happened and
what to do (``agent_text.error_text``); with ``handle_tool_error=True`` (the default
here) the agent's model reads it as the tool's result and the loop goes on. A broken
configuration (an unknown setting, an invalid config file) is not the model's to fix
and is raised as is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.runnables.config import run_in_executor
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, ConfigDict, Field

from copilot_tools.agent_text import (
    ASK_ARGUMENTS,
    CONTINUE_ARGUMENTS,
    DATA_NOTE,
    RETRIEVE_ARGUMENTS,
    answer_text,
    error_text,
    hits_text,
    is_configuration_error,
)
from copilot_tools.answer import Answer
from copilot_tools.client import AsyncCopilotClient, CopilotClient
from copilot_tools.errors import CopilotError
from copilot_tools.langchain._clients import CopilotConnection
from copilot_tools._retrieval import MAX_RESULTS, RetrievalHit, hits_structured

# --- argument schemas -------------------------------------------------------------------------

DataSource = Literal["sharePoint", "oneDriveBusiness", "externalItem"]

_QUESTION = "The question for Copilot, in natural language."
_WEB_SEARCH = "Let Copilot ground the answer in web search results too (default: the configured setting)."
_CONTEXT = "Extra text Copilot should take into account, e.g. an excerpt the user pasted."
_TIME_ZONE = "IANA time zone for dates such as 'tomorrow' (e.g. 'Europe/Paris'); default: the configured zone."


class AskInput(BaseModel):
    """Arguments of ask_copilot."""

    question: str = Field(description=_QUESTION)
    web_search: bool | None = Field(default=None, description=_WEB_SEARCH)
    additional_context: list[str] = Field(default_factory=list, description=_CONTEXT)
    time_zone: str | None = Field(default=None, description=_TIME_ZONE)


class AskWithFilesInput(AskInput):
    """Arguments of ask_with_files."""

    files: list[str] = Field(
        min_length=1, max_length=20,
        description="1 to 20 OneDrive or SharePoint file URLs (https://<tenant>.sharepoint.com/...) "
        "to ground the answer in.",
    )


class ContinueInput(BaseModel):
    """Arguments of continue_conversation."""

    conversation_id: str = Field(
        description="The conversation_id returned by an earlier ask_copilot or ask_with_files call."
    )
    message: str = Field(description="The next message in the conversation (a follow-up question).")
    files: list[str] = Field(
        default_factory=list, max_length=20,
        description="Up to 20 OneDrive or SharePoint file URLs to ground this turn in.",
    )
    web_search: bool | None = Field(default=None, description=_WEB_SEARCH)
    additional_context: list[str] = Field(default_factory=list, description=_CONTEXT)
    time_zone: str | None = Field(default=None, description=_TIME_ZONE)


class RetrieveInput(BaseModel):
    """Arguments of retrieve."""

    query: str = Field(description="What to look for, in natural language (at most 1,500 characters).")
    data_sources: list[DataSource] = Field(
        default_factory=lambda: list[DataSource](["sharePoint"]), min_length=1, max_length=3,
        description="Where to search: SharePoint sites, the user's OneDrive, and/or Copilot connector "
        "items (externalItem).",
    )
    filter: str | None = Field(
        default=None,
        description="Optional KQL filter, e.g. 'FileExtension:\"docx\" AND Author:\"Megan Bowen\"' "
        "or 'path:\"https://contoso.sharepoint.com/sites/HR\"'.",
    )
    max_results: int | None = Field(
        default=None, ge=1, le=MAX_RESULTS, description=f"At most this many documents (1 to {MAX_RESULTS})."
    )
    connections: list[str] = Field(
        default_factory=list, description="Copilot connector connection ids to search (externalItem only)."
    )


# --- descriptions -----------------------------------------------------------------------------

ASK_DESCRIPTION = (
    "Ask the user's Microsoft 365 Copilot a question and get its answer with numbered sources. "
    "Use it for questions about the user's own work that Copilot answers from their organisation's "
    "data: their mail, meetings and calendar, Teams chats, and OneDrive and SharePoint files (e.g. "
    "'What did we decide about the Q3 launch?', 'Summarise my meetings tomorrow'), optionally with web "
    "results. It starts a new conversation; follow up with continue_conversation and the "
    "conversation_id it returns. Answers take seconds to tens of seconds; [n] markers refer to the "
    f"numbered sources listed after the answer. {DATA_NOTE}"
)
ASK_WITH_FILES_DESCRIPTION = (
    "Ask Microsoft 365 Copilot a question grounded in specific OneDrive or SharePoint files (1 to 20 "
    "file URLs), e.g. 'Compare these two proposals' or 'What are the open risks in this spec?'. It "
    "starts a new conversation; follow up with continue_conversation. Answers cite their sources as "
    f"[n]. {DATA_NOTE}"
)
CONTINUE_DESCRIPTION = (
    "Send the next message in a Copilot conversation started by ask_copilot or ask_with_files, keeping "
    "the earlier turns' context ('And who owns the second item?'). Pass the conversation_id an earlier "
    "answer returned; optionally ground this turn in files. If the conversation has expired, start a "
    f"new one with ask_copilot. {DATA_NOTE}"
)
RETRIEVE_DESCRIPTION = (
    "Fetch the passages Microsoft 365 Copilot would ground on, without an answer: the most relevant "
    "extracts from SharePoint, OneDrive and/or Copilot connector items for a query, each numbered with "
    "its document's title, link and sensitivity label. Use it to read and reason over the source text "
    f"yourself; it is faster than ask_copilot and starts no conversation. {DATA_NOTE}"
)


# --- errors -----------------------------------------------------------------------------------


def tool_exception(
    error: CopilotError, argument_names: Mapping[str, str], *, conversation_id: str | None = None
) -> Exception:
    """The exception a tool raises for ``error``: a ``ToolException`` the model can act on.

    ``argument_names`` maps the core's argument names to the tool's (the core calls the
    question ``message``), so an input error names what the model sent. An input error
    about anything else is the application's configuration, returned unchanged.
    ``conversation_id`` is the conversation of a failed follow-up, for the retry hint.
    """
    if is_configuration_error(error, argument_names):
        return error
    return ToolException(error_text(error, argument_names=argument_names, conversation_id=conversation_id))


# --- the tools --------------------------------------------------------------------------------

def answer_content(answer: Answer) -> tuple[str, dict[str, Any]]:
    """What the model reads (the rendered answer, spotlighted, and how to follow up) and the artifact."""
    return answer_text(answer), answer.structured()


class _CopilotTool(CopilotConnection, BaseTool):
    """Shared plumbing: clients (``CopilotConnection``'s arguments), content and artifact, errors."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", arbitrary_types_allowed=True)

    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool | str | Callable[[ToolException], str] | None = True

    _arguments: ClassVar[Mapping[str, str]] = {}

    def _sync(self, call: Callable[[CopilotClient], Any], conversation_id: str | None = None) -> Any:
        client = self._source.sync_client()  # a configuration error here is raised as is
        try:
            return call(client)
        except CopilotError as exc:
            raise self._converted(exc, conversation_id) from exc

    async def _async(
        self,
        call: Callable[[AsyncCopilotClient], Any],
        fallback: Callable[[], Any],
        conversation_id: str | None = None,
    ) -> Any:
        client = self._source.async_client()
        if client is None:
            return await run_in_executor(None, fallback)
        try:
            return await call(client)
        except CopilotError as exc:
            raise self._converted(exc, conversation_id) from exc

    def _converted(self, error: CopilotError, conversation_id: str | None) -> Exception:
        converted = tool_exception(error, self._arguments, conversation_id=conversation_id)
        if converted is error:
            raise error  # the application's configuration: raised as is, not chained to itself
        return converted


class CopilotAskTool(_CopilotTool):
    """``ask_copilot``: a question to Microsoft 365 Copilot in a new conversation."""

    name: str = "ask_copilot"
    description: str = ASK_DESCRIPTION
    args_schema: type[BaseModel] = AskInput
    _arguments: ClassVar[Mapping[str, str]] = ASK_ARGUMENTS

    def _run(
        self,
        question: str,
        web_search: bool | None = None,
        additional_context: list[str] | None = None,
        time_zone: str | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, dict[str, Any]]:
        options = _turn_options(web_search, additional_context, time_zone)
        return answer_content(self._sync(lambda c: c.ask(question, **options)))

    async def _arun(
        self,
        question: str,
        web_search: bool | None = None,
        additional_context: list[str] | None = None,
        time_zone: str | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, dict[str, Any]]:
        options = _turn_options(web_search, additional_context, time_zone)
        answer = await self._async(lambda c: c.ask(question, **options),
                                   lambda: self._sync(lambda c: c.ask(question, **options)))
        return answer_content(answer)


class CopilotAskWithFilesTool(_CopilotTool):
    """``ask_with_files``: a question grounded in OneDrive or SharePoint files."""

    name: str = "ask_with_files"
    description: str = ASK_WITH_FILES_DESCRIPTION
    args_schema: type[BaseModel] = AskWithFilesInput
    _arguments: ClassVar[Mapping[str, str]] = ASK_ARGUMENTS

    def _run(
        self,
        question: str,
        files: list[str],
        web_search: bool | None = None,
        additional_context: list[str] | None = None,
        time_zone: str | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, dict[str, Any]]:
        options = _turn_options(web_search, additional_context, time_zone, files)
        return answer_content(self._sync(lambda c: c.ask(question, **options)))

    async def _arun(
        self,
        question: str,
        files: list[str],
        web_search: bool | None = None,
        additional_context: list[str] | None = None,
        time_zone: str | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, dict[str, Any]]:
        options = _turn_options(web_search, additional_context, time_zone, files)
        answer = await self._async(lambda c: c.ask(question, **options),
                                   lambda: self._sync(lambda c: c.ask(question, **options)))
        return answer_content(answer)


class CopilotContinueConversationTool(_CopilotTool):
    """``continue_conversation``: the next turn of a Copilot conversation."""

    name: str = "continue_conversation"
    description: str = CONTINUE_DESCRIPTION
    args_schema: type[BaseModel] = ContinueInput
    _arguments: ClassVar[Mapping[str, str]] = CONTINUE_ARGUMENTS

    def _run(
        self,
        conversation_id: str,
        message: str,
        files: list[str] | None = None,
        web_search: bool | None = None,
        additional_context: list[str] | None = None,
        time_zone: str | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, dict[str, Any]]:
        options = _turn_options(web_search, additional_context, time_zone, files)
        return answer_content(self._sync(lambda c: c.chat(conversation_id, message, **options), conversation_id))

    async def _arun(
        self,
        conversation_id: str,
        message: str,
        files: list[str] | None = None,
        web_search: bool | None = None,
        additional_context: list[str] | None = None,
        time_zone: str | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, dict[str, Any]]:
        options = _turn_options(web_search, additional_context, time_zone, files)
        answer = await self._async(
            lambda c: c.chat(conversation_id, message, **options),
            lambda: self._sync(lambda c: c.chat(conversation_id, message, **options), conversation_id),
            conversation_id,
        )
        return answer_content(answer)


class CopilotRetrieveTool(_CopilotTool):
    """``retrieve``: the extracts Copilot would ground on, for the agent's own model."""

    name: str = "retrieve"
    description: str = RETRIEVE_DESCRIPTION
    args_schema: type[BaseModel] = RetrieveInput
    _arguments: ClassVar[Mapping[str, str]] = RETRIEVE_ARGUMENTS

    def _run(
        self,
        query: str,
        data_sources: list[str] | None = None,
        filter: str | None = None,
        max_results: int | None = None,
        connections: list[str] | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, dict[str, Any]]:
        options = _retrieve_options(data_sources, filter, max_results, connections)
        return hits_content(self._sync(lambda c: c.retrieve_many(query, **options)))

    async def _arun(
        self,
        query: str,
        data_sources: list[str] | None = None,
        filter: str | None = None,
        max_results: int | None = None,
        connections: list[str] | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, dict[str, Any]]:
        options = _retrieve_options(data_sources, filter, max_results, connections)
        hits = await self._async(lambda c: c.retrieve_many(query, **options),
                                 lambda: self._sync(lambda c: c.retrieve_many(query, **options)))
        return hits_content(hits)


def hits_content(hits: list[RetrievalHit]) -> tuple[str, dict[str, Any]]:
    """Numbered extracts for the model (spotlighted), every hit for the program."""
    return hits_text(hits), hits_structured(hits)


def _retrieve_options(
    data_sources: list[str] | None, filter: str | None, max_results: int | None, connections: list[str] | None,
) -> dict[str, Any]:
    return {"data_sources": data_sources or ["sharePoint"], "filter": filter, "max_results": max_results,
            "connections": connections or None}


def _turn_options(
    web_search: bool | None,
    additional_context: list[str] | None,
    time_zone: str | None,
    files: list[str] | None = None,
) -> dict[str, Any]:
    options: dict[str, Any] = {"web_search": web_search, "time_zone": time_zone,
                               "additional_context": additional_context or (), "files": files or ()}
    return {k: v for k, v in options.items() if v is not None}
