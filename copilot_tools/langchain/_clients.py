"""Where a LangChain object gets its core clients.

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
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from copilot_tools.client import AsyncCopilotClient, CopilotClient
from copilot_tools.settings import Settings


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
