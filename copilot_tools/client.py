"""``CopilotClient`` and ``AsyncCopilotClient``: thin loops over the shared core.

Both own one pooled ``httpx`` client and are context managers. They differ only in how
they sleep, send and read; what to send, when to retry and how to read a reply live in
``_base``, ``exchange``, ``protocol`` and ``streaming``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import anyio
import httpx
from pydantic import SecretStr

from copilot_tools._backoff import pause
from copilot_tools._base import ClientCore, ContextItem, TurnOptions, http_timeout
from copilot_tools.answer import Answer
from copilot_tools.auth.base import AsyncTokenProvider, TokenProvider
from copilot_tools._exchange import Flow, Outcome, Send, Sleep
from copilot_tools._retrieval import BatchFlow, RetrievalHit, RunFlow
from copilot_tools.settings import Settings
from copilot_tools.streaming import AnswerComplete, StreamEvent
from copilot_tools._wire import Conversation

__all__ = [
    "AsyncCopilotClient",
    "AsyncCopilotConversation",
    "CopilotClient",
    "CopilotConversation",
    "http_timeout",
]


class _ClientOptions:
    """Constructor shared by both clients (documented on each)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        endpoint: str | None = None,
        token: str | SecretStr | None = None,
        token_provider: TokenProvider | None = None,
        settings: Settings | None = None,
        time_zone: str | None = None,
        max_retries: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._core = ClientCore.configure(
            base_url=base_url, endpoint=endpoint, token=token, token_provider=token_provider,
            settings=settings, time_zone=time_zone, max_retries=max_retries, headers=headers,
        )

    @property
    def endpoint(self) -> str:
        """The base URL requests go to."""
        return self._core.endpoint.base_url

    @property
    def settings(self) -> Settings:
        return self._core.settings

    @property
    def default_time_zone(self) -> str:
        return self._core.default_time_zone


class CopilotClient(_ClientOptions):
    """Talk to Microsoft 365 Copilot synchronously.

    >>> with CopilotClient(base_url="http://127.0.0.1:8000/beta", token="x") as client:
    ...     answer = client.ask("What meeting do I have at 9 AM tomorrow?")

    Arguments override settings from the environment (``COPILOT_TOOLS_*``) and the config
    file. ``base_url``/``endpoint``: ``graph``, ``workiq`` or a base URL. ``token`` or
    ``token_provider``: how to authenticate (otherwise the configured sign-in).
    ``time_zone``: the default IANA zone for turns (otherwise the machine's own).
    """

    def __init__(self, base_url: str | None = None, *, http_client: httpx.Client | None = None, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self._core.timeout(), follow_redirects=False)

    # --- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- conversations --------------------------------------------------------------------

    def create_conversation(self) -> Conversation:
        """Start an empty conversation; its ``id`` continues it."""
        return self._core.conversation(self._run(self._core.create_flow()))

    def ask(
        self,
        message: str,
        *,
        files: Sequence[str] = (),
        web_search: bool | None = None,
        additional_context: Sequence[ContextItem] = (),
        time_zone: str | None = None,
    ) -> Answer:
        """Ask in a new conversation. Continue it with ``chat(answer.conversation_id, ...)``."""
        options = TurnOptions(message, files, web_search, additional_context, time_zone)
        body = self._core.turn_body(options)  # validate before creating anything
        conversation = self.create_conversation()
        return self._chat(conversation.id, options, body)

    def chat(
        self,
        conversation_id: str,
        message: str,
        *,
        files: Sequence[str] = (),
        web_search: bool | None = None,
        additional_context: Sequence[ContextItem] = (),
        time_zone: str | None = None,
    ) -> Answer:
        """The next turn of an existing conversation, answered in one piece."""
        options = TurnOptions(message, files, web_search, additional_context, time_zone)
        return self._chat(conversation_id, options, self._core.turn_body(options))

    def stream(
        self,
        conversation_id: str | None,
        message: str,
        *,
        files: Sequence[str] = (),
        web_search: bool | None = None,
        additional_context: Sequence[ContextItem] = (),
        time_zone: str | None = None,
    ) -> Iterator[StreamEvent]:
        """Yield text deltas and resets as Copilot writes, then the final ``AnswerComplete``.

        ``conversation_id=None`` starts a new conversation. A stream is never re-sent after
        its first byte: a broken one raises ``StreamInterruptedError`` with the partial text.
        """
        options = TurnOptions(message, files, web_search, additional_context, time_zone)
        body = self._core.turn_body(options)
        conversation_id = conversation_id or self.create_conversation().id
        received = self._run(self._core.turn_flow(conversation_id, body, stream=True))
        response: httpx.Response = received.handle
        reader = self._core.stream_reader(options, received)
        try:
            try:
                for chunk in response.iter_bytes():
                    yield from reader.feed(chunk)
            except httpx.HTTPError as exc:
                raise reader.broken(exc, received.request_id) from exc
            yield from reader.close()
        finally:
            response.close()

    def conversation(self, conversation_id: str | None = None) -> CopilotConversation:
        """A stateful helper: each ``ask`` continues the same conversation."""
        return CopilotConversation(self, conversation_id)

    # --- retrieval ------------------------------------------------------------------------

    def retrieve(
        self,
        query: str,
        *,
        data_source: str = "sharePoint",
        filter: str | None = None,
        metadata: Sequence[str] | None = None,
        max_results: int | None = None,
        connections: Sequence[str] | None = None,
    ) -> list[RetrievalHit]:
        """The passages Copilot would ground ``query`` on, from one data source."""
        return self.retrieve_many(query, data_sources=data_source, filter=filter, metadata=metadata,
                                  max_results=max_results, connections=connections)

    def retrieve_many(
        self,
        queries: str | Sequence[str],
        *,
        data_sources: str | Sequence[str] = ("sharePoint",),
        filter: str | None = None,
        metadata: Sequence[str] | None = None,
        max_results: int | None = None,
        connections: Sequence[str] | None = None,
    ) -> list[RetrievalHit]:
        """Every query against every data source through ``$batch``, merged by URL."""
        planned = self._core.retrieval_queries(queries, data_sources, filter=filter, metadata=metadata,
                                               max_results=max_results, connections=connections)
        return self._core.retrieval_hits(self._run(self._core.retrieval_flow(planned)), planned)

    # --- the driver -----------------------------------------------------------------------

    def _chat(self, conversation_id: str, options: TurnOptions, body: Any) -> Answer:
        received = self._run(self._core.turn_flow(conversation_id, body, stream=False))
        return self._core.answer(received, options)

    def _run(self, flow: Flow | BatchFlow) -> Any:
        action = next(flow)
        while True:
            outcome: Any = None
            if isinstance(action, Sleep):
                time.sleep(action.seconds)
            elif isinstance(action, RunFlow):
                outcome = self._run(action.flow)
            else:
                outcome = self._send(action)
            try:
                action = flow.send(outcome)
            except StopIteration as stop:
                return stop.value

    def _send(self, send: Send) -> Outcome:
        token = self._core.token_provider.get_token(claims=send.claims, force_refresh=send.force_refresh)
        method, url, headers, body = self._core.http_request(send, token)
        started = time.perf_counter()
        try:
            request = self._http.build_request(method, url, headers=headers, json=body)
            response = self._http.send(request, stream=send.stream)
            if send.stream and not 200 <= response.status_code < 300:
                response.read()
                response.close()
        except httpx.TransportError as exc:
            return self._core.failed(exc)
        self._core.log_response(send, response, started)
        return self._core.received(response, stream=send.stream)


class AsyncCopilotClient(_ClientOptions):
    """The async twin of ``CopilotClient``: the same arguments, ``await`` and ``async for``."""

    def __init__(self, base_url: str | None = None, *, http_client: httpx.AsyncClient | None = None, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=self._core.timeout(), follow_redirects=False)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def create_conversation(self) -> Conversation:
        return self._core.conversation(await self._run(self._core.create_flow()))

    async def ask(
        self,
        message: str,
        *,
        files: Sequence[str] = (),
        web_search: bool | None = None,
        additional_context: Sequence[ContextItem] = (),
        time_zone: str | None = None,
    ) -> Answer:
        options = TurnOptions(message, files, web_search, additional_context, time_zone)
        body = self._core.turn_body(options)
        conversation = await self.create_conversation()
        return await self._chat(conversation.id, options, body)

    async def chat(
        self,
        conversation_id: str,
        message: str,
        *,
        files: Sequence[str] = (),
        web_search: bool | None = None,
        additional_context: Sequence[ContextItem] = (),
        time_zone: str | None = None,
    ) -> Answer:
        options = TurnOptions(message, files, web_search, additional_context, time_zone)
        return await self._chat(conversation_id, options, self._core.turn_body(options))

    async def stream(
        self,
        conversation_id: str | None,
        message: str,
        *,
        files: Sequence[str] = (),
        web_search: bool | None = None,
        additional_context: Sequence[ContextItem] = (),
        time_zone: str | None = None,
    ) -> AsyncIterator[StreamEvent]:
        options = TurnOptions(message, files, web_search, additional_context, time_zone)
        body = self._core.turn_body(options)
        conversation_id = conversation_id or (await self.create_conversation()).id
        received = await self._run(self._core.turn_flow(conversation_id, body, stream=True))
        response: httpx.Response = received.handle
        reader = self._core.stream_reader(options, received)
        try:
            try:
                async for chunk in response.aiter_bytes():
                    for item in reader.feed(chunk):
                        yield item
            except httpx.HTTPError as exc:
                raise reader.broken(exc, received.request_id) from exc
            for item in reader.close():
                yield item
        finally:
            await response.aclose()

    def conversation(self, conversation_id: str | None = None) -> AsyncCopilotConversation:
        return AsyncCopilotConversation(self, conversation_id)

    # --- retrieval ------------------------------------------------------------------------

    async def retrieve(
        self,
        query: str,
        *,
        data_source: str = "sharePoint",
        filter: str | None = None,
        metadata: Sequence[str] | None = None,
        max_results: int | None = None,
        connections: Sequence[str] | None = None,
    ) -> list[RetrievalHit]:
        """The passages Copilot would ground ``query`` on, from one data source."""
        return await self.retrieve_many(query, data_sources=data_source, filter=filter, metadata=metadata,
                                  max_results=max_results, connections=connections)

    async def retrieve_many(
        self,
        queries: str | Sequence[str],
        *,
        data_sources: str | Sequence[str] = ("sharePoint",),
        filter: str | None = None,
        metadata: Sequence[str] | None = None,
        max_results: int | None = None,
        connections: Sequence[str] | None = None,
    ) -> list[RetrievalHit]:
        """Every query against every data source through ``$batch``, merged by URL."""
        planned = self._core.retrieval_queries(queries, data_sources, filter=filter, metadata=metadata,
                                               max_results=max_results, connections=connections)
        return self._core.retrieval_hits(await self._run(self._core.retrieval_flow(planned)), planned)

    async def _chat(self, conversation_id: str, options: TurnOptions, body: Any) -> Answer:
        received = await self._run(self._core.turn_flow(conversation_id, body, stream=False))
        return self._core.answer(received, options)

    async def _run(self, flow: Flow | BatchFlow) -> Any:
        action = next(flow)
        while True:
            outcome: Any = None
            if isinstance(action, Sleep):
                await pause(action.seconds, action.cause)
            elif isinstance(action, RunFlow):
                outcome = await self._run(action.flow)
            else:
                outcome = await self._send(action)
            try:
                action = flow.send(outcome)
            except StopIteration as stop:
                return stop.value

    async def _token(self, send: Send) -> str:
        provider = self._core.token_provider
        if isinstance(provider, AsyncTokenProvider):
            return await provider.aget_token(claims=send.claims, force_refresh=send.force_refresh)
        return await anyio.to_thread.run_sync(
            lambda: provider.get_token(claims=send.claims, force_refresh=send.force_refresh)
        )

    async def _send(self, send: Send) -> Outcome:
        method, url, headers, body = self._core.http_request(send, await self._token(send))
        started = time.perf_counter()
        try:
            request = self._http.build_request(method, url, headers=headers, json=body)
            response = await self._http.send(request, stream=send.stream)
            if send.stream and not 200 <= response.status_code < 300:
                await response.aread()
                await response.aclose()
        except httpx.TransportError as exc:
            return self._core.failed(exc)
        self._core.log_response(send, response, started)
        return self._core.received(response, stream=send.stream)


class CopilotConversation:
    """One conversation held across turns (sync)."""

    def __init__(self, client: CopilotClient, conversation_id: str | None) -> None:
        self._client = client
        self.id = conversation_id
        self.answers: list[Answer] = []

    @property
    def turn_count(self) -> int:
        return self.answers[-1].turn_count if self.answers else 0

    def ask(self, message: str, **kwargs: Any) -> Answer:
        if self.id is None:
            answer = self._client.ask(message, **kwargs)
            self.id = answer.conversation_id
        else:
            answer = self._client.chat(self.id, message, **kwargs)
        self.answers.append(answer)
        return answer

    def stream(self, message: str, **kwargs: Any) -> Iterator[StreamEvent]:
        if self.id is None:
            self.id = self._client.create_conversation().id
        for event in self._client.stream(self.id, message, **kwargs):
            if isinstance(event, AnswerComplete):
                self.answers.append(event.answer)
            yield event


class AsyncCopilotConversation:
    """One conversation held across turns (async)."""

    def __init__(self, client: AsyncCopilotClient, conversation_id: str | None) -> None:
        self._client = client
        self.id = conversation_id
        self.answers: list[Answer] = []

    @property
    def turn_count(self) -> int:
        return self.answers[-1].turn_count if self.answers else 0

    async def ask(self, message: str, **kwargs: Any) -> Answer:
        if self.id is None:
            answer = await self._client.ask(message, **kwargs)
            self.id = answer.conversation_id
        else:
            answer = await self._client.chat(self.id, message, **kwargs)
        self.answers.append(answer)
        return answer

    async def stream(self, message: str, **kwargs: Any) -> AsyncIterator[StreamEvent]:
        if self.id is None:
            self.id = (await self._client.create_conversation()).id
        async for event in self._client.stream(self.id, message, **kwargs):
            if isinstance(event, AnswerComplete):
                self.answers.append(event.answer)
            yield event

