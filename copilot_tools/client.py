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
import dataclasses
import time
import warnings
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast, overload

import anyio
import httpx
from typing_extensions import Unpack

from copilot_tools._backoff import pause
from copilot_tools._lazy import LazyModule, lazy_exports, load
from copilot_tools._retrieval_keywords import RetrievalKeywords
from copilot_tools._retry import Deadline
from copilot_tools.auth.base import AsyncTokenProvider, TokenProvider

if TYPE_CHECKING:
    from pydantic import SecretStr

    from copilot_tools import _base, _io, _stream, streaming
    from copilot_tools import _exchange as exchange
    from copilot_tools._base import ClientCore, ClientOptionKeywords, Turn, TurnKeywords
    from copilot_tools._exchange import Outcome, Plan, Received, Send, Sleep
    from copilot_tools._io import http_timeout
    from copilot_tools._retrieval import RetrievalHit  # loaded by the first retrieval
    from copilot_tools._stream import AsyncStream, Stream
    from copilot_tools._verify import Verification  # loaded by the first verify()
    from copilot_tools._wire import Conversation
    from copilot_tools.answer import Answer
    from copilot_tools.settings import Settings
    from copilot_tools.streaming import StreamEvent, StreamReader
else:
    # The import of the client loads neither pydantic with its model machinery (``pydantic.main``, the
    # schema generator, ``SecretStr``) nor our models and the modules that use them, ~55 ms together:
    # ``from copilot_tools import CopilotClient`` took 154 ms against 104 ms for ``import httpx,
    # pydantic``, now 98 ms against 109 (ratio 1.48 -> 0.90, benchmarks/import_time.py). They load with
    # the first construction (``load`` in ``_ClientOptions.__init__``), which needs ``Settings`` anyway,
    # so the first ask or stream pays no import. Each stand-in has then put its module in its place: a
    # call reads ``_io.Steps`` as it did when ``_io`` was imported here (benchmarks/client_overhead.py).
    _base = LazyModule("copilot_tools._base", globals())
    _io = LazyModule("copilot_tools._io", globals())
    _stream = LazyModule("copilot_tools._stream", globals())
    exchange = LazyModule("copilot_tools._exchange", globals(), "exchange")
    streaming = LazyModule("copilot_tools.streaming", globals())
    # What this module has always re-exported, from those modules, on first read.
    __getattr__ = lazy_exports(__name__, globals(), {
        **dict.fromkeys(("AsyncStream", "Stream"), "copilot_tools._stream"),
        **dict.fromkeys(("ClientOptionKeywords", "TurnKeywords"), "copilot_tools._base"),
        "http_timeout": "copilot_tools._io",
    })

__all__ = [
    "AsyncCopilotClient",
    "AsyncCopilotConversation",
    "AsyncStream",
    "CopilotClient",
    "ClientOptionKeywords",
    "CopilotConversation",
    "RetrievalKeywords",
    "Stream",
    "TurnKeywords",
    "http_timeout",
]


_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)
_T = TypeVar("_T")


class _Setting(Generic[_T]):
    """A read-only client property that is the setting of the same name (``client.timeout``)."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, client: None, owner: type) -> Self: ...
    @overload
    def __get__(self, client: _ClientOptions[Any], owner: type) -> _T: ...
    def __get__(self, client: _ClientOptions[Any] | None, owner: type) -> Self | _T:
        return self if client is None else cast(_T, getattr(client._core.settings, self._name))


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
        load(_base, _io, _stream, exchange, streaming)  # what the first call needs: see the imports
        self._core = _base.ClientCore.configure(
            base_url=base_url or endpoint, token=token, token_provider=token_provider, settings=settings,
            time_zone=time_zone, machine_time_zone=_io.local_time_zone, user_agent=_io.user_agent(),
            timeout=timeout, deadline=deadline, max_retries=max_retries, headers=headers,
        )
        self._owns_http = http_client is None
        if http_client is not None:
            self._http = http_client
        else:  # the pool sends our User-Agent by itself (ClientCore._attempt_headers says why)
            user_agent = self._core.headers["User-Agent"]
            self._http = _io.own_pool(self._new_pool(_io.http_timeout(self._core.settings), {"User-Agent": user_agent}))
            self._core = dataclasses.replace(self._core, pool_user_agent=user_agent)

    def _new_pool(self, timeout: httpx.Timeout, headers: dict[str, str]) -> _Http:
        raise NotImplementedError

    def with_options(self, **options: Unpack[ClientOptionKeywords]) -> Self:
        """A client with these options changed that shares this one's connection pool.

        ``timeout``, ``deadline``, ``max_retries`` (None keeps the client's) and
        ``headers`` (added to the client's), as in the constructor. Cheap enough to call
        per request (``client.with_options(deadline=30).ask(...)``). Closing it does not
        close the pool; closing the original does.
        """
        clone = copy.copy(self)
        clone._core = self._core.with_options(**options)
        clone._owns_http = False
        return clone

    @property
    def base_url(self) -> str:
        """The base URL requests go to (``endpoint`` is its old name)."""
        return self._core.endpoint.base_url

    endpoint = base_url

    @property
    def settings(self) -> Settings:
        return self._core.settings

    timeout = _Setting[float]("Seconds of silence tolerated while bytes should be flowing.")
    deadline = _Setting[float]("Seconds one call may take in total, retries and back-offs included.")
    max_retries = _Setting[int]("Re-sends where safe.")

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

    The options of a turn (``files``, ``web_search``, ``additional_context``,
    ``time_zone``) are typed by ``TurnKeywords``, those of retrieval (``filter``,
    ``metadata``, ``max_results``, ``connections``, ``container_type_id``) by
    ``RetrievalKeywords``: a type checker refuses a misspelled one, and so does the call.
    """

    def _new_pool(self, timeout: httpx.Timeout, headers: dict[str, str]) -> httpx.Client:
        return httpx.Client(timeout=timeout, headers=headers, follow_redirects=False)

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
        return self._run(self._core.new_conversation(), self._deadline())

    def ask(self, message: str, **options: Unpack[TurnKeywords]) -> Answer:
        """Ask in a new conversation. Continue it with ``chat(answer.conversation_id, ...)``."""
        return self._answer(self._core.turn(None, message, options, stream=False))

    def chat(self, conversation_id: str, message: str, **options: Unpack[TurnKeywords]) -> Answer:
        """The next turn of an existing conversation, answered in one piece."""
        return self._answer(self._core.turn(conversation_id, message, options, stream=False))

    def stream(self, conversation_id: str | None, message: str, **options: Unpack[TurnKeywords]) -> Stream:
        """Text deltas and resets as Copilot writes, then the final ``AnswerComplete``.

        Returns a ``Stream``: iterate it, use it as a context manager (``with``), read
        ``.answer`` at the end, ``.close()`` it to stop early. ``conversation_id=None``
        starts a new conversation. A stream is never re-sent after its first byte: a
        broken one raises ``StreamInterruptedError`` with the partial text (and a passed
        deadline ``DeadlineExceededError``, also with it). Nothing is sent until the
        first event is asked for.
        """
        turn = self._core.turn(conversation_id, message, options, stream=True)
        return _stream.Stream(self._stream_events(turn, self._deadline()))

    def conversation(self, conversation_id: str | None = None) -> CopilotConversation:
        """A stateful helper: each ``ask`` continues the same conversation."""
        return CopilotConversation(self, conversation_id)

    # --- retrieval ------------------------------------------------------------------------

    def retrieve(self, query: str, *, data_source: str = "sharePoint",
                 **options: Unpack[RetrievalKeywords]) -> list[RetrievalHit]:
        """The passages Copilot would ground ``query`` on, from one data source."""
        return self.retrieve_many(query, data_sources=data_source, **options)

    def retrieve_many(self, queries: str | Sequence[str], *, data_sources: str | Sequence[str] = ("sharePoint",),
                      **options: Unpack[RetrievalKeywords]) -> list[RetrievalHit]:
        """Every query against every data source through ``$batch``, merged by URL."""
        return self._run(self._core.retrieval(queries, data_sources, options), self._deadline())

    # --- verification (copilot_tools._verify, docs/verify.md) ---------------------------------

    def verify(self, answer: Answer) -> Verification:
        """Check each citation of ``answer`` against the document it cites, in one ``$batch``."""
        return self._run(self._core.verification(answer), self._deadline())

    # --- the driver -----------------------------------------------------------------------

    def _answer(self, turn: Turn) -> Answer:
        return self._core.answer(self._run(turn.plan, self._deadline()), turn.options)

    def _run(self, plan: Plan[_T], deadline: Deadline) -> _T:
        """Drive ``plan`` to its result within ``deadline``: sleep or send, as ``_io.Steps`` asks."""
        steps = _io.Steps(plan, deadline)
        for step in steps:
            steps.outcome = self._perform(step, deadline)
        return steps.result

    def _perform(self, step: Send | Sleep, deadline: Deadline) -> Outcome:
        if isinstance(step, exchange.Sleep):
            time.sleep(step.seconds)
            return None
        return self._attempt(step, deadline)

    def _attempt(self, send: Send, deadline: Deadline) -> Outcome:
        token = self._core.token_provider.get_token(claims=send.claims, force_refresh=send.force_refresh)
        attempt = _io.Attempt(self._http, self._core, send, token, deadline)
        try:
            response = self._http.send(attempt.request, stream=True)
        except httpx.TransportError as exc:
            return attempt.failed(exc)
        if (head := attempt.head(response)) is not None:
            return head
        return _io.read_body(response, send, deadline)

    def _stream_events(self, turn: Turn, deadline: Deadline) -> Generator[StreamEvent, None, None]:
        received = self._run(turn.plan, deadline)
        response: httpx.Response = received.handle
        try:
            reader = self._core.stream_reader(turn.options, received)
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


class AsyncCopilotClient(_ClientOptions[httpx.AsyncClient]):
    """The async twin of ``CopilotClient``: the same arguments, ``await`` and ``async for``.

    ``http_client`` is an ``httpx.AsyncClient``.
    """

    def _new_pool(self, timeout: httpx.Timeout, headers: dict[str, str]) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout, headers=headers, follow_redirects=False)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def create_conversation(self) -> Conversation:
        return await self._run(self._core.new_conversation(), self._deadline())

    async def ask(self, message: str, **options: Unpack[TurnKeywords]) -> Answer:
        return await self._answer(self._core.turn(None, message, options, stream=False))

    async def chat(self, conversation_id: str, message: str, **options: Unpack[TurnKeywords]) -> Answer:
        return await self._answer(self._core.turn(conversation_id, message, options, stream=False))

    def stream(self, conversation_id: str | None, message: str, **options: Unpack[TurnKeywords]) -> AsyncStream:
        """An ``AsyncStream`` of the turn: ``async for``, ``async with``, ``.answer``, ``aclose()``."""
        turn = self._core.turn(conversation_id, message, options, stream=True)
        return _stream.AsyncStream(self._stream_events(turn, self._deadline()))

    def conversation(self, conversation_id: str | None = None) -> AsyncCopilotConversation:
        return AsyncCopilotConversation(self, conversation_id)

    async def retrieve(self, query: str, *, data_source: str = "sharePoint",
                       **options: Unpack[RetrievalKeywords]) -> list[RetrievalHit]:
        """The passages Copilot would ground ``query`` on, from one data source."""
        return await self.retrieve_many(query, data_sources=data_source, **options)

    async def retrieve_many(self, queries: str | Sequence[str], *,
                            data_sources: str | Sequence[str] = ("sharePoint",),
                            **options: Unpack[RetrievalKeywords]) -> list[RetrievalHit]:
        """Every query against every data source through ``$batch``, merged by URL."""
        return await self._run(self._core.retrieval(queries, data_sources, options), self._deadline())

    async def verify(self, answer: Answer) -> Verification:
        """Check each citation of ``answer`` against the document it cites, in one ``$batch``."""
        return await self._run(self._core.verification(answer), self._deadline())

    # --- the driver -----------------------------------------------------------------------

    async def _answer(self, turn: Turn) -> Answer:
        return self._core.answer(await self._run(turn.plan, self._deadline()), turn.options)

    async def _run(self, plan: Plan[_T], deadline: Deadline) -> _T:
        steps = _io.Steps(plan, deadline)
        for step in steps:
            steps.outcome = await self._perform(step, deadline)
        return steps.result

    async def _perform(self, step: Send | Sleep, deadline: Deadline) -> Outcome:
        if isinstance(step, exchange.Sleep):
            await pause(step.seconds, step.cause)
            return None
        try:
            with anyio.fail_after(deadline.remaining()):  # holds the deadline exactly
                return await self._attempt(step, deadline)
        except TimeoutError:
            raise deadline.exceeded(sent=step.operation == "turn") from None

    async def _token(self, send: Send) -> str:
        provider = self._core.token_provider
        if isinstance(provider, AsyncTokenProvider):
            return await provider.aget_token(claims=send.claims, force_refresh=send.force_refresh)
        return await anyio.to_thread.run_sync(
            lambda: provider.get_token(claims=send.claims, force_refresh=send.force_refresh)
        )

    async def _attempt(self, send: Send, deadline: Deadline) -> Outcome:
        attempt = _io.Attempt(self._http, self._core, send, await self._token(send), deadline)
        try:
            response = await self._http.send(attempt.request, stream=True)
        except httpx.TransportError as exc:
            return attempt.failed(exc)
        if (head := attempt.head(response)) is not None:
            return head
        try:
            content = await response.aread()
        except httpx.DecodingError as exc:
            raise _io.decoding_error(exc, response) from None
        except httpx.TransportError as exc:
            return _io.failed(exc)
        finally:
            await response.aclose()
        return _io.complete(response, content)

    async def _stream_events(self, turn: Turn, deadline: Deadline) -> AsyncGenerator[StreamEvent, None]:
        received = await self._run(turn.plan, deadline)
        response: httpx.Response = received.handle
        try:
            reader = self._core.stream_reader(turn.options, received)
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


def _broken(reader: StreamReader, error: httpx.HTTPError, received: Received, deadline: Deadline) -> Exception:
    """A stream that broke after it started: over its deadline, undecodable, or interrupted."""
    if deadline.expired(slack=_io.DEADLINE_SLACK):
        return deadline.exceeded(partial_text=reader.text_so_far, request_id=received.request_id, sent=True)
    if isinstance(error, httpx.DecodingError) and not reader.text_so_far:
        return _io.decoding_error(error, received.handle)  # nothing shown: not Copilot's stream at all
    return reader.broken(error, received.request_id)


_Client = TypeVar("_Client", CopilotClient, AsyncCopilotClient)


class _Conversation(Generic[_Client]):
    """What both conversation helpers hold: the client, the id once known, the answers so far."""

    def __init__(self, client: _Client, conversation_id: str | None) -> None:
        self._client: _Client = client
        self.id = conversation_id
        self.answers: list[Answer] = []

    @property
    def turn_count(self) -> int:
        return self.answers[-1].turn_count if self.answers else 0

    def _kept(self, answer: Answer) -> Answer:
        if self.id is None:
            self.id = answer.conversation_id
        self.answers.append(answer)
        return answer

    def _seen(self, event: StreamEvent) -> StreamEvent:
        if isinstance(event, streaming.AnswerComplete):
            self.answers.append(event.answer)
        return event


class CopilotConversation(_Conversation[CopilotClient]):
    """One conversation held across turns (sync); the options are ``ask``'s."""

    def ask(self, message: str, **options: Unpack[TurnKeywords]) -> Answer:
        if self.id is None:
            return self._kept(self._client.ask(message, **options))
        return self._kept(self._client.chat(self.id, message, **options))

    def stream(self, message: str, **options: Unpack[TurnKeywords]) -> Stream:
        return _stream.Stream(self._events(message, options))

    def _events(self, message: str, options: TurnKeywords) -> Generator[StreamEvent, None, None]:
        if self.id is None:
            self.id = self._client.create_conversation().id
        with self._client.stream(self.id, message, **options) as stream:
            yield from map(self._seen, stream)


class AsyncCopilotConversation(_Conversation[AsyncCopilotClient]):
    """One conversation held across turns (async)."""

    async def ask(self, message: str, **options: Unpack[TurnKeywords]) -> Answer:
        if self.id is None:
            return self._kept(await self._client.ask(message, **options))
        return self._kept(await self._client.chat(self.id, message, **options))

    def stream(self, message: str, **options: Unpack[TurnKeywords]) -> AsyncStream:
        return _stream.AsyncStream(self._events(message, options))

    async def _events(self, message: str, options: TurnKeywords) -> AsyncGenerator[StreamEvent, None]:
        if self.id is None:
            self.id = (await self._client.create_conversation()).id
        async with self._client.stream(self.id, message, **options) as stream:
            async for event in stream:
                yield self._seen(event)
