"""State in Redis, shared by every replica started with the same ``--state`` URL.

What Redis holds (all keys under ``copilot-tools:``, each with an expiry):

- ``s:{session}`` (hash: owner, protocol version, client parameters) and the sorted sets
  ``su:{owner}`` / ``sa`` (sessions by last use): a session lives ``session_idle_timeout``
  after its last request;
- ``e:{session}:{stream}`` (a list): the last ``MAX_STREAM_EVENTS`` events of one response
  stream, for ``Last-Event-ID``, and ``en:{session}:{stream}`` (a counter) how many it has had,
  both kept ``stream_ttl`` while it runs and two minutes once answered;
- ``t:{owner}:{conversation}`` (a list of turns) and ``c:{owner}`` (conversations by last use):
  ``transcript_ttl`` after the last turn;
- ``turns:{owner}`` (leases of running turns), ``r:{owner}:{minute}`` (request counts, 2 min);
- ``o:{digest}`` on-behalf-of tokens, sealed (Fernet) by ``state.tokens``, until they expire.

Admission, eviction, touches, turn leases and stream events are Lua scripts, so two replicas
never both admit the last session slot; transcript appends are MULTI/EXEC transactions. Any Redis
failure becomes ``StateUnavailableError`` (retryable); the client reconnects by itself on the next
command.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

from copilot_tools.mcp.state.base import SessionRecord, StateBackend, StoredEvent, is_response
from copilot_tools.mcp.state.config import StateConfig
from copilot_tools.mcp.state.errors import LimitExceededError, StateUnavailableError

PREFIX = "copilot-tools:"
MAX_STREAM_EVENTS = 10_000
MAX_CONNECTIONS = 64
#: One wait for new events lasts at most this long, polling at POLL_SECONDS; callers loop.
BLOCK_SECONDS = 1.0
POLL_SECONDS = 0.05
#: How long an answered stream is kept for a client that reconnects after a drop.
COMPLETED_STREAM_TTL = 120

_DROP = """
local function drop(sid)
  local owner = redis.call('HGET', ARGV[1] .. 's:' .. sid, 'owner')
  redis.call('ZREM', ARGV[1] .. 'sa', sid)
  if owner then redis.call('ZREM', ARGV[1] .. 'su:' .. owner, sid) end
  redis.call('DEL', ARGV[1] .. 's:' .. sid)
end
"""

#: ARGV: prefix, now, idle timeout, evict after, per-user cap, total cap, session id, owner.
_ADMIT = _DROP + """
local now, idle, evict = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local mine, all = ARGV[1] .. 'su:' .. ARGV[8], ARGV[1] .. 'sa'
redis.call('ZREMRANGEBYSCORE', mine, '-inf', now - idle)
redis.call('ZREMRANGEBYSCORE', all, '-inf', now - idle)
local function room(key, cap, code)
  if redis.call('ZCARD', key) >= cap then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local age = now - tonumber(oldest[2])
    if age < evict then return {code, tostring(evict - age)} end
    drop(oldest[1])
  end
  return nil
end
local refused = room(mine, tonumber(ARGV[5]), 1) or room(all, tonumber(ARGV[6]), 2)
if refused then return refused end
local ttl = math.ceil(idle)
redis.call('ZADD', mine, now, ARGV[7]); redis.call('EXPIRE', mine, ttl)
redis.call('ZADD', all, now, ARGV[7])
redis.call('HSET', ARGV[1] .. 's:' .. ARGV[7], 'owner', ARGV[8])
redis.call('EXPIRE', ARGV[1] .. 's:' .. ARGV[7], ttl)
return {0, '0'}
"""

#: ARGV: prefix, now, idle timeout, session id.
_TOUCH = """
local key = ARGV[1] .. 's:' .. ARGV[4]
if redis.call('EXISTS', key) == 0 then redis.call('ZREM', ARGV[1] .. 'sa', ARGV[4]); return false end
local owner = redis.call('HGET', key, 'owner')
local ttl = math.ceil(tonumber(ARGV[3]))
redis.call('ZADD', ARGV[1] .. 'sa', ARGV[2], ARGV[4])
redis.call('ZADD', ARGV[1] .. 'su:' .. owner, ARGV[2], ARGV[4])
redis.call('EXPIRE', key, ttl); redis.call('EXPIRE', ARGV[1] .. 'su:' .. owner, ttl)
return redis.call('HMGET', key, 'owner', 'protocol_version', 'client_params')
"""

_CLOSE = _DROP + "drop(ARGV[2]) return 1"

#: KEYS: the owner's leases. ARGV: now, cap, token, lease.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[4]), ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4])))
return 1
"""

#: KEYS: the stream's events, its counter. ARGV: the event, the cap, the expiry. Returns the event's
#: number in the stream (its id): the counter outlives the trim, so numbers never repeat. A stream
#: stored by the previous version has no counter; its numbers were the list's length, so it starts
#: there (the same ids as before while under the cap, which is where the previous version's were right).
_APPEND = """
local n = redis.call('INCR', KEYS[2])
if n == 1 then n = redis.call('LLEN', KEYS[1]) + 1; redis.call('SET', KEYS[2], n) end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[3]); redis.call('EXPIRE', KEYS[2], ARGV[3])
return n
"""

#: KEYS: the stream's events, its counter. ARGV: the number of the last event the client has.
#: The list holds events ``n - len + 1 .. n``; the events after that one, or nil when the stream is
#: gone or the event is not in the list (trimmed, or never given out): a resume cannot be whole then.
_AFTER = """
local len = redis.call('LLEN', KEYS[1])
if len == 0 then return false end
local n = tonumber(redis.call('GET', KEYS[2]) or len)
local after = tonumber(ARGV[1]) - (n - len)
if after < 1 or after > len then return false end
return redis.call('LRANGE', KEYS[1], after, -1)
"""


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii").rstrip("=")


def _unb64(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8", "surrogatepass")
    except ValueError:
        return None


def _stream_keys(session_id: str, encoded: str) -> list[str]:
    """A stream's event list and its counter, which must always expire together."""
    return [f"{PREFIX}e:{session_id}:{encoded}", f"{PREFIX}en:{session_id}:{encoded}"]


class RedisState(StateBackend):
    def __init__(self, config: StateConfig, client: Any = None) -> None:
        super().__init__(config)
        if client is None:
            import redis.asyncio as aioredis
            from redis.asyncio.retry import Retry
            from redis.backoff import ExponentialBackoff

            # A bounded pool: a burst of requests waits briefly for a connection rather than opening
            # hundreds (each costs Redis ~20 KB of buffers).
            pool = aioredis.BlockingConnectionPool.from_url(
                config.state_url, max_connections=MAX_CONNECTIONS, timeout=5, socket_timeout=5,
                socket_connect_timeout=3, health_check_interval=15, client_name="copilot-tools",
            )
            client = aioredis.Redis(connection_pool=pool, retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2))
        self.redis = client
        self._admit = client.register_script(_ADMIT)
        self._touch = client.register_script(_TOUCH)
        self._close = client.register_script(_CLOSE)
        self._acquire = client.register_script(_ACQUIRE)
        self._append = client.register_script(_APPEND)
        self._after = client.register_script(_AFTER)

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        from redis.exceptions import RedisError

        try:
            yield
        except (RedisError, OSError) as exc:
            raise StateUnavailableError(type(exc).__name__) from None

    async def ping(self) -> None:
        async with self._guard():
            await self.redis.ping()

    async def aclose(self) -> None:
        await self.redis.aclose()

    # --- sessions ----------------------------------------------------------------------------

    async def admit_session(self, session_id: str, owner: str) -> None:
        c = self.config
        async with self._guard():
            code, wait = await self._admit(args=[
                PREFIX, time.time(), c.session_idle_timeout, c.session_evict_after, c.max_sessions_per_user,
                c.max_sessions, session_id, owner,
            ])
        if int(code) == 1:
            raise LimitExceededError("open sessions", c.max_sessions_per_user, "COPILOT_TOOLS_MAX_SESSIONS_PER_USER",
                                     float(wait))
        if int(code) == 2:
            raise LimitExceededError("open sessions", c.max_sessions, "COPILOT_TOOLS_MAX_SESSIONS", float(wait),
                                     scope="server")

    async def describe_session(self, session_id: str, record: SessionRecord) -> None:
        fields = {"protocol_version": record.protocol_version or "", "client_params": record.client_params or ""}
        async with self._guard():
            await self.redis.hset(f"{PREFIX}s:{session_id}", mapping=fields)

    async def touch_session(self, session_id: str) -> SessionRecord | None:
        async with self._guard():
            found = await self._touch(args=[PREFIX, time.time(), self.config.session_idle_timeout, session_id])
        if not found:
            return None
        owner, version, params = (value.decode() if value else None for value in found)
        return SessionRecord(owner or "", version or None, params or None)

    async def close_session(self, session_id: str) -> None:
        async with self._guard():
            await self._close(args=[PREFIX, session_id])

    async def live_sessions(self, session_ids: list[str]) -> set[str]:
        async with self._guard(), self.redis.pipeline(transaction=False) as pipe:
            for session in session_ids:
                pipe.exists(f"{PREFIX}s:{session}")
            found = await pipe.execute()
        return {session for session, exists in zip(session_ids, found, strict=True) if exists}

    async def count_sessions(self) -> int:
        async with self._guard():
            await self.redis.zremrangebyscore(f"{PREFIX}sa", "-inf", time.time() - self.config.session_idle_timeout)
            return int(await self.redis.zcard(f"{PREFIX}sa"))

    # --- streams -----------------------------------------------------------------------------

    async def append_event(self, session_id: str, stream_id: str, data: str | None) -> str:
        encoded = _b64(stream_id)
        # Once answered, a stream is only kept for a client that reconnects right after a drop.
        ttl = COMPLETED_STREAM_TTL if is_response(data, stream_id) else math.ceil(self.config.stream_ttl)
        async with self._guard():
            number = await self._append(keys=_stream_keys(session_id, encoded),
                                        args=["p" if data is None else "m" + data, MAX_STREAM_EVENTS, ttl])
        return f"{int(number)}_{encoded}"

    async def events_after(
        self, session_id: str, event_id: str, *, wait: float
    ) -> tuple[str, list[StoredEvent]] | None:
        position, _, encoded = event_id.partition("_")
        stream_id = _unb64(encoded)
        # ``Last-Event-ID`` comes from the client: ASCII digits only (``"²".isdigit()`` but ``int("²")`` fails).
        if stream_id is None or not (position.isascii() and position.isdigit()) or len(position) > 9:
            return None
        keys, start = _stream_keys(session_id, encoded), int(position)
        deadline = time.monotonic() + min(wait, BLOCK_SECONDS)
        async with self._guard():
            while True:
                rows = await self._after(keys=keys, args=[start])
                if rows is None:
                    return None
                if rows or time.monotonic() >= deadline:
                    break
                await anyio.sleep(POLL_SECONDS)
        events = [
            StoredEvent(f"{start + n + 1}_{encoded}", None if row == b"p" else row[1:].decode())
            for n, row in enumerate(rows)
        ]
        return stream_id, events

    # --- limits ------------------------------------------------------------------------------

    async def acquire_turn(self, owner: str, token: str) -> None:
        c = self.config
        async with self._guard():
            granted = await self._acquire(keys=[f"{PREFIX}turns:{owner}"],
                                          args=[time.time(), c.max_turns_per_user, token, c.turn_lease])
        if not int(granted):
            raise LimitExceededError("concurrent Copilot questions", c.max_turns_per_user,
                                     "COPILOT_TOOLS_MAX_TURNS_PER_USER", 10)

    async def release_turn(self, owner: str, token: str) -> None:
        async with self._guard():
            await self.redis.zrem(f"{PREFIX}turns:{owner}", token)

    async def count_request(self, owner: str) -> None:
        now = time.time()
        window = int(now // 60)
        key = f"{PREFIX}r:{owner}:{window}"
        async with self._guard(), self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
        if int(count) > self.config.requests_per_minute:
            raise LimitExceededError("requests per minute", self.config.requests_per_minute,
                                     "COPILOT_TOOLS_REQUESTS_PER_MINUTE", (window + 1) * 60 - now)

    # --- transcripts -------------------------------------------------------------------------

    async def append_turn(self, owner: str, conversation_id: str, turn: str, *, max_turns: int,
                          max_conversations: int) -> None:
        ttl = math.ceil(self.config.transcript_ttl)
        turns_key, list_key = f"{PREFIX}t:{owner}:{conversation_id}", f"{PREFIX}c:{owner}"
        async with self._guard(), self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(turns_key, turn)
            pipe.ltrim(turns_key, -max_turns, -1)
            pipe.expire(turns_key, ttl)
            pipe.zadd(list_key, {conversation_id: time.time()})
            pipe.zremrangebyrank(list_key, 0, -(max_conversations + 1))
            pipe.expire(list_key, ttl)
            await pipe.execute()

    async def turns(self, owner: str, conversation_id: str) -> list[str]:
        async with self._guard():
            rows = await self.redis.lrange(f"{PREFIX}t:{owner}:{conversation_id}", 0, -1)
        return [row.decode() for row in rows]

    async def conversation_ids(self, owner: str, limit: int) -> list[str]:
        horizon = time.time() - self.config.transcript_ttl
        async with self._guard():
            rows = await self.redis.zrevrangebyscore(f"{PREFIX}c:{owner}", "+inf", horizon, start=0, num=limit)
        return [row.decode() for row in rows]

    async def conversation_ends(self, owner: str, conversation_ids: list[str]) -> list[tuple[int, str, str]]:
        async with self._guard(), self.redis.pipeline(transaction=False) as pipe:
            for conversation_id in conversation_ids:
                key = f"{PREFIX}t:{owner}:{conversation_id}"
                pipe.llen(key)
                pipe.lindex(key, 0)
                pipe.lindex(key, -1)
            rows = await pipe.execute()
        return [(int(count), first.decode(), last.decode()) if count and first and last else (0, "", "")
                for count, first, last in zip(rows[::3], rows[1::3], rows[2::3], strict=True)]


__all__ = ["PREFIX", "RedisState"]
