"""State in this process only: one replica, today's behaviour, and the same limits.

Everything is bounded: sessions by the caps, streams by ``MAX_EVENTS`` and their age,
transcripts by the per-owner caps and ``MAX_OWNERS``.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import anyio

from copilot_tools.mcp.state.base import SessionRecord, StateBackend, StoredEvent
from copilot_tools.mcp.state.config import StateConfig
from copilot_tools.mcp.state.errors import LimitExceededError

MAX_EVENTS = 10_000
MAX_STREAMS = 10_000
MAX_OWNERS = 10_000


@dataclass
class _Stream:
    events: deque[StoredEvent] = field(default_factory=deque)
    touched: float = field(default_factory=time.monotonic)


class MemoryState(StateBackend):
    def __init__(self, config: StateConfig) -> None:
        super().__init__(config)
        self._sessions: OrderedDict[str, tuple[SessionRecord, float]] = OrderedDict()  # LRU first
        self._streams: OrderedDict[tuple[str, str], _Stream] = OrderedDict()
        #: (session, stream) of each event still kept: exactly one entry per event in ``_streams``.
        self._event_ids: dict[str, tuple[str, str]] = {}
        self._counter = itertools.count(1)
        self._new_event: anyio.Event | None = None  # created in the event loop, on first wait
        self._turns: dict[str, dict[str, float]] = {}
        self._rates: dict[str, tuple[int, int]] = {}
        self._transcripts: OrderedDict[str, OrderedDict[str, tuple[list[str], float]]] = OrderedDict()

    async def ping(self) -> None:
        return None

    # --- sessions ----------------------------------------------------------------------------

    def _expire_sessions(self, now: float) -> None:
        horizon = now - self.config.session_idle_timeout
        while self._sessions:
            sid, (_, seen) = next(iter(self._sessions.items()))
            if seen > horizon:
                break
            del self._sessions[sid]

    async def admit_session(self, session_id: str, owner: str) -> None:
        config, now = self.config, time.time()
        self._expire_sessions(now)
        mine = [(sid, seen) for sid, (record, seen) in self._sessions.items() if record.owner == owner]
        if len(mine) >= config.max_sessions_per_user:
            self._evict_or_refuse(mine[0], now, "open sessions", config.max_sessions_per_user,
                                  "COPILOT_TOOLS_MAX_SESSIONS_PER_USER", "user")
        if len(self._sessions) >= config.max_sessions:
            sid, (_, seen) = next(iter(self._sessions.items()))
            self._evict_or_refuse((sid, seen), now, "open sessions", config.max_sessions,
                                  "COPILOT_TOOLS_MAX_SESSIONS", "server")
        self._sessions[session_id] = (SessionRecord(owner), now)

    def _evict_or_refuse(self, oldest: tuple[str, float], now: float, limit: str, value: int, setting: str,
                         scope: str) -> None:
        sid, seen = oldest
        idle = now - seen
        if idle < self.config.session_evict_after:
            raise LimitExceededError(limit, value, setting, self.config.session_evict_after - idle, scope=scope)
        del self._sessions[sid]

    async def describe_session(self, session_id: str, record: SessionRecord) -> None:
        entry = self._sessions.get(session_id)
        if entry is not None:
            self._sessions[session_id] = (record, entry[1])

    async def touch_session(self, session_id: str) -> SessionRecord | None:
        now = time.time()
        self._expire_sessions(now)
        entry = self._sessions.pop(session_id, None)
        if entry is None:
            return None
        self._sessions[session_id] = (entry[0], now)
        return entry[0]

    async def close_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    async def live_sessions(self, session_ids: list[str]) -> set[str]:
        self._expire_sessions(time.time())
        return {session for session in session_ids if session in self._sessions}

    async def count_sessions(self) -> int:
        self._expire_sessions(time.time())
        return len(self._sessions)

    # --- streams -----------------------------------------------------------------------------

    async def append_event(self, session_id: str, stream_id: str, data: str | None) -> str:
        key = (session_id, stream_id)
        stream = self._streams.pop(key, None) or _Stream()
        self._streams[key] = stream
        stream.touched = time.monotonic()
        event_id = str(next(self._counter))
        stream.events.append(StoredEvent(event_id, data))
        self._event_ids[event_id] = (session_id, stream_id)
        if len(stream.events) > MAX_EVENTS:
            # Its id goes with it: a long stream would otherwise leak one entry per event, and a
            # resume from it would replay the kept events as if none had been lost in between.
            self._event_ids.pop(stream.events.popleft().event_id, None)
        self._prune_streams()
        event, self._new_event = self._new_event, None
        if event is not None:
            event.set()
        return event_id

    def _prune_streams(self) -> None:
        horizon = time.monotonic() - self.config.stream_ttl
        while self._streams:
            key, stream = next(iter(self._streams.items()))
            if len(self._streams) <= MAX_STREAMS and stream.touched > horizon:
                break
            del self._streams[key]
            for old in stream.events:
                self._event_ids.pop(old.event_id, None)

    async def events_after(
        self, session_id: str, event_id: str, *, wait: float
    ) -> tuple[str, list[StoredEvent]] | None:
        located = self._event_ids.get(event_id)
        if located is None or located[0] != session_id:
            return None
        stream_id = located[1]
        with anyio.move_on_after(wait):
            while True:
                stream = self._streams.get((session_id, stream_id))
                if stream is None or event_id not in self._event_ids:  # gone, or dropped past the cap meanwhile
                    return None
                later = [e for e in stream.events if int(e.event_id) > int(event_id)]
                if later:
                    return stream_id, later
                if self._new_event is None:
                    self._new_event = anyio.Event()
                await self._new_event.wait()
        return stream_id, []

    # --- limits ------------------------------------------------------------------------------

    async def acquire_turn(self, owner: str, token: str) -> None:
        now = time.time()
        leases = {t: until for t, until in self._turns.get(owner, {}).items() if until > now}
        if len(leases) >= self.config.max_turns_per_user:
            # A turn usually ends within a minute; say so rather than the worst-case lease.
            raise LimitExceededError("concurrent Copilot questions", self.config.max_turns_per_user,
                                     "COPILOT_TOOLS_MAX_TURNS_PER_USER", 10)
        leases[token] = now + self.config.turn_lease
        self._turns[owner] = leases

    async def release_turn(self, owner: str, token: str) -> None:
        leases = self._turns.get(owner)
        if leases is not None:
            leases.pop(token, None)
            if not leases:
                del self._turns[owner]

    async def count_request(self, owner: str) -> None:
        now = time.time()
        window = int(now // 60)
        seen_window, count = self._rates.get(owner, (window, 0))
        count = count + 1 if seen_window == window else 1
        self._rates[owner] = (window, count)
        if len(self._rates) > MAX_OWNERS:
            self._rates = {o: v for o, v in self._rates.items() if v[0] == window}
        if count > self.config.requests_per_minute:
            raise LimitExceededError("requests per minute", self.config.requests_per_minute,
                                     "COPILOT_TOOLS_REQUESTS_PER_MINUTE", (window + 1) * 60 - now)

    # --- transcripts -------------------------------------------------------------------------

    async def append_turn(self, owner: str, conversation_id: str, turn: str, *, max_turns: int,
                          max_conversations: int) -> None:
        now = time.time()
        conversations = self._transcripts.pop(owner, None) or OrderedDict()
        self._transcripts[owner] = conversations
        while len(self._transcripts) > MAX_OWNERS:
            self._transcripts.popitem(last=False)
        turns, _ = conversations.pop(conversation_id, ([], now))
        conversations[conversation_id] = ([*turns, turn][-max_turns:], now)
        while len(conversations) > max_conversations:
            conversations.popitem(last=False)

    def _live(self, owner: str) -> OrderedDict[str, tuple[list[str], float]]:
        horizon = time.time() - self.config.transcript_ttl
        conversations = self._transcripts.get(owner) or OrderedDict()
        for cid in [cid for cid, (_, used) in conversations.items() if used <= horizon]:
            del conversations[cid]
        return conversations

    async def turns(self, owner: str, conversation_id: str) -> list[str]:
        entry = self._live(owner).get(conversation_id)
        return list(entry[0]) if entry else []

    async def conversation_ids(self, owner: str, limit: int) -> list[str]:
        return list(reversed(self._live(owner)))[:limit]

    async def conversation_ends(self, owner: str, conversation_ids: list[str]) -> list[tuple[int, str, str]]:
        live = self._live(owner)
        ends = []
        for conversation_id in conversation_ids:
            turns = live[conversation_id][0] if conversation_id in live else []
            ends.append((len(turns), turns[0], turns[-1]) if turns else (0, "", ""))
        return ends


__all__ = ["MemoryState"]
