"""Who waits out a retry: by default the client sleeps; a caller may take the wait over.

A tool call inside a host has a budget the client cannot know (a host gives up on a
silent call after about 60 s), so ``observe_backoff(wait)`` lets the caller do each
retry wait of the async client in its stead, for the calls made inside the ``with``
block (it is scoped to the current task's context): ``wait(seconds, cause)`` may report
progress while it sleeps, or raise ``cause`` (the error the retry would answer, e.g. a
``ThrottledError`` carrying ``retry_after``) when waiting would cost more than the
caller can afford. ``cause`` is None for a network failure's back-off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import anyio

from copilot_tools.errors import CopilotError

BackoffWait = Callable[[float, CopilotError | None], Awaitable[None]]

_observer: ContextVar[BackoffWait | None] = ContextVar("copilot_tools_backoff", default=None)


@contextmanager
def observe_backoff(wait: BackoffWait) -> Iterator[None]:
    """Let ``wait`` do the async client's retry waits for the calls made inside the block."""
    token = _observer.set(wait)
    try:
        yield
    finally:
        _observer.reset(token)


async def pause(seconds: float, cause: CopilotError | None) -> None:
    """One retry wait of the async client: the observer's, or a plain sleep."""
    wait = _observer.get()
    if wait is None:
        await anyio.sleep(seconds)
    else:
        await wait(seconds, cause)
