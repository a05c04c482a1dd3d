"""``ChatCopilot``: Microsoft 365 Copilot as a LangChain chat model.

Copilot answers from the user's own Microsoft 365 data (mail, meetings, chats, files)
and cites its sources; this model returns those answers as LangChain messages with the
citations as v1 ``citation`` annotations. It calls no tools and reports no token
usage, because Copilot does neither: ``bind_tools`` says so, and no usage is invented.
How a history maps onto Copilot's server-side conversations is in ``_convert``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Sequence
from contextlib import aclosing, closing
from typing import Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils import secret_from_env
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr

from copilot_tools.answer import Answer
from copilot_tools.client import AsyncCopilotClient, CopilotClient
from copilot_tools.langchain._clients import ClientSource
from copilot_tools.langchain._convert import (
    PROVIDER,
    StreamText,
    Turn,
    answer_message,
    last_chunk,
    plan_turn,
    text_chunk,
)
from copilot_tools.settings import Settings
from copilot_tools.streaming import AnswerComplete, StreamEvent

DEFAULT_MODEL = "microsoft-365-copilot"
_CALL_OPTIONS = ("files", "web_search", "time_zone")


class ChatCopilot(BaseChatModel):
    """Microsoft 365 Copilot as a chat model, with structured citations.

    ```python
    >>> from copilot_tools.langchain import ChatCopilot
    >>> model = ChatCopilot()                      # settings from COPILOT_TOOLS_* and the config file
    >>> reply = model.invoke("What meeting do I have at 9 AM tomorrow?")
    >>> reply.text                                  # the answer, with [n] markers
    >>> reply.content_blocks[0]["annotations"]      # citation annotations: url, title, span
    >>> reply.response_metadata["conversation_id"]
    ```

    Conversations: passing ``[*history, reply, HumanMessage("And after that?")]`` continues
    Copilot's conversation (only the new message is sent); any other history starts a new
    one, with the earlier messages and system messages sent as ``additionalContext``.

    Per call: ``model.invoke(..., files=[url, ...], web_search=False, time_zone="Europe/Paris")``.

    Construction does no I/O: settings are read and clients built on the first call.
    Pass ``client=``/``async_client=`` to share clients (they are not closed here), or
    ``settings=``; otherwise ``endpoint``, ``api_key``, ``timeout`` and ``max_retries``
    override the ``COPILOT_TOOLS_*`` environment and the config file. A model that only
    has a sync ``client`` runs it in a worker thread for async calls.

    ``temperature`` and ``max_tokens`` are accepted so generic code can pass them, but
    Copilot has no sampling or length controls, so they are not sent. Stop sequences are
    applied to the answer here (Copilot has none). Streaming hands text out a line at a
    time so that Copilot's rewrites of the line it is writing never reach the merged
    message (see ``_convert.StreamText``).
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    model: str = Field(default=DEFAULT_MODEL, alias="model_name")
    """The name reported in ``response_metadata["model_name"]``; Copilot has no model choice."""
    endpoint: str | None = None
    """``graph``, ``workiq`` or a base URL (the emulator's ``http://127.0.0.1:PORT/beta``)."""
    access_token: SecretStr | None = Field(
        default_factory=secret_from_env("COPILOT_TOOLS_ACCESS_TOKEN", default=None), alias="api_key"
    )
    """A bearer token; by default the configured sign-in provides one."""
    time_zone: str | None = None
    """IANA time zone for "tomorrow" and the like; default: the configured or local zone."""
    web_search: bool | None = None
    """Let Copilot ground answers in web results; default: the configured setting."""
    timeout: float | None = None
    """Longest wait between two bytes of an answer, in seconds."""
    max_retries: int | None = None
    """Retries of throttled or failed requests (never of a stream that has started)."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Cut answers before the first of these strings."""
    temperature: float | None = None
    """Accepted for compatibility; Copilot has no sampling controls, so it is not sent."""
    max_tokens: int | None = None
    """Accepted for compatibility; Copilot has no length control, so it is not sent."""
    streaming: bool = False
    """Stream even from ``invoke`` (useful when callbacks show tokens)."""
    settings: Settings | None = Field(default=None, exclude=True)
    client: CopilotClient | None = Field(default=None, exclude=True)
    async_client: AsyncCopilotClient | None = Field(default=None, exclude=True)

    _source: ClientSource = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._source = ClientSource(
            client=self.client,
            async_client=self.async_client,
            settings=self.settings,
            overrides={"endpoint": self.endpoint, "access_token": self.access_token,
                       "timeout": self.timeout, "max_retries": self.max_retries},
            owner="ChatCopilot",
        )

    # --- LangChain's identity of the model -----------------------------------------------

    @property
    def _llm_type(self) -> str:
        return PROVIDER

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model, "endpoint": self.endpoint}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER,
            ls_model_name=kwargs["model"] if isinstance(kwargs.get("model"), str) else self.model,
            ls_model_type="chat",
        )
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Not supported: Copilot answers, it does not call tools."""
        raise NotImplementedError(
            "Microsoft 365 Copilot does not call tools, so ChatCopilot cannot drive a tool-calling agent "
            "or structured output. Give Copilot to your agent as tools instead: "
            "copilot_tools.langchain.CopilotToolkit(...).get_tools()."
        )

    # --- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync client this model built (clients passed in stay open)."""
        self._source.close()

    async def aclose(self) -> None:
        """Close the clients this model built for the running event loop."""
        await self._source.aclose()

    # --- calls ----------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        turn, options = self._prepare(messages, kwargs)
        client = self._source.sync_client()
        if turn.conversation_id:
            answer = client.chat(turn.conversation_id, turn.message, **options)
        else:
            answer = client.ask(turn.message, **options)
        return self._result(answer, stop)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        client = self._source.async_client()
        if client is None:
            return await super()._agenerate(messages, stop, run_manager, **kwargs)
        turn, options = self._prepare(messages, kwargs)
        if turn.conversation_id:
            answer = await client.chat(turn.conversation_id, turn.message, **options)
        else:
            answer = await client.ask(turn.message, **options)
        return self._result(answer, stop)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        turn, options = self._prepare(messages, kwargs)
        stop = stop or self.stop
        text = StreamText(stop)
        events = cast("Generator[StreamEvent, None, None]",
                      self._source.sync_client().stream(turn.conversation_id, turn.message, **options))
        with closing(events):
            for event in events:
                if chunk := self._chunk(text, event, stop):
                    yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        client = self._source.async_client()
        if client is None:
            async for threaded in super()._astream(messages, stop, run_manager, **kwargs):
                yield threaded  # only a sync client was given: the base class runs _stream in a thread
            return
        turn, options = self._prepare(messages, kwargs)
        stop = stop or self.stop
        text = StreamText(stop)
        stream = cast("AsyncGenerator[StreamEvent, None]",
                      client.stream(turn.conversation_id, turn.message, **options))
        async with aclosing(stream) as events:
            async for event in events:
                if chunk := self._chunk(text, event, stop):
                    yield chunk

    # --- helpers --------------------------------------------------------------------------

    def _prepare(self, messages: Sequence[BaseMessage], kwargs: dict[str, Any]) -> tuple[Turn, dict[str, Any]]:
        """The turn to send and the core client's keyword arguments for it."""
        unknown = sorted(k for k in kwargs if k not in (*_CALL_OPTIONS, "model", "stream") and not k.startswith("ls_"))
        if unknown:
            raise TypeError(
                f"ChatCopilot got unexpected call options {unknown}; it takes {', '.join(_CALL_OPTIONS)}."
            )
        model = kwargs.get("model")
        if model is not None and model != self.model:
            raise ValueError(
                f"Microsoft 365 Copilot has no model choice; got model={model!r}. "
                f"Leave it out (this model reports itself as {self.model!r})."
            )
        options: dict[str, Any] = {"web_search": self.web_search, "time_zone": self.time_zone}
        options.update({k: kwargs[k] for k in _CALL_OPTIONS if k in kwargs})
        if isinstance(options.get("files"), str):
            options["files"] = [options["files"]]
        turn = plan_turn(messages)
        if turn.additional_context:
            options["additional_context"] = list(turn.additional_context)
        return turn, {k: v for k, v in options.items() if v is not None}

    def _chunk(self, text: StreamText, event: StreamEvent, stop: list[str] | None) -> ChatGenerationChunk | None:
        """The chunk for one stream event: text that may go out now, or the final chunk."""
        if isinstance(event, AnswerComplete):
            return ChatGenerationChunk(message=last_chunk(text, event.answer, self.model, stop))
        piece = text.update(event)
        return ChatGenerationChunk(message=text_chunk(piece)) if piece else None

    def _result(self, answer: Answer, stop: list[str] | None) -> ChatResult:
        message = answer_message(answer, self.model, stop or self.stop)
        return ChatResult(generations=[ChatGeneration(message=message)])
