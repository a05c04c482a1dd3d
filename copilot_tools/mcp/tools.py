"""The tools: ask_copilot, ask_with_files, continue_conversation and retrieve.

Each tool is a thin call of the async client. The three conversation tools stream the
turn so the host sees real progress (what has arrived so far) during answers that
take tens of seconds; ``retrieve`` is one request (or one ``$batch``). Every
``CopilotError`` becomes a tool error (``errors.error_result``), never a crash, and the
input schemas only shape arguments: the client validates them (conversation id, file
hosts, time zone) with the same messages every front end gives.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from copilot_tools.agent_text import (
    ASK_ARGUMENTS,
    CONTINUE_ARGUMENTS,
    DATA_NOTE,
    RETRIEVE_ARGUMENTS,
)
from copilot_tools.answer import STRUCTURED_ANSWER_SCHEMA, Answer
from copilot_tools.errors import CopilotError
from copilot_tools.mcp.content import answer_result, hits_result
from copilot_tools.mcp.errors import error_result
from copilot_tools._retrieval import MAX_RESULTS, RETRIEVAL_SCHEMA
from copilot_tools.streaming import AnswerComplete, StreamEvent, TextDelta, TextReset

if TYPE_CHECKING:
    from copilot_tools.mcp.server import Runtime

# --- argument types (module level: the SDK resolves string annotations in this module) ----

Question = Annotated[str, Field(description="The question for Copilot, in natural language.")]
FollowUp = Annotated[str, Field(description="The next message in the conversation (a follow-up question).")]
ConversationId = Annotated[
    str, Field(description="The conversation_id returned by an earlier ask_copilot or ask_with_files call.")
]
Files = Annotated[
    list[str],
    Field(
        min_length=1, max_length=20,
        description="1 to 20 OneDrive or SharePoint file URLs (https://<tenant>.sharepoint.com/...) "
        "to ground the answer in.",
    ),
]
OptionalFiles = Annotated[
    list[str],
    Field(max_length=20, description="Up to 20 OneDrive or SharePoint file URLs to ground this turn in."),
]
WebSearch = Annotated[bool, Field(description="Let Copilot ground the answer in web search results too.")]
AdditionalContext = Annotated[
    list[str],
    Field(description="Extra text Copilot should take into account (e.g. an excerpt the user pasted)."),
]
TimeZone = Annotated[
    str | None,
    Field(description="IANA time zone for dates such as 'tomorrow' (e.g. 'Europe/Paris'); "
          "default: the server's configured zone."),
]
Query = Annotated[str, Field(description="What to look for, in natural language (at most 1,500 characters).")]
DataSource = Literal["sharePoint", "oneDriveBusiness", "externalItem"]
DataSources = Annotated[
    list[DataSource],
    Field(min_length=1, max_length=3, description="Where to search: SharePoint sites, the user's OneDrive, "
          "and/or Copilot connector items (externalItem)."),
]
Filter = Annotated[
    str | None,
    Field(description="Optional KQL filter, e.g. 'FileExtension:\"docx\" AND Author:\"Megan Bowen\"' "
          "or 'path:\"https://contoso.sharepoint.com/sites/HR\"'."),
]
MaxResults = Annotated[
    int | None, Field(ge=1, le=MAX_RESULTS, description=f"At most this many documents (1 to {MAX_RESULTS}).")
]
Connections = Annotated[
    list[str], Field(description="Copilot connector connection ids to search (externalItem only).")
]

_CONVERSATION_ANNOTATIONS = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)

ASK_DESCRIPTION = f"""Ask the user's Microsoft 365 Copilot a question and get its answer with numbered sources.

Use it for questions about the user's own work that Copilot can answer from their organisation's
data: synthesis over their mail, meetings and calendar, Teams chats, and files in OneDrive and
SharePoint (e.g. "What did we decide about the Q3 launch?", "Summarise my meetings tomorrow"),
optionally with web results. It starts a new conversation; use continue_conversation to follow
up with the context kept. Answers can take tens of seconds. The answer carries [n] markers that
refer to the numbered sources (titles and links) listed after it. {DATA_NOTE}"""

ASK_WITH_FILES_DESCRIPTION = f"""Ask Microsoft 365 Copilot a question grounded in specific files.

Use it when the question is about particular OneDrive or SharePoint documents (1 to 20 file
URLs), e.g. "Compare these two proposals" or "What are the open risks in this spec?". It starts
a new conversation; use continue_conversation to follow up. Answers can take tens of seconds and
cite their sources as [n]. {DATA_NOTE}"""

CONTINUE_DESCRIPTION = f"""Send the next message in a Copilot conversation started by ask_copilot or ask_with_files.

A follow-up keeps the earlier turns' context ("And who owns the second item?"). Pass the
conversation_id an earlier answer returned; optionally ground this turn in files. If the
conversation has expired, start a new one with ask_copilot. Answers can take tens of seconds.
{DATA_NOTE}"""

RETRIEVE_DESCRIPTION = f"""Fetch the passages Microsoft 365 Copilot would ground on, without an answer.

Use it when you want to read and reason over the source text yourself: it returns the most
relevant extracts from SharePoint, OneDrive and/or Copilot connector items for a query, each
with its document's title, link and sensitivity label, numbered for citing. It is faster than
ask_copilot and does not start a conversation. {DATA_NOTE}"""


class StreamProgress:
    """Reports what has arrived of a streamed answer as MCP progress.

    The value is the number of the report (it must increase; the text length can
    shrink when the service rewrites earlier text), the message says how much of the
    answer has arrived. Reports are at most one per ``min_interval`` seconds, so a
    fast stream does not flood the host; the first and the last always go out.
    """

    def __init__(self, ctx: Context, *, min_interval: float = 0.2) -> None:
        self._ctx = ctx
        self._min_interval = min_interval
        self._reports = 0
        self._characters = 0
        self._last = float("-inf")

    async def update(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            self._characters += len(event.text)
        elif isinstance(event, TextReset):
            self._characters = len(event.text)
        now = time.monotonic()
        if now - self._last < self._min_interval:
            return
        self._last = now
        await self._report(f"Copilot is answering: {self._characters:,} characters so far")

    async def done(self, answer: Answer) -> None:
        sources = len(answer.citations)
        await self._report(
            f"Answer complete: {len(answer.text):,} characters, {sources} source{'s' if sources != 1 else ''}"
        )

    async def _report(self, message: str) -> None:
        self._reports += 1
        await self._ctx.report_progress(self._reports, message=message)


def build_tools(runtime: Runtime) -> list[Tool]:
    """The server's tools, bound to ``runtime`` (its client, settings and transcripts)."""
    web_default = runtime.settings.web_search

    async def turn(
        ctx: Context,
        conversation_id: str | None,
        message: str,
        names: Mapping[str, str],
        *,
        files: Sequence[str],
        web_search: bool,
        additional_context: Sequence[str],
        time_zone: str | None,
    ) -> CallToolResult:
        progress = StreamProgress(ctx, min_interval=runtime.progress_interval)
        answer: Answer | None = None
        try:
            client = runtime.client()
            stream = client.stream(
                conversation_id, message, files=files, web_search=web_search,
                additional_context=additional_context, time_zone=time_zone,
            )
            async with aclosing(stream) as events:
                async for event in events:
                    if isinstance(event, AnswerComplete):
                        answer = event.answer
                    else:
                        await progress.update(event)
        except CopilotError as exc:
            return error_result(exc, argument_names=names, conversation_id=conversation_id)
        if answer is None:  # pragma: no cover - the stream always ends with AnswerComplete or raises
            raise RuntimeError("the stream ended without an answer")
        await runtime.conversations.record(message, answer)
        await progress.done(answer)
        return answer_result(answer)

    async def ask_copilot(
        question: Question,
        ctx: Context,
        web_search: WebSearch = web_default,
        additional_context: AdditionalContext = [],  # noqa: B006 - never mutated; the schema shows []
        time_zone: TimeZone = None,
    ) -> CallToolResult:
        return await turn(ctx, None, question, ASK_ARGUMENTS, files=(), web_search=web_search,
                          additional_context=additional_context, time_zone=time_zone)

    async def ask_with_files(
        question: Question,
        files: Files,
        ctx: Context,
        web_search: WebSearch = web_default,
        additional_context: AdditionalContext = [],  # noqa: B006
        time_zone: TimeZone = None,
    ) -> CallToolResult:
        return await turn(ctx, None, question, ASK_ARGUMENTS, files=files, web_search=web_search,
                          additional_context=additional_context, time_zone=time_zone)

    async def continue_conversation(
        conversation_id: ConversationId,
        message: FollowUp,
        ctx: Context,
        files: OptionalFiles = [],  # noqa: B006
        web_search: WebSearch = web_default,
        additional_context: AdditionalContext = [],  # noqa: B006
        time_zone: TimeZone = None,
    ) -> CallToolResult:
        return await turn(ctx, conversation_id, message, CONTINUE_ARGUMENTS, files=files,
                          web_search=web_search, additional_context=additional_context, time_zone=time_zone)

    async def retrieve(
        query: Query,
        data_sources: DataSources = ["sharePoint"],  # noqa: B006
        filter: Filter = None,
        max_results: MaxResults = None,
        connections: Connections = [],  # noqa: B006
    ) -> CallToolResult:
        try:
            hits = await runtime.client().retrieve_many(
                query, data_sources=data_sources, filter=filter, max_results=max_results,
                connections=connections or None,
            )
        except CopilotError as exc:
            return error_result(exc, argument_names=RETRIEVE_ARGUMENTS)
        return hits_result(hits)

    return [
        _tool(ask_copilot, "Ask Microsoft 365 Copilot", ASK_DESCRIPTION, STRUCTURED_ANSWER_SCHEMA),
        _tool(ask_with_files, "Ask Copilot about specific files", ASK_WITH_FILES_DESCRIPTION,
              STRUCTURED_ANSWER_SCHEMA),
        _tool(continue_conversation, "Continue a Copilot conversation", CONTINUE_DESCRIPTION,
              STRUCTURED_ANSWER_SCHEMA),
        _tool(retrieve, "Retrieve grounding passages", RETRIEVE_DESCRIPTION, RETRIEVAL_SCHEMA,
              annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False,
                                          idempotent_hint=True, open_world_hint=True)),
    ]


def _tool(
    fn: Callable[..., Any],
    title: str,
    description: str,
    output_schema: dict[str, Any],
    *,
    annotations: ToolAnnotations = _CONVERSATION_ANNOTATIONS,
) -> Tool:
    """A tool whose ``outputSchema`` is the core's published schema.

    The functions return a ready ``CallToolResult`` (text for the model and the
    structured JSON), which the SDK would publish without a schema; the schema is set
    on the tool's metadata, which the SDK reads when it lists tools.
    """
    tool = Tool.from_function(fn, title=title, description=description, annotations=annotations)
    tool.fn_metadata.output_schema = copy.deepcopy(output_schema)
    return tool
