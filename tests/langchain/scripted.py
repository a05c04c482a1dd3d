"""A Copilot client that replays scripted stream events, for what the emulator cannot produce.

The emulator rewrites only the line Copilot is writing; the chat model's answer to a
rewrite of an earlier line (never seen from the service) needs a scripted stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any

from copilot_tools import AnswerComplete, AsyncCopilotClient, CopilotClient, TextDelta, TextReset
from copilot_tools._stream import AsyncStream, Stream
from copilot_tools.answer import Answer, Citation
from copilot_tools.streaming import StreamEvent

Event = TextDelta | TextReset


def answer(text: str, *citations: tuple[str, str]) -> Answer:
    return Answer(
        text=text, raw_text=text, conversation_id="conv-1", turn_count=1,
        citations=tuple(Citation(index=i, title=title, url=url, source="model")
                        for i, (title, url) in enumerate(citations, 1)),
    )


class ScriptedClient(CopilotClient):
    def __init__(self, events: Sequence[Event], final: Answer) -> None:
        super().__init__(base_url="http://127.0.0.1:9/beta", token="scripted", time_zone="UTC")
        self.script(events, final)

    def script(self, events: Sequence[Event], final: Answer) -> ScriptedClient:
        """Replay these from now on (building a client costs more than a property test can spare)."""
        self.events, self.final = list(events), final
        self.calls: list[tuple[str | None, str, dict[str, Any]]] = []
        return self

    def stream(self, conversation_id: str | None, message: str, **kwargs: Any) -> Stream:
        self.calls.append((conversation_id, message, kwargs))
        return Stream(self._replay())

    def _replay(self) -> Generator[StreamEvent, None, None]:
        yield from self.events
        yield AnswerComplete(self.final)

    def ask(self, message: str, **kwargs: Any) -> Answer:
        self.calls.append((None, message, kwargs))
        return self.final

    def chat(self, conversation_id: str, message: str, **kwargs: Any) -> Answer:
        self.calls.append((conversation_id, message, kwargs))
        return self.final


class ScriptedAsyncClient(AsyncCopilotClient):
    def __init__(self, events: Sequence[Event], final: Answer) -> None:
        super().__init__(base_url="http://127.0.0.1:9/beta", token="scripted", time_zone="UTC")
        self.events, self.final = list(events), final

    def stream(self, conversation_id: str | None, message: str, **kwargs: Any) -> AsyncStream:
        return AsyncStream(self._replay())

    async def _replay(self) -> AsyncGenerator[StreamEvent, None]:
        for event in self.events:
            yield event
        yield AnswerComplete(self.final)

    async def ask(self, message: str, **kwargs: Any) -> Answer:
        return self.final
