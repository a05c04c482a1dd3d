"""``ChatCopilot``: Microsoft 365 Copilot as a LangChain chat model.

Copilot answers from the user's own Microsoft 365 data (mail, meetings, chats, files)
and cites its sources; this model returns those answers as LangChain messages with the
citations as v1 ``citation`` annotations. It calls no tools and reports no token
usage, because Copilot does neither: ``bind_tools`` says so, and no usage is invented.
How a history maps onto Copilot's server-side conversations is in ``_convert``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput, ModelProfile
from langchain_core.language_models.model_profile import _warn_unknown_profile_keys
from langchain_core.load.load import ALL_SERIALIZABLE_MAPPINGS
from langchain_core.messages import AIMessage, BaseMessage, get_buffer_string
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import ConfigDict, Field, field_validator, model_validator

from copilot_tools._lazy import LazyModule
from copilot_tools.langchain._branches import LEDGER
from copilot_tools.langchain._clients import ACCESS_TOKEN_ENV, CopilotConnection
from copilot_tools.langchain._convert import (
    PROVIDER,
    StreamText,
    Turn,
    answer_message,
    last_chunk,
    plan_turn,
    text_chunk,
)

if TYPE_CHECKING:
    from copilot_tools import streaming
    from copilot_tools.answer import Answer
    from copilot_tools.streaming import StreamEvent
else:
    # The stream's events and the answer load with the first call (the client's construction loads
    # them anyway): importing them here cost ``from copilot_tools.langchain import ChatCopilot`` ~25 ms
    # of its ~500 (``_wire`` and ``_sse`` with them; benchmarks/import_time.py, "ChatCopilot import").
    streaming = LazyModule("copilot_tools.streaming", globals())

DEFAULT_MODEL = "microsoft-365-copilot"
#: Call options that change the turn Copilot gets.
_CALL_OPTIONS = ("files", "web_search", "time_zone")
#: Call options accepted from generic code but not sent: Copilot has no sampling or length control.
_IGNORED_OPTIONS = ("temperature", "max_tokens")
#: What ChatCopilot can do, as LangChain 1.x agents and middleware read it (``model.profile``).
PROFILE: ModelProfile = {
    "name": "Microsoft 365 Copilot",
    "text_inputs": True,
    "image_inputs": False,
    "image_url_inputs": False,
    "pdf_inputs": False,
    "audio_inputs": False,
    "video_inputs": False,
    "image_tool_message": False,
    "pdf_tool_message": False,
    "text_outputs": True,
    "image_outputs": False,
    "audio_outputs": False,
    "video_outputs": False,
    "reasoning_output": False,
    "tool_calling": False,
    "tool_choice": False,
    "structured_output": False,
    "attachment": False,
    "temperature": False,
    "citations": True,  # type: ignore[typeddict-unknown-key]
}
#: Profile keys this package adds to LangChain's ``ModelProfile`` (which allows extra keys).
_OWN_PROFILE_KEYS = frozenset({"citations"})
#: Characters per token of the approximate counter (English text; Copilot publishes no tokenizer).
CHARS_PER_TOKEN = 4.0


class ChatCopilot(CopilotConnection, BaseChatModel):
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
    Copilot's conversation (only the new message is sent) when ``[*history, reply]`` is that
    conversation's latest state; any other history (a fork, a retry, a regenerate, a
    fallback, another model's reply) starts a new conversation, with the earlier messages
    and system messages sent as ``additionalContext``. See ``_branches``.

    Per call: ``model.invoke(..., files=[url, ...], web_search=False, time_zone="Europe/Paris")``.

    Connection: ``base_url``/``endpoint``, ``api_key``, ``timeout``, ``max_retries``, or
    ``settings=``, or shared ``client=``/``async_client=`` (not closed here); the same
    arguments every class of this package takes (``CopilotConnection``). Unknown
    arguments are refused. Construction does no I/O: settings are read and clients built
    on the first call. A model that only has a sync ``client`` runs it in a worker thread
    for async calls.

    ``temperature`` and ``max_tokens`` are accepted (at construction and per call) so
    generic code can pass them, but Copilot has no sampling or length controls, so they
    are not sent. Stop sequences are applied to the answer here (Copilot has none).
    Streaming hands text out a line at a time so that Copilot's rewrites of the line it
    is writing never reach the merged message (see ``_convert.StreamText``). Token counts
    (``get_num_tokens``) are approximate: Copilot publishes no tokenizer.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid", arbitrary_types_allowed=True)

    model: str = Field(default=DEFAULT_MODEL, alias="model_name")
    """The service's name, reported in ``response_metadata["model_name"]``; Copilot has no model choice."""
    time_zone: str | None = None
    """IANA time zone for "tomorrow" and the like; default: the configured or local zone."""
    web_search: bool | None = None
    """Let Copilot ground answers in web results; default: the configured setting."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Cut answers before the first of these strings."""
    temperature: float | None = None
    """Accepted for compatibility; Copilot has no sampling controls, so it is not sent."""
    max_tokens: int | None = None
    """Accepted for compatibility; Copilot has no length control, so it is not sent."""
    streaming: bool = False
    """Stream even from ``invoke`` (useful when callbacks show tokens)."""
    verify_citations: bool = False
    """Check each citation against the document it cites (``client.verify``, one ``$batch``) and
    attach the evidence as ``response_metadata["verification"]``; also a per-call option."""

    @field_validator("model")
    @classmethod
    def _the_services_model(cls, value: str) -> str:
        if value != DEFAULT_MODEL:
            raise ValueError(
                f"Microsoft 365 Copilot has no model choice, so model={value!r} cannot be honoured. "
                f"Leave model out (it is {DEFAULT_MODEL!r})."
            )
        return value

    # --- LangChain's identity of the model -----------------------------------------------

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Serialisable: ``dumpd``/``load`` round-trip it, with the token kept out (``lc_secrets``)."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """The import path ``load`` finds the class at."""
        return ["copilot_tools", "langchain"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"access_token": ACCESS_TOKEN_ENV}

    @property
    def _llm_type(self) -> str:
        return PROVIDER

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model, "endpoint": self.endpoint}

    def _resolve_model_profile(self) -> ModelProfile | None:
        return cast("ModelProfile", dict(PROFILE))

    @model_validator(mode="after")
    def _check_profile_keys(self) -> Self:
        """LangChain's check, minus the keys this package adds on purpose (``citations``)."""
        if self.profile and isinstance(self.profile, dict):
            _warn_unknown_profile_keys(
                cast("ModelProfile", {k: v for k, v in self.profile.items() if k not in _OWN_PROFILE_KEYS})
            )
        return self

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER,
            ls_model_name=kwargs["model"] if isinstance(kwargs.get("model"), str) else self.model,
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    def get_num_tokens(self, text: str) -> int:
        """An approximate count (about four characters a token), without ``transformers``.

        Copilot publishes no tokenizer and reports no usage, so no exact count exists;
        this is what LangChain's ``count_tokens_approximately`` assumes. A
        ``custom_get_token_ids`` given to the model is used instead.
        """
        if self.custom_get_token_ids is not None:
            return len(self.custom_get_token_ids(text))
        return -(-len(text) // int(CHARS_PER_TOKEN)) if text else 0

    def get_token_ids(self, text: str) -> list[int]:
        """Not available: Copilot has no public tokenizer (``get_num_tokens`` approximates)."""
        if self.custom_get_token_ids is not None:
            return self.custom_get_token_ids(text)
        raise NotImplementedError(
            "Microsoft 365 Copilot publishes no tokenizer, so there are no token ids; "
            "get_num_tokens and get_num_tokens_from_messages give approximate counts."
        )

    def get_num_tokens_from_messages(self, messages: list[BaseMessage], tools: Sequence[Any] | None = None) -> int:
        """An approximate count (LangChain's ``count_tokens_approximately``), without ``transformers``."""
        if self.custom_get_token_ids is not None:
            return sum(self.get_num_tokens(get_buffer_string([m])) for m in messages)
        return count_tokens_approximately(messages, chars_per_token=CHARS_PER_TOKEN)

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

    # --- calls ----------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        client = self._source.sync_client()
        turn, options = self._prepare(messages, kwargs)
        if turn.conversation_id:
            answer = client.chat(turn.conversation_id, turn.message, **options)
        else:
            answer = client.ask(turn.message, **options)
        evidence = client.verify(answer).structured() if self._verifies(kwargs) else None
        return self._result(turn, answer, stop, evidence)

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
        evidence = (await client.verify(answer)).structured() if self._verifies(kwargs) else None
        return self._result(turn, answer, stop, evidence)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        client = self._source.sync_client()
        turn, options = self._prepare(messages, kwargs)
        stop = stop or self.stop
        text = StreamText(stop)
        with client.stream(turn.conversation_id, turn.message, **options) as events:
            for event in events:
                if chunk := self._chunk(turn, text, event, events.text, stop):
                    if isinstance(event, streaming.AnswerComplete) and self._verifies(kwargs):
                        chunk.message.response_metadata["verification"] = client.verify(event.answer).structured()
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
        async with client.stream(turn.conversation_id, turn.message, **options) as events:
            async for event in events:
                if chunk := self._chunk(turn, text, event, events.text, stop):
                    if isinstance(event, streaming.AnswerComplete) and self._verifies(kwargs):
                        verification = await client.verify(event.answer)
                        chunk.message.response_metadata["verification"] = verification.structured()
                    yield chunk

    # --- helpers --------------------------------------------------------------------------

    def _prepare(self, messages: Sequence[BaseMessage], kwargs: dict[str, Any]) -> tuple[Turn, dict[str, Any]]:
        """The turn to send and the core client's keyword arguments for it (options are checked first)."""
        known = (*_CALL_OPTIONS, *_IGNORED_OPTIONS, "model", "stream", "verify_citations")
        unknown = sorted(k for k in kwargs if k not in known and not k.startswith("ls_"))
        if unknown:
            raise TypeError(
                f"ChatCopilot got unexpected call options {unknown}; it takes {', '.join(_CALL_OPTIONS)} "
                f"(and accepts {', '.join(_IGNORED_OPTIONS)}, which Copilot has no use for)."
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
        turn = plan_turn(messages, LEDGER)  # last: it may claim the conversation's next turn
        if turn.additional_context:
            options["additional_context"] = list(turn.additional_context)
        return turn, {k: v for k, v in options.items() if v is not None}

    def _chunk(
        self, turn: Turn, text: StreamText, event: StreamEvent, shown: str, stop: list[str] | None
    ) -> ChatGenerationChunk | None:
        """The chunk for one stream event (``shown``: the reply after it): text that may go out now, or the final
        chunk."""
        if isinstance(event, streaming.AnswerComplete):
            chunk = last_chunk(text, event.answer, self.model, stop)
            turn.answered(LEDGER, event.answer.conversation_id, text.sent)
            return ChatGenerationChunk(message=chunk)
        piece = text.update(shown)
        return ChatGenerationChunk(message=text_chunk(piece)) if piece else None

    def _verifies(self, kwargs: Mapping[str, Any]) -> bool:
        """Whether this call attaches citation evidence: the per-call option, else the field."""
        return bool(kwargs.get("verify_citations", self.verify_citations))

    def _result(self, turn: Turn, answer: Answer, stop: list[str] | None,
                evidence: dict[str, Any] | None = None) -> ChatResult:
        message = answer_message(answer, self.model, stop or self.stop)
        if evidence is not None:
            message.response_metadata["verification"] = evidence
        turn.answered(LEDGER, answer.conversation_id, message.text)
        return ChatResult(generations=[ChatGeneration(message=message)])


def _register_for_load() -> None:
    """Let ``load(..., allowed_objects="all")``, LangChain's "trusted partner integrations", revive ChatCopilot.

    ``"all"`` means the classes in langchain-core's serialisation mapping, so the class is
    added there once, on import. Code that loads before importing this package, or that
    wants a narrower allowlist, passes ``allowed_objects=[ChatCopilot]``.
    """
    ALL_SERIALIZABLE_MAPPINGS.setdefault(
        tuple(ChatCopilot.lc_id()), ("copilot_tools", "langchain", "chat_models", "ChatCopilot")
    )


_register_for_load()
