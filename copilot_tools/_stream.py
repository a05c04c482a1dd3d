"""The objects ``stream()`` returns: iterable, closeable, and holding the answer at the end.

``for event in client.stream(...)`` keeps working; ``with client.stream(...) as s:``
also guarantees the connection is released when the block ends, however it ends.
``s.answer`` is the final ``Answer`` once ``AnswerComplete`` has passed, and
``s.text`` the reply as shown so far (what a caller keeps if it stops early).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from types import TracebackType
from typing import Self

from copilot_tools.answer import Answer
from copilot_tools.errors import StreamInterruptedError
from copilot_tools.streaming import AnswerComplete, StreamEvent, TextDelta, TextReset


class _Progress:
    """What both stream objects remember of the events that passed."""

    def __init__(self) -> None:
        self._answer: Answer | None = None
        self._text = ""
        self._closed = False

    def _observe(self, event: StreamEvent) -> StreamEvent:
        if isinstance(event, TextDelta):
            self._text += event.text
        elif isinstance(event, TextReset):
            self._text = event.text
        elif isinstance(event, AnswerComplete):
            self._answer = event.answer
            self._text = event.answer.text
        return event

    @property
    def answer(self) -> Answer | None:
        """The final answer, once the stream has delivered it (None before)."""
        return self._answer

    @property
    def text(self) -> str:
        """The reply as far as it has been shown."""
        return self._text

    @property
    def closed(self) -> bool:
        return self._closed

    def _final(self) -> Answer:
        if self._answer is None:  # the generator raises its own error first; this is the backstop
            raise StreamInterruptedError("The stream was closed before its final answer.", partial_text=self._text)
        return self._answer


class Stream(_Progress):
    """A ``chatOverStream`` turn, as ``StreamEvent``s (``TextDelta``, ``TextReset``, ``AnswerComplete``)."""

    def __init__(self, events: Generator[StreamEvent, None, None]) -> None:
        super().__init__()
        self._events = events

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> StreamEvent:
        return self._observe(next(self._events))

    def until_done(self) -> Answer:
        """Read the rest of the stream and return the final answer."""
        for _ in self:
            pass
        return self._final()

    def close(self) -> None:
        """Release the connection; the turn is not re-sent and nothing more is read."""
        self._closed = True
        self._events.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncStream(_Progress):
    """The async twin of ``Stream``: ``async for``, ``async with``, ``await s.aclose()``."""

    def __init__(self, events: AsyncGenerator[StreamEvent, None]) -> None:
        super().__init__()
        self._events = events

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StreamEvent:
        return self._observe(await self._events.__anext__())

    async def until_done(self) -> Answer:
        """Read the rest of the stream and return the final answer."""
        async for _ in self:
            pass
        return self._final()

    async def aclose(self) -> None:
        """Release the connection; the turn is not re-sent and nothing more is read."""
        self._closed = True
        await self._events.aclose()

    async def close(self) -> None:
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
