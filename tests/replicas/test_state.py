"""The two state backends keep the same promises (memory for one process, Redis for replicas):
caps with idle eviction, per-session streams, per-owner transcripts, turn slots; settings that
are garbage are refused with the variable's name."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from copilot_tools.errors import InvalidInputError
from copilot_tools.mcp.state import (
    LimitExceededError,
    SessionRecord,
    StateBackend,
    StateConfig,
    StoredEvent,
    load_state_config,
    memory,
    open_state,
    redis_backend,
)
from tests.replicas.conftest import RedisProcess


@pytest.fixture(params=["memory", "redis"])
async def backend_of(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    opened: list[StateBackend] = []

    def make(**limits: Any) -> StateBackend:
        url = "memory"
        if request.param == "redis":
            server: RedisProcess = request.getfixturevalue("redis_server")
            url = server.url.replace("/0", "/3")
        state = open_state(StateConfig(state_url=url, **limits))
        opened.append(state)
        return state

    yield make
    for state in opened:
        if hasattr(state, "redis"):
            await state.redis.flushdb()
        await state.aclose()


def sid() -> str:
    return uuid.uuid4().hex


async def test_sessions_are_capped_per_user_and_the_refusal_says_when_to_retry(backend_of: Any) -> None:
    state = backend_of(max_sessions_per_user=2, session_evict_after=600)
    first, second = sid(), sid()
    await state.admit_session(first, "t/adele")
    await state.admit_session(second, "t/adele")
    with pytest.raises(LimitExceededError) as refused:
        await state.admit_session(sid(), "t/adele")
    assert refused.value.limit == "open sessions" and 590 < refused.value.retry_after <= 600
    assert refused.value.setting == "COPILOT_TOOLS_MAX_SESSIONS_PER_USER"
    await state.admit_session(sid(), "t/john")  # another user is not affected
    await state.close_session(first)
    await state.admit_session(sid(), "t/adele")  # a closed session frees its slot


async def test_at_a_cap_the_longest_idle_session_is_evicted_once_it_has_been_idle_long_enough(
    backend_of: Any,
) -> None:
    state = backend_of(max_sessions_per_user=2, max_sessions=3, session_evict_after=0.001)
    old, recent = sid(), sid()
    await state.admit_session(old, "t/adele")
    await state.admit_session(recent, "t/adele")
    await asyncio.sleep(0.01)  # both idle longer than session_evict_after
    await state.touch_session(recent)
    await state.admit_session(sid(), "t/adele")
    assert await state.touch_session(old) is None  # evicted: its id now answers 404
    assert await state.touch_session(recent) == SessionRecord("t/adele")
    await asyncio.sleep(0.01)
    await state.admit_session(sid(), "t/john")  # the total cap evicts the longest idle of anyone
    assert await state.count_sessions() == 3


async def test_a_session_record_carries_its_handshake_to_any_replica(backend_of: Any) -> None:
    state = backend_of()
    session = sid()
    await state.admit_session(session, "t/adele")
    record = SessionRecord("t/adele", "2025-11-25", '{"protocolVersion": "2025-11-25"}')
    await state.describe_session(session, record)
    assert await state.touch_session(session) == record
    assert await state.touch_session(sid()) is None


async def test_events_replay_in_order_within_their_session_only(backend_of: Any) -> None:
    state = backend_of()
    session = sid()
    priming = await state.append_event(session, "7", None)
    one = await state.append_event(session, "7", '{"a": 1}')
    await state.append_event(session, "8", '{"other": 1}')
    two = await state.append_event(session, "7", '{"a": 2}')
    stream, events = await state.events_after(session, priming, wait=0)
    assert stream == "7" and [(e.event_id, e.data) for e in events] == [(one, '{"a": 1}'), (two, '{"a": 2}')]
    assert await state.events_after(sid(), priming, wait=0) is None  # another session's cursor finds nothing
    assert await state.events_after(session, "no-such-event", wait=0) is None
    assert await state.events_after(session, "\u00b2_Nw", wait=0) is None  # a non-ASCII digit is no position
    assert await state.events_after(session, two, wait=0.05) == ("7", [])


def sequence(event_id: str) -> int:
    """Both backends' event ids start with a number that grows along a stream (``"12"``, ``"12_Nw"``)."""
    return int(event_id.partition("_")[0])


async def test_past_the_event_cap_ids_stay_unique_and_a_resume_returns_exactly_what_followed(
    backend_of: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory, "MAX_EVENTS", 5)
    monkeypatch.setattr(redis_backend, "MAX_STREAM_EVENTS", 5)
    state = backend_of()
    session = sid()
    ids = []
    for n in range(12):
        ids.append(await state.append_event(session, "7", f'{{"n": {n}}}'))
        if n == 3:
            other = await state.append_event(session, "8", "{}")
    assert len(set(ids)) == 12 and [sequence(i) for i in ids] == sorted(sequence(i) for i in ids)
    for n in range(7, 12):  # the five kept events: a resume returns exactly the later ones, with their own ids
        assert await state.events_after(session, ids[n], wait=0) == (
            "7", [StoredEvent(ids[m], f'{{"n": {m}}}') for m in range(n + 1, 12)])
    for n in range(7):  # dropped: the events after it are no longer all there, so nothing is replayed
        assert await state.events_after(session, ids[n], wait=0) is None
    suffix = ids[0].partition("_")[1:]  # ids never given out: before the first, past the newest
    for number in (0, sequence(ids[-1]) + 1):
        assert await state.events_after(session, "".join((str(number), *suffix)), wait=0) is None
    if isinstance(state, memory.MemoryState):  # one id entry per kept event, no more
        assert set(state._event_ids) == {*ids[7:], other}


@pytest.mark.parametrize("backend_of", ["redis"], indirect=True)
async def test_a_redis_stream_written_before_event_counters_resumes_and_goes_on(backend_of: Any) -> None:
    """A replica of the previous version stored events without a counter, and gave out ids that
    are the list's length after each push: they keep working across a rolling upgrade. The counter
    expires with the events."""
    state = backend_of()
    session = sid()
    key = f"{redis_backend.PREFIX}e:{session}:Nw"  # stream "7"
    await state.redis.rpush(key, "p", 'm{"n": 1}', 'm{"n": 2}')
    assert await state.events_after(session, "1_Nw", wait=0) == (
        "7", [StoredEvent("2_Nw", '{"n": 1}'), StoredEvent("3_Nw", '{"n": 2}')])
    assert await state.append_event(session, "7", '{"n": 3}') == "4_Nw"
    assert await state.events_after(session, "3_Nw", wait=0) == ("7", [StoredEvent("4_Nw", '{"n": 3}')])
    await state.append_event(session, "7", '{"jsonrpc": "2.0", "id": 7, "result": {}}')  # answered: kept 2 min
    counter = f"{redis_backend.PREFIX}en:{session}:Nw"
    assert 0 < await state.redis.ttl(counter) <= redis_backend.COMPLETED_STREAM_TTL
    assert await state.redis.ttl(key) == await state.redis.ttl(counter)  # the counter expires with its events


async def test_transcripts_are_per_owner_trimmed_and_listed_most_recent_first(backend_of: Any) -> None:
    state = backend_of()
    for n in range(4):
        await state.append_turn("t/adele", "c1", f'{{"n": {n}}}', max_turns=3, max_conversations=2)
    await state.append_turn("t/adele", "c2", "{}", max_turns=3, max_conversations=2)
    await state.append_turn("t/adele", "c3", "{}", max_turns=3, max_conversations=2)
    assert await state.turns("t/adele", "c1") in ([], ['{"n": 1}', '{"n": 2}', '{"n": 3}'])
    assert await state.conversation_ids("t/adele", 10) == ["c3", "c2"]  # c1 fell off the list
    assert await state.turns("t/john", "c2") == [] and await state.conversation_ids("t/john", 10) == []


async def test_concurrent_turn_slots(backend_of: Any) -> None:
    state = backend_of(max_turns_per_user=2)
    await state.acquire_turn("t/adele", "a")
    await state.acquire_turn("t/adele", "b")
    with pytest.raises(LimitExceededError, match="limit of 2 concurrent Copilot questions"):
        await state.acquire_turn("t/adele", "c")
    await state.acquire_turn("t/john", "a")
    await state.release_turn("t/adele", "a")
    await state.acquire_turn("t/adele", "c")


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("COPILOT_TOOLS_STATE_URL", "http://redis:6379", "not a state URL"),
    ("COPILOT_TOOLS_STATE_URL", "redis://h:99999999/0", "bad port"),
    ("COPILOT_TOOLS_STATE_URL", "redis://:hunter2@h:99999999/0", "bad port"),
    ("COPILOT_TOOLS_MAX_SESSIONS", "-1", "out of range"),
    ("COPILOT_TOOLS_SESSION_IDLE_TIMEOUT", "inf", "out of range"),
    ("COPILOT_TOOLS_REQUESTS_PER_MINUTE", "many", "not a number"),
])
def test_garbage_settings_are_refused_naming_the_variable(variable: str, value: str, named: str) -> None:
    with pytest.raises(InvalidInputError, match=named) as refused:
        load_state_config({}, {variable: value})
    assert variable in refused.value.message and "hunter2" not in str(refused.value)


def test_options_win_over_the_environment_and_passwords_never_show() -> None:
    config = load_state_config({"state_url": "rediss://:hunter2@redis.contoso.com:6380/0", "max_sessions": "7"},
                               {"COPILOT_TOOLS_MAX_SESSIONS": "9", "COPILOT_TOOLS_TRANSCRIPT_TTL": "60"})
    assert config.max_sessions == 7 and config.transcript_ttl == 60 and config.shared
    assert "hunter2" not in config.redacted_url() and "redis.contoso.com:6380" in config.redacted_url()
