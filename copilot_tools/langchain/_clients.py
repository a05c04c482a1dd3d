"""Where a LangChain object gets its core clients, and the connection arguments every class takes.

``CopilotConnection`` is the one set of constructor arguments that ``ChatCopilot``, every
tool, ``CopilotToolkit`` and ``CopilotRetriever`` share: ``base_url`` (alias of
``endpoint``), ``api_key`` (alias of ``access_token``), ``timeout``, ``max_retries``, or
ready clients (``client``/``async_client``) or ``settings``. Unknown arguments are
refused rather than dropped: a misspelled ``api_kye`` that silently fell back to the
cached sign-in would answer from the wrong account.

LangChain builds models, tools and retrievers eagerly (an agent builds its toolkit at
import time; the standard tests time a model's constructor), so nothing here loads
settings, reads a token cache or opens a connection before the first call. Clients
the caller passes in are used as they are and never closed here; clients built from
settings belong to the object and are closed by its ``close()``/``aclose()``.

An ``httpx.AsyncClient`` belongs to the event loop it first ran in, so an async client
built here is kept per running loop: a model used from two ``asyncio.run`` calls gets a
fresh client in each rather than a pool tied to a dead loop.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import anyio

from langchain_core.utils import secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, PrivateAttr, SecretStr
from pydantic_core import PydanticKnownError
from typing_extensions import Unpack

from copilot_tools.settings import Settings

# The client stack (copilot_tools.client: httpx, which loads click, rich and pygments for its
# CLI, and the request machinery) is imported when a client is built, not here: it was most of
# what `from copilot_tools.langchain import ChatCopilot` added to LangChain's own import
# (benchmarks/import_time.py: 1.47x -> 1.08x). _instance_or_none types the fields that take clients.
if TYPE_CHECKING:
    from copilot_tools._retrieval import RetrievalHit
    from copilot_tools._verify import Verification
    from copilot_tools.answer import Answer
    from copilot_tools.client import AsyncCopilotClient, CopilotClient, RetrievalKeywords, TurnKeywords
    from copilot_tools.streaming import StreamEvent

#: The environment variable ``api_key`` defaults to (the same one the core reads).
ACCESS_TOKEN_ENV = "COPILOT_TOOLS_ACCESS_TOKEN"
#: Connection arguments that configure clients built here (so they clash with ready clients).
CONNECTION_ARGUMENTS = ("endpoint", "access_token", "timeout", "max_retries")


def _instance_or_none(module: str, name: str) -> PlainValidator:
    """A field validator that takes None or an instance of ``module.name`` without importing ``module``.

    A field typed with the class itself makes pydantic need the class when the model is defined,
    i.e. the whole client stack at import. An instance can only exist once its module has been
    imported, so a module that is not loaded yet means the value is not one. The error is the one
    pydantic gives for the class itself (``is_instance_of``).
    """

    def check(value: object) -> object:
        cls = getattr(sys.modules.get(module), name, None)
        if value is None or (isinstance(cls, type) and isinstance(value, cls)):
            return value
        raise PydanticKnownError("is_instance_of", {"class": name})

    return PlainValidator(check)


if TYPE_CHECKING:
    GivenClient: TypeAlias = CopilotClient | None
    GivenAsyncClient: TypeAlias = AsyncCopilotClient | None
else:
    GivenClient = Annotated[object, _instance_or_none("copilot_tools.client", "CopilotClient")]
    GivenAsyncClient = Annotated[object, _instance_or_none("copilot_tools.client", "AsyncCopilotClient")]


class ClientSource:
    """The clients (given or built lazily) and the settings behind them."""

    def __init__(
        self,
        *,
        client: CopilotClient | None = None,
        async_client: AsyncCopilotClient | None = None,
        settings: Settings | None = None,
        overrides: Mapping[str, Any] | None = None,
        owner: str = "This object",
    ) -> None:
        self._client = client
        self._async_client = async_client
        self._settings = settings
        self._overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
        self._owner = owner
        self._lock = threading.Lock()
        self._loaded: Settings | None = None
        self._own_sync: CopilotClient | None = None
        self._own_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncCopilotClient] = (
            weakref.WeakKeyDictionary()
        )

    def settings(self) -> Settings:
        """The settings clients are built from: the given ones, else arguments > env > file."""
        if self._loaded is None:
            if self._settings is not None:
                self._loaded = (
                    self._settings.model_copy(update=self._overrides) if self._overrides else self._settings
                )
            else:
                self._loaded = Settings.load(self._overrides)
        return self._loaded

    def sync_client(self) -> CopilotClient:
        """The sync client: the given one, or one built from settings on first use."""
        if self._client is not None:
            return self._client
        if self._async_client is not None and self._settings is None:
            raise ValueError(
                f"{self._owner} was given only async_client, so it can only be used asynchronously "
                "(ainvoke, astream). Pass client= as well, or settings= to let it build one."
            )
        from copilot_tools.client import CopilotClient  # on first use: see the imports at the top

        with self._lock:
            if self._own_sync is None:
                self._own_sync = CopilotClient(settings=self.settings())
            return self._own_sync

    def async_client(self) -> AsyncCopilotClient | None:
        """The async client for the running loop, or None to run the sync client in a thread.

        None means the caller gave a sync ``client`` and nothing to build an async one
        from: its token or headers cannot be copied, so async calls use it in a worker
        thread instead.
        """
        if self._async_client is not None:
            return self._async_client
        if self._client is not None and self._settings is None:
            return None
        from copilot_tools.client import AsyncCopilotClient  # on first use: see the imports at the top

        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._own_async.get(loop)
            if client is None:
                client = AsyncCopilotClient(settings=self.settings())
                self._own_async[loop] = client
            return client

    def close(self) -> None:
        """Close the sync client built here (given clients stay open)."""
        with self._lock:
            client, self._own_sync = self._own_sync, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the clients built here for the running loop and the sync one."""
        self.close()
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._own_async.pop(loop, None)
        if client is not None:
            await client.aclose()


class CopilotConnection(BaseModel):
    """The connection arguments of every Copilot LangChain class, and the clients they give.

    Either connection arguments (each overrides the ``COPILOT_TOOLS_*`` environment and
    the config file, which fill in the rest), or ``settings=``, or ready clients
    (``client=`` / ``async_client=``, shared and never closed here). Ready clients with
    connection arguments are refused: the arguments could not reach them.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid", arbitrary_types_allowed=True)

    endpoint: str | None = Field(default=None, alias="base_url")
    """``graph``, ``workiq`` or a base URL (the emulator's ``http://127.0.0.1:PORT/beta``)."""
    access_token: SecretStr | None = Field(
        default_factory=secret_from_env(ACCESS_TOKEN_ENV, default=None), alias="api_key"
    )
    """A bearer token (default ``$COPILOT_TOOLS_ACCESS_TOKEN``); otherwise the configured sign-in."""
    timeout: float | None = Field(default=None, gt=0)
    """Longest wait between two bytes of an answer, in seconds."""
    max_retries: int | None = Field(default=None, ge=0, le=10)
    """Retries of throttled or failed requests (never of a stream that has started)."""
    settings: Settings | None = Field(default=None, exclude=True)
    """Settings to build clients from (connection arguments still override them)."""
    client: GivenClient = Field(default=None, exclude=True)
    """A ready sync client (shared: not closed here)."""
    async_client: GivenAsyncClient = Field(default=None, exclude=True)
    """A ready async client (shared: not closed here)."""

    _source: ClientSource = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        owner = type(self).__name__
        given = sorted(name for name in CONNECTION_ARGUMENTS if name in self.model_fields_set)
        if given and (self.client is not None or self.async_client is not None):
            raise ValueError(
                f"{owner} got ready clients and the connection arguments {given}, which cannot reach them. "
                "Configure the clients themselves, or pass the arguments without client=/async_client=."
            )
        self._source = ClientSource(
            client=self.client,
            async_client=self.async_client,
            settings=self.settings,
            overrides={name: getattr(self, name) for name in CONNECTION_ARGUMENTS},
            owner=owner,
        )

    def connection_arguments(self) -> dict[str, Any]:
        """The arguments that rebuild this connection (for the objects a toolkit makes)."""
        names = (*CONNECTION_ARGUMENTS, "settings", "client", "async_client")
        return {name: getattr(self, name) for name in names if name in self.model_fields_set}

    def close(self) -> None:
        """Close the sync client built here (clients passed in stay open)."""
        self._source.close()

    async def aclose(self) -> None:
        """Close the clients built here for the running event loop (clients passed in stay open)."""
        await self._source.aclose()


class SyncClientInThreads:
    """A sync ``CopilotClient`` with the async interface the tool specs call, each call in a worker thread.

    For a tool given only a sync ``client``: its token provider and headers cannot be
    copied into an async client, so the specs (written against ``AsyncCopilotClient``)
    drive it from threads. Only what the specs use is here.
    """

    def __init__(self, client: CopilotClient) -> None:
        self._client = client
        self._core = client._core  # the status tool reads the endpoint and the token provider here

    @property
    def settings(self) -> Settings:
        return self._client.settings

    @property
    def endpoint(self) -> str:
        return self._client.endpoint

    @property
    def default_time_zone(self) -> str:
        return self._client.default_time_zone

    async def ask(self, message: str, **options: Unpack[TurnKeywords]) -> Answer:
        return await anyio.to_thread.run_sync(lambda: self._client.ask(message, **options))

    async def chat(self, conversation_id: str, message: str, **options: Unpack[TurnKeywords]) -> Answer:
        return await anyio.to_thread.run_sync(lambda: self._client.chat(conversation_id, message, **options))

    async def retrieve_many(self, queries: str | Sequence[str], *, data_sources: str | Sequence[str] = ("sharePoint",),
                            **options: Unpack[RetrievalKeywords]) -> list[RetrievalHit]:
        return await anyio.to_thread.run_sync(
            lambda: self._client.retrieve_many(queries, data_sources=data_sources, **options)
        )

    async def verify(self, answer: Answer) -> Verification:
        return await anyio.to_thread.run_sync(lambda: self._client.verify(answer))

    async def stream(self, conversation_id: str | None, message: str,
                     **options: Unpack[TurnKeywords]) -> AsyncIterator[StreamEvent]:
        events: Iterator[StreamEvent] = iter(self._client.stream(conversation_id, message, **options))

        def step() -> StreamEvent | None:
            return next(events, None)

        try:
            while (event := await anyio.to_thread.run_sync(step)) is not None:
                yield event
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                await anyio.to_thread.run_sync(close)
