"""The tools, each written once: ask_copilot, ask_with_files, continue_conversation, retrieve, whoami.

The three conversation tools stream the turn so the framework can show real progress
(what has arrived so far) during answers that take tens of seconds; ``retrieve`` is one
request (or one ``$batch``); ``whoami`` says who the tools act as. The input models only
shape arguments: the client validates them (conversation id, file hosts, time zone)
with the same messages every front end gives.
"""

from __future__ import annotations

import time
from contextlib import aclosing
from collections.abc import Awaitable, Callable, Mapping, Sequence

import anyio

from copilot_tools import __version__
from copilot_tools.agent.models import (
    AnswerOutput,
    AskInput,
    AskWithFilesInput,
    ContinueInput,
    RetrievalOutput,
    RetrieveInput,
    StatusInput,
    StatusOutput,
)
from copilot_tools.agent.spec import Identity, In, ToolContext, ToolHints, ToolSpec
from copilot_tools.agent.text import (
    ASK_ARGUMENTS,
    CONTINUE_ARGUMENTS,
    DATA_NOTE,
    RETRIEVE_ARGUMENTS,
)
from copilot_tools.agent.throttle import throttle_budget
from copilot_tools.answer import Answer
from copilot_tools.auth.base import AsyncTokenProvider
from copilot_tools.auth.jwt_display import describe_token
from copilot_tools.client import AsyncCopilotClient
from copilot_tools.errors import AuthenticationError
from copilot_tools.streaming import AnswerComplete, StreamEvent, TextDelta, TextReset

#: Each call appends a turn to the user's Copilot conversation history (visible in their
#: Copilot apps), so these are not read-only; nothing is deleted or overwritten.
CONVERSATION_HINTS = ToolHints(read_only=False, destructive=False, idempotent=False, open_world=True)
#: Reads what the user can already read; starts no conversation.
READ_HINTS = ToolHints(read_only=True, destructive=False, idempotent=True, open_world=True)

ASK_DESCRIPTION = f"""Ask the user's Microsoft 365 Copilot a question and get its answer with numbered sources.

Use it for questions about the user's own work that Copilot can answer from their organisation's
data: synthesis over their mail, meetings and calendar, Teams chats, and files in OneDrive and
SharePoint (e.g. "What did we decide about the Q3 launch?", "Summarise my meetings tomorrow"),
optionally with web results. It starts a new conversation (kept in the user's Copilot history);
use continue_conversation to follow up with the context kept. Answers can take tens of seconds.
The answer carries [n] markers that refer to the numbered sources (titles and links) listed
after it. {DATA_NOTE}"""

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

WHOAMI_DESCRIPTION = """Say who the Copilot tools act as: the signed-in account and tenant, the endpoint
requests go to (Microsoft Graph, Work IQ, or a local emulator), and whether a sign-in is needed.

Use it when the user asks which account Copilot answers for, or to check the set-up before asking."""


class StreamProgress:
    """Reports what has arrived of a streamed answer.

    Reports are at most one per ``ctx.progress_interval`` seconds, so a fast stream does
    not flood the host; the first and the last always go out.
    """

    def __init__(self, ctx: ToolContext) -> None:
        self._ctx = ctx
        self._characters = 0
        self._last = float("-inf")

    async def update(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            self._characters += len(event.text)
        elif isinstance(event, TextReset):
            self._characters = len(event.text)
        now = time.monotonic()
        if now - self._last < self._ctx.progress_interval:
            return
        self._last = now
        await self._ctx.report(f"Copilot is answering: {self._characters:,} characters so far")

    async def done(self, answer: Answer) -> None:
        sources = len(answer.citations)
        await self._ctx.report(
            f"Answer complete: {len(answer.text):,} characters, {sources} source{'s' if sources != 1 else ''}"
        )


async def _turn(
    ctx: ToolContext,
    conversation_id: str | None,
    message: str,
    *,
    files: Sequence[str],
    web_search: bool | None,
    additional_context: Sequence[str],
    time_zone: str | None,
) -> AnswerOutput:
    progress = StreamProgress(ctx)
    answer: Answer | None = None
    with throttle_budget(ctx):
        stream = ctx.client.stream(conversation_id, message, files=files, web_search=web_search,
                                   additional_context=additional_context, time_zone=time_zone)
        # aclosing ends the stream (and its HTTP response) on any exit: the client's AsyncStream and
        # the LangChain adapter's async generator both have aclose().
        async with aclosing(stream) as events:
            async for event in events:
                if isinstance(event, AnswerComplete):
                    answer = event.answer
                else:
                    await progress.update(event)
    if answer is None:  # pragma: no cover - the stream always ends with AnswerComplete or raises
        raise RuntimeError("the stream ended without an answer")
    if ctx.transcripts is not None:
        await ctx.transcripts.record(message, answer)
    await progress.done(answer)
    return AnswerOutput.from_answer(answer)


async def ask_copilot(ctx: ToolContext, args: AskInput) -> AnswerOutput:
    return await _turn(ctx, None, args.question, files=(), web_search=args.web_search,
                       additional_context=args.additional_context, time_zone=args.time_zone)


async def ask_with_files(ctx: ToolContext, args: AskWithFilesInput) -> AnswerOutput:
    return await _turn(ctx, None, args.question, files=args.files, web_search=args.web_search,
                       additional_context=args.additional_context, time_zone=args.time_zone)


async def continue_conversation(ctx: ToolContext, args: ContinueInput) -> AnswerOutput:
    return await _turn(ctx, args.conversation_id, args.message, files=args.files, web_search=args.web_search,
                       additional_context=args.additional_context, time_zone=args.time_zone)


async def retrieve(ctx: ToolContext, args: RetrieveInput) -> RetrievalOutput:
    with throttle_budget(ctx):
        hits = await ctx.client.retrieve_many(
            args.query, data_sources=args.data_sources, filter=args.filter, max_results=args.max_results,
            connections=args.connections or None,
        )
    return RetrievalOutput.from_hits(hits)


async def whoami(ctx: ToolContext, args: StatusInput) -> StatusOutput:
    client = ctx.client
    settings = client.settings
    base = StatusOutput(
        signed_in=False, endpoint=client.endpoint, endpoint_name=_endpoint_name(client),
        time_zone=client.default_time_zone, web_search_default=settings.web_search, version=__version__,
    )
    identity = await ctx.identity() if ctx.identity is not None else None
    try:
        token = await _token(client)
    except AuthenticationError as exc:
        if identity is None:
            sign_in = exc.message + (f" {exc.hint}" if exc.hint else "")
            return base.model_copy(update={"sign_in": sign_in})
        token = None
    claims = describe_token(token) if token else {}
    if identity is None:
        identity = Identity(
            username=claims.get("username"), name=claims.get("name"), tenant_id=claims.get("tenant_id"),
            object_id=claims.get("object_id"), source="token claims" if claims.get("is_jwt") else None,
            expires_at=claims.get("expires_at"), scopes=tuple(claims.get("scopes") or ()),
        )
    return base.model_copy(update={
        "signed_in": True, "username": identity.username, "name": identity.name, "tenant_id": identity.tenant_id,
        "object_id": identity.object_id, "identity_source": identity.source,
        "token_expires_at": identity.expires_at or claims.get("expires_at"),
        "scopes": list(identity.scopes or claims.get("scopes") or ()),
    })


def _endpoint_name(client: AsyncCopilotClient) -> str:
    name = client._core.endpoint.name
    return name if name in ("graph", "workiq") else "custom"


async def _token(client: AsyncCopilotClient) -> str:
    """A token as the client would get one for its next request (never shown, only its claims).

    Not ``AsyncCopilotClient._token``: that one serves a step of the request cycle (it takes the
    ``Send`` whose claims challenge and forced refresh it honours); calling it here would mean
    building a fake request for a private hot-path signature. This is its plain case.
    """
    provider = client._core.token_provider
    if isinstance(provider, AsyncTokenProvider):
        return await provider.aget_token()
    return await anyio.to_thread.run_sync(lambda: provider.get_token())


def _conversation_tool(
    name: str, title: str, description: str, input_model: type[In],
    run: Callable[[ToolContext, In], Awaitable[AnswerOutput]], core_arguments: Mapping[str, str],
) -> ToolSpec[In, AnswerOutput]:
    """A tool that asks Copilot in a conversation: it answers with an ``AnswerOutput`` and may start one."""
    return ToolSpec(name=name, title=title, description=description, input_model=input_model,
                    output_model=AnswerOutput, hints=CONVERSATION_HINTS, run=run, core_arguments=core_arguments)


ASK_COPILOT = _conversation_tool(
    "ask_copilot", "Ask Microsoft 365 Copilot", ASK_DESCRIPTION, AskInput, ask_copilot, ASK_ARGUMENTS
)
ASK_WITH_FILES = _conversation_tool(
    "ask_with_files", "Ask Copilot about specific files", ASK_WITH_FILES_DESCRIPTION, AskWithFilesInput,
    ask_with_files, ASK_ARGUMENTS,
)
CONTINUE_CONVERSATION = _conversation_tool(
    "continue_conversation", "Continue a Copilot conversation", CONTINUE_DESCRIPTION, ContinueInput,
    continue_conversation, CONTINUE_ARGUMENTS,
)
RETRIEVE = ToolSpec(
    name="retrieve", title="Retrieve grounding passages", description=RETRIEVE_DESCRIPTION,
    input_model=RetrieveInput, output_model=RetrievalOutput, hints=READ_HINTS, run=retrieve,
    core_arguments=RETRIEVE_ARGUMENTS,
)
WHOAMI = ToolSpec(
    name="whoami", title="Who Copilot acts as", description=WHOAMI_DESCRIPTION,
    input_model=StatusInput, output_model=StatusOutput,
    hints=ToolHints(read_only=True, destructive=False, idempotent=True, open_world=False), run=whoami,
)
