"""``CopilotClient`` and ``AsyncCopilotClient``: thin loops over the shared core.

Both own one pooled ``httpx`` client and are context managers. They differ only in how
they sleep, send and read; what to send, when to retry and how to read a reply live in
``_base``, ``_exchange``, ``_protocol`` and ``streaming``, and the helpers that touch
``httpx`` objects in ``_io``.

Two time limits apply (see ``docs/client.md``): ``timeout`` bounds each silence while
bytes should be flowing; ``deadline`` bounds the whole call, retries and back-offs
included, and ends it with ``DeadlineExceededError``.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

import anyio
import httpx
from pydantic import SecretStr

from copilot_tools import _io
from copilot_tools._backoff import pause
from copilot_tools._base import ClientCore, ContextItem, TurnOptions
from copilot_tools._exchange import Flow, Outcome, Received, Send, Sleep
from copilot_tools._io import http_timeout
from copilot_tools._retrieval import BatchFlow, RetrievalHit, RunFlow
from copilot_tools._retry import Deadline
from copilot_tools._stream import AsyncStream, Stream
from copilot_tools._wire import ChatRequest, Conversation
from copilot_tools.answer import Answer
from copilot_tools.auth.base import AsyncTokenProvider, TokenProvider
from copilot_tools.settings import Settings
from copilot_tools.streaming import AnswerComplete, StreamEvent, StreamReader

if TYPE_CHECKING:
    # Imported by ``verify`` on first use: its dataclasses and patterns cost every import of the
    # client a few milliseconds (benchmarks/import_time.py) and most programs never verify.
    from copilot_tools._verify import Verification

__all__ = [
    "AsyncCopilotClient",
    "AsyncCopilotConversation",
    "AsyncStream",
    "CopilotClient",
    "CopilotConversation",
    "Stream",
    "http_timeout",
]


_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)


class _ClientOptions(Generic[_Http]):
    """The constructor and configuration shared by both clients (documented on ``CopilotClient``)."""

    _core: ClientCore
    _owns_http: bool
    _http: _Http

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | SecretStr | None = None,
        token_provider: TokenProvider | None = None,
        settings: Settings | None = None,
        time_zone: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: _Http | None = None,
        endpoint: str | None = None,
    ) -> None:
        if endpoint is not None:
            warnings.warn("endpoint= is deprecated; use base_url=", DeprecationWarning, stacklevel=2)
        self._core = ClientCore.configure(
            base_url=base_url or endpoint, token=token, token_provider=token_provider, settings=settings,
            time_zone=time_zone, timeout=timeout, deadline=deadline, max_retries=max_retries, headers=headers,
            machine_time_zone=_io.local_time_zone, user_agent=_io.user_agent(),
        )
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else self._new_pool(http_timeout(self._core.settings))

    def _new_pool(self, timeout: httpx.Timeout) -> _Http:
        raise NotImplementedError

    def with_options(
        self,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A client with these options changed that shares this one's connection pool.

        Cheap enough to call per request (``client.with_options(deadline=30).ask(...)``).
        Closing it does not close the pool; closing the original does.
        """
        clone = copy.copy(self)
        clone._core = self._core.with_options(timeout=timeout, deadline=deadline, max_retries=max_retries,
                                              headers=headers)
        clone._owns_http = False
        return clone

    @property
    def base_url(self) -> str:
        """The base URL requests go to."""
        return self._core.endpoint.base_url

    @property
    def endpoint(self) -> str:
        """The base URL requests go to (the old name of ``base_url``)."""
        return self._core.endpoint.base_url

    @property
    def settings(self) -> Settings:
        return self._core.settings

    @property
    def timeout(self) -> float:
        """Seconds of silence tolerated while bytes should be flowing."""
        return self._core.settings.timeout

    @property
    def deadline(self) -> float:
        """Seconds one call may take in total, retries and back-offs included."""
        return self._core.settings.deadline

    @property
    def max_retries(self) -> int:
        return self._core.settings.max_retries

    @property
    def default_time_zone(self) -> str:
        return self._core.default_time_zone

    def _deadline(self) -> Deadline:
        return Deadline(self._core.settings.deadline)


class CopilotClient(_ClientOptions[httpx.Client]):
    """Talk to Microsoft 365 Copilot synchronously.

    >>> with CopilotClient(base_url="http://127.0.0.1:8000/beta", token="x") as client:
    ...     answer = client.ask("What meeting do I have at 9 AM tomorrow?")

    Arguments override settings from the environment (``COPILOT_TOOLS_*``) and the config
    file (or ``settings``, when given). ``base_url``: ``graph``, ``workiq``,
    ``workiq-beta`` or a base URL (``endpoint`` is its deprecated old name). ``token`` or
    ``token_provider``: how to authenticate (otherwise the configured sign-in).
    ``time_zone``: the default IANA zone for turns (otherwise the machine's own).
    ``timeout``: seconds of silence tolerated while bytes should flow. ``deadline``:
    seconds one call may take in total. ``max_retries``: re-sends where safe.
    ``headers``: extra headers on every request. ``http_client``: an ``httpx.Client`` to
    use (and not close) instead of the client's own pool.
    """

    def _new_pool(self, timeout: httpx.Timeout) -> httpx.Client:
        return httpx.Client(timeout=timeout, follow_redirects=False)

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
        return self._create(self._deadline())

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
        deadline = self._deadline()
        conversation = self._create(deadline)
        return self._chat(conversation.id, options, body, deadline, from_service=True)

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
        return self._chat(conversation_id, options, self._core.turn_body(options), self._deadline())

    def stream(
        self,
        conversation_id: str | None,
        message: str,
        *,
        files: Sequence[str] = (),
        web_search: bool | None = None,
        additional_context: Sequence[ContextItem] = (),
        time_zone: str | None = None,
    ) -> Stream:
        """Text deltas and resets as Copilot writes, then the final ``AnswerComplete``.

        Returns a ``Stream``: iterate it, use it as a context manager (``with``), read
        ``.answer`` at the end, ``.close()`` it to stop early. ``conversation_id=None``
        starts a new conversation. A stream is never re-sent after its first byte: a
        broken one raises ``StreamInterruptedError`` with the partial text (and a passed
        deadline ``DeadlineExceededError``, also with it). Nothing is sent until the
        first event is asked for.
        """
        options = TurnOptions(message, files, web_search, additional_context, time_zone)
        body = self._core.turn_body(options)
        return Stream(self._stream_events(conversation_id, options, body, self._deadline()))

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
        container_type_id: str | None = None,
    ) -> list[RetrievalHit]:
        """The passages Copilot would ground ``query`` on, from one data source."""
        return self.retrieve_many(query, data_sources=data_source, filter=filter, metadata=metadata,
                                  max_results=max_results, connections=connections,
                                  container_type_id=container_type_id)

    def retrieve_many(
        self,
        queries: str | Sequence[str],
        *,
        data_sources: str | Sequence[str] = ("sharePoint",),
        filter: str | None = None,
        metadata: Sequence[str] | None = None,
        max_results: int | None = None,
        connections: Sequence[str] | None = None,
        container_type_id: str | None = None,
    ) -> list[RetrievalHit]:
        """Every query against every data source through ``$batch``, merged by URL."""
        planned = self._core.retrieval_queries(queries, data_sources, filter=filter, metadata=metadata,
                                               max_results=max_results, connections=connections,
                                               container_type_id=container_type_id)
        return self._core.retrieval_hits(self._run(self._core.retrieval_flow(planned), self._deadline()), planned)

    # --- the driver -----------------------------------------------------------------------

    def _create(self, deadline: Deadline) -> Conversation:
        return self._core.conversation(self._run(self._core.create_flow(), deadline))

    def _chat(self, conversation_id: str, options: TurnOptions, body: ChatRequest, deadline: Deadline,
              *, from_service: bool = False) -> Answer:
        flow = self._core.turn_flow(conversation_id, body, stream=False, from_service=from_service)
        return self._core.answer(self._run(flow, deadline), options)

    def _stream_events(self, conversation_id: str | None, options: TurnOptions, body: ChatRequest,
                       deadline: Deadline) -> Generator[StreamEvent, None, None]:
        from_service = conversation_id is None
        if conversation_id is None:
            conversation_id = self._create(deadline).id
        flow = self._core.turn_flow(conversation_id, body, stream=True, from_service=from_service)
        received: Received = self._run(flow, deadline)
        response: httpx.Response = received.handle
        try:
            reader = self._core.stream_reader(options, received)
            with _io.Watchdog(response, deadline) as watchdog:
                chunks = response.iter_bytes()
                while not deadline.expired():  # a trickle ends here, a stall by the watchdog
                    try:
                        chunk = next(chunks)
                    except StopIteration:
                        break
                    except httpx.HTTPError as exc:
                        raise _broken(reader, exc, received, deadline) from exc
                    watchdog.arm()
                    yield from reader.feed(chunk)
                if watchdog.fired or deadline.expired():
                    raise deadline.exceeded(partial_text=reader.text_so_far, request_id=received.request_id,
                                            sent=True)
            yield from reader.close()
        finally:
            response.close()

    def _run(self, flow: Flow | BatchFlow, deadline: Deadline | None = None) -> Any:
        """Drive ``flow`` to its result within ``deadline`` (a fresh one for the call if None)."""
        deadline = deadline or self._deadline()
        action = next(flow)
        while True:
            outcome: Any = None
            if isinstance(action, Sleep):
                if not deadline.allows_wait(action.seconds):
                    raise deadline.exceeded() from action.cause
                _io.log_retry(action)
                time.sleep(action.seconds)
            elif isinstance(action, RunFlow):
                outcome = self._run(action.flow, deadline)
            else:
                outcome = self._send(action, deadline)
            try:
                action = flow.send(outcome)
            except StopIteration as stop:
                return stop.value

    def _send(self, send: Send, deadline: Deadline) -> Outcome:
        if deadline.expired():
            raise deadline.exceeded()
        return _io.within_deadline(self._attempt(send, deadline), send, deadline)

    def _attempt(self, send: Send, deadline: Deadline) -> Outcome:
        token = self._core.token_provider.get_token(claims=send.claims, force_refresh=send.force_refresh)
        method, url, headers, body = self._core.http_request(send, token)
        timeout = _io.attempt_timeout(self._core.settings, send, deadline.remaining())
        started = time.perf_counter()
        try:
            request = self._http.build_request(method, url, headers=headers, json=body, timeout=timeout)
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            _io.log_failure(send, exc, started)
            return _io.failed(exc)
        _io.log_response(send, response, started)
        if not _io.wants_body(send, response):
            return _io.head(response)
        try:
            parts = []
            with _io.Watchdog(response, deadline) as watchdog:  # a stall is cut at the deadline
                for part in response.iter_bytes():  # and a trickle between pieces
                    parts.append(part)
                    if deadline.expired():
                        break
                    watchdog.arm()
            if watchdog.fired or deadline.expired():
                raise deadline.exceeded(sent=send.operation == "turn")
        except httpx.DecodingError as exc:
            raise _io.decoding_error(exc, response) from None
        except httpx.TransportError as exc:
            return _io.failed(exc)
        finally:
            response.close()
        return _io.complete(response, b"".join(parts))

    # --- verification (copilot_tools._verify, docs/verify.md) ---------------------------------

    def verify(self, answer: Answer) -> Verification:
        """Check each citation of ``answer`` against the document it cites, in one ``$batch``."""
        from copilot_tools._verify import plan_verification

        plan = plan_verification(answer, file_hosts=self._core.settings.file_hosts)
        if not plan.queries:
            return plan.judge([])
        return plan.judge(self._run(plan.batch(self._core.endpoint, self._core.policy), self._deadline()))


class AsyncCopilotClient(_ClientOptions[httpx.AsyncClient]):
    """The async twin of ``CopilotClient``: the same arguments, ``await`` and ``async for``.

    ``http_client`` is an ``httpx.AsyncClient``.
    """

    def _new_pool(self, timeout: httpx.Timeout) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def create_conversation(self) -> Conversation:
        return await self._create(self._deadline())

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
        deadline = self._deadline()
        conversation = await self._create(deadline)
        return await self._chat(conversation.id, options, body, deadline, from_service=True)

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
        return await self._chat(conversation_id, options, self._core.turn_body(options), self._deadline())

    def stream(
        self,
        conversation_id: str | None,
        message: str,
        *,
        files: Sequence[str] = (),
        web_search: bool | None = None,
        additional_context: Sequence[ContextItem] = (),
        time_zone: str | None = None,
    ) -> AsyncStream:
        """An ``AsyncStream`` of the turn: ``async for``, ``async with``, ``.answer``, ``aclose()``."""
        options = TurnOptions(message, files, web_search, additional_context, time_zone)
        body = self._core.turn_body(options)
        return AsyncStream(self._stream_events(conversation_id, options, body, self._deadline()))

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
        container_type_id: str | None = None,
    ) -> list[RetrievalHit]:
        """The passages Copilot would ground ``query`` on, from one data source."""
        return await self.retrieve_many(query, data_sources=data_source, filter=filter, metadata=metadata,
                                        max_results=max_results, connections=connections,
                                        container_type_id=container_type_id)

    async def retrieve_many(
        self,
        queries: str | Sequence[str],
        *,
        data_sources: str | Sequence[str] = ("sharePoint",),
        filter: str | None = None,
        metadata: Sequence[str] | None = None,
        max_results: int | None = None,
        connections: Sequence[str] | None = None,
        container_type_id: str | None = None,
    ) -> list[RetrievalHit]:
        """Every query against every data source through ``$batch``, merged by URL."""
        planned = self._core.retrieval_queries(queries, data_sources, filter=filter, metadata=metadata,
                                               max_results=max_results, connections=connections,
                                               container_type_id=container_type_id)
        result = await self._run(self._core.retrieval_flow(planned), self._deadline())
        return self._core.retrieval_hits(result, planned)

    # --- the driver -----------------------------------------------------------------------

    async def _create(self, deadline: Deadline) -> Conversation:
        return self._core.conversation(await self._run(self._core.create_flow(), deadline))

    async def _chat(self, conversation_id: str, options: TurnOptions, body: ChatRequest, deadline: Deadline,
                    *, from_service: bool = False) -> Answer:
        flow = self._core.turn_flow(conversation_id, body, stream=False, from_service=from_service)
        return self._core.answer(await self._run(flow, deadline), options)

    async def _stream_events(self, conversation_id: str | None, options: TurnOptions, body: ChatRequest,
                             deadline: Deadline) -> AsyncGenerator[StreamEvent, None]:
        from_service = conversation_id is None
        if conversation_id is None:
            conversation_id = (await self._create(deadline)).id
        flow = self._core.turn_flow(conversation_id, body, stream=True, from_service=from_service)
        received: Received = await self._run(flow, deadline)
        response: httpx.Response = received.handle
        try:
            reader = self._core.stream_reader(options, received)
            chunks = response.aiter_bytes()
            while True:
                try:
                    # The silence timeout bounds each read; the cancel scope holds the deadline exactly.
                    with anyio.fail_after(deadline.remaining()):
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise deadline.exceeded(partial_text=reader.text_so_far, request_id=received.request_id,
                                            sent=True) from None
                except httpx.HTTPError as exc:
                    raise _broken(reader, exc, received, deadline) from exc
                for item in reader.feed(chunk):
                    yield item
            for item in reader.close():
                yield item
        finally:
            await response.aclose()

    async def _run(self, flow: Flow | BatchFlow, deadline: Deadline | None = None) -> Any:
        """Drive ``flow`` to its result within ``deadline`` (a fresh one for the call if None)."""
        deadline = deadline or self._deadline()
        action = next(flow)
        while True:
            outcome: Any = None
            if isinstance(action, Sleep):
                if not deadline.allows_wait(action.seconds):
                    raise deadline.exceeded() from action.cause
                _io.log_retry(action)
                await pause(action.seconds, action.cause)
            elif isinstance(action, RunFlow):
                outcome = await self._run(action.flow, deadline)
            else:
                outcome = await self._send(action, deadline)
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

    async def _send(self, send: Send, deadline: Deadline) -> Outcome:
        if deadline.expired():
            raise deadline.exceeded()
        try:
            with anyio.fail_after(deadline.remaining()):  # holds the deadline exactly
                outcome = await self._attempt(send, deadline)
        except TimeoutError:
            raise deadline.exceeded(sent=send.operation == "turn") from None
        return _io.within_deadline(outcome, send, deadline)

    async def _attempt(self, send: Send, deadline: Deadline) -> Outcome:
        method, url, headers, body = self._core.http_request(send, await self._token(send))
        timeout = _io.attempt_timeout(self._core.settings, send, deadline.remaining())
        started = time.perf_counter()
        try:
            request = self._http.build_request(method, url, headers=headers, json=body, timeout=timeout)
            response = await self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            _io.log_failure(send, exc, started)
            return _io.failed(exc)
        _io.log_response(send, response, started)
        if not _io.wants_body(send, response):
            return _io.head(response)
        try:
            content = await response.aread()
        except httpx.DecodingError as exc:
            raise _io.decoding_error(exc, response) from None
        except httpx.TransportError as exc:
            return _io.failed(exc)
        finally:
            await response.aclose()
        return _io.complete(response, content)


    # --- verification (copilot_tools._verify, docs/verify.md) ---------------------------------

    async def verify(self, answer: Answer) -> Verification:
        """Check each citation of ``answer`` against the document it cites, in one ``$batch``."""
        from copilot_tools._verify import plan_verification

        plan = plan_verification(answer, file_hosts=self._core.settings.file_hosts)
        if not plan.queries:
            return plan.judge([])
        return plan.judge(await self._run(plan.batch(self._core.endpoint, self._core.policy), self._deadline()))


def _broken(reader: StreamReader, error: httpx.HTTPError, received: Received, deadline: Deadline) -> Exception:
    """A stream that broke after it started: over its deadline, undecodable, or interrupted."""
    if deadline.expired(slack=_io.DEADLINE_SLACK):
        return deadline.exceeded(partial_text=reader.text_so_far, request_id=received.request_id, sent=True)
    if isinstance(error, httpx.DecodingError) and not reader.text_so_far:
        return _io.decoding_error(error, received.handle)  # nothing shown: not Copilot's stream at all
    return reader.broken(error, received.request_id)


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

    def stream(self, message: str, **kwargs: Any) -> Stream:
        return Stream(self._events(message, **kwargs))

    def _events(self, message: str, **kwargs: Any) -> Generator[StreamEvent, None, None]:
        if self.id is None:
            self.id = self._client.create_conversation().id
        with self._client.stream(self.id, message, **kwargs) as stream:
            for event in stream:
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

    def stream(self, message: str, **kwargs: Any) -> AsyncStream:
        return AsyncStream(self._events(message, **kwargs))

    async def _events(self, message: str, **kwargs: Any) -> AsyncGenerator[StreamEvent, None]:
        if self.id is None:
            self.id = (await self._client.create_conversation()).id
        async with self._client.stream(self.id, message, **kwargs) as stream:
            async for event in stream:
                if isinstance(event, AnswerComplete):
                    self.answers.append(event.answer)
                yield event

