"""The one interface every state backend implements (``memory`` for one process, ``redis`` for
replicas), so the HTTP app, the tools' limits, the transcripts and the token store never know
which one they talk to.

Every method is async and either does all of its work or none: a backend that cannot reach its
store raises ``StateUnavailableError``; a limit raises ``LimitExceededError``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from copilot_tools.mcp.state.config import StateConfig


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event of a response stream: ``data`` is the JSON-RPC message, None for a priming event."""

    event_id: str
    data: str | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What any replica needs to serve a session it did not open: who owns it and what the
    ``initialize`` handshake settled (protocol version, the client's parameters as JSON)."""

    owner: str
    protocol_version: str | None = None
    client_params: str | None = None


class StateBackend(ABC):
    """Sessions, response streams, transcripts and per-user limits."""

    def __init__(self, config: StateConfig) -> None:
        self.config = config

    # --- lifecycle ---------------------------------------------------------------------------

    @abstractmethod
    async def ping(self) -> None:
        """Return when the store answers; raise ``StateUnavailableError`` otherwise."""

    async def aclose(self) -> None:  # noqa: B027 - optional: a backend without connections has nothing to release
        """Release connections."""

    # --- sessions ----------------------------------------------------------------------------

    @abstractmethod
    async def admit_session(self, session_id: str, owner: str) -> None:
        """Register a new session for ``owner`` under the per-user and total caps, evicting the
        longest-idle session when one has been idle ``session_evict_after``; else raise
        ``LimitExceededError``."""

    @abstractmethod
    async def describe_session(self, session_id: str, record: SessionRecord) -> None:
        """Store what ``initialize`` settled for an admitted session."""

    @abstractmethod
    async def touch_session(self, session_id: str) -> SessionRecord | None:
        """Mark the session used now and return its record, or None when it is unknown, expired or
        evicted."""

    @abstractmethod
    async def close_session(self, session_id: str) -> None:
        """Forget the session (the client ended it, or it never opened)."""

    @abstractmethod
    async def live_sessions(self, session_ids: list[str]) -> set[str]:
        """Which of ``session_ids`` are still open (not closed, expired or evicted), without touching them."""

    @abstractmethod
    async def count_sessions(self) -> int:
        """Open sessions across the deployment (for metrics)."""

    # --- response streams (resumability) --------------------------------------------------------

    @abstractmethod
    async def append_event(self, session_id: str, stream_id: str, data: str | None) -> str:
        """Append an event to a session's stream; return its event id (what ``Last-Event-ID`` carries)."""

    @abstractmethod
    async def events_after(
        self, session_id: str, event_id: str, *, wait: float
    ) -> tuple[str, list[StoredEvent]] | None:
        """The stream id of ``event_id`` and the events after it; when there are none yet, wait up
        to ``wait`` seconds for one. None when the id is unknown, its stream expired, or the event
        fell out of the kept window (a stream keeps its last 10,000): then the events after it are
        no longer all there, and a replay with a hole would look whole to the client. Like the
        SDK's ``InMemoryEventStore``, which forgets a trimmed event's id: nothing is replayed.

        Ids are unique and increase along a stream for its whole life, past the cap too."""

    # --- limits ------------------------------------------------------------------------------

    @abstractmethod
    async def acquire_turn(self, owner: str, token: str) -> None:
        """Take one of ``owner``'s concurrent turn slots (``LimitExceededError`` when none is free)."""

    @abstractmethod
    async def release_turn(self, owner: str, token: str) -> None:
        """Give the slot back."""

    @abstractmethod
    async def count_request(self, owner: str) -> None:
        """Count one HTTP request against ``owner``'s per-minute budget (``LimitExceededError`` over it)."""

    # --- transcripts -------------------------------------------------------------------------

    @abstractmethod
    async def append_turn(self, owner: str, conversation_id: str, turn: str, *, max_turns: int,
                          max_conversations: int) -> None:
        """Append one turn (JSON) to the conversation and put it first in the owner's list, atomically."""

    @abstractmethod
    async def turns(self, owner: str, conversation_id: str) -> list[str]:
        """The conversation's turns (JSON), oldest first; empty when unknown or another owner's."""

    @abstractmethod
    async def conversation_ids(self, owner: str, limit: int) -> list[str]:
        """The owner's conversations, most recently used first."""

    @abstractmethod
    async def conversation_ends(self, owner: str, conversation_ids: list[str]) -> list[tuple[int, str, str]]:
        """For each conversation, in one round trip: its turn count, first and last turn (JSON);
        ``(0, "", "")`` for one that is gone."""


def is_response(data: str | None, stream_id: str) -> bool:
    """Whether a stored JSON-RPC message is the response that ends request ``stream_id``'s stream.

    A response carries ``result`` or ``error`` and the request's ``id``; a request or a
    notification carries ``method``.
    """
    if data is None:
        return False
    import json

    try:
        message = json.loads(data)
    except ValueError:
        return False
    return (isinstance(message, dict) and "method" not in message and ("result" in message or "error" in message)
            and str(message.get("id")) == stream_id)


__all__ = ["SessionRecord", "StateBackend", "StoredEvent", "is_response"]
