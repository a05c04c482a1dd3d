"""Per-user limits hold across replicas, and one user cannot lock out everyone else.

Two replicas with tight limits on one Redis: a user over a limit gets an answer that names the
limit and says when to retry, on whichever replica; another user is served normally meanwhile.
The session-cap attack (thousands of sessions opened and abandoned by one authenticated user)
ends in cheap 429s for that user alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import redis
from mcp import Client
from mcp.shared.exceptions import MCPError

from copilot_tools import Settings
from copilot_tools.emulator.server import bind
from copilot_tools.mcp import build_server
from copilot_tools.mcp.http_app import build_http_app
from copilot_tools.mcp.state import StateConfig, open_state
from tests.mcp.conftest import MEETING, TIME_ZONE
from tests.mcp.test_http_auth import EntraStandIn, serve
from tests.replicas.conftest import (
    ADELE,
    JOHN,
    Balancer,
    CountingGraph,
    RedisProcess,
    Replica,
    connect,
    replica_pair,
)
from tests.replicas.test_replicas import INITIALIZE, MCP_HEADERS

pytestmark = pytest.mark.anyio

MEGAN = "megan.bowen@contoso.com"
SESSIONS_PER_USER = 5


def redis_url(replicas: list[Replica]) -> str:
    return replicas[0].args[replicas[0].args.index("--state") + 1]


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisProcess, idp: EntraStandIn,
          ca_file: str, graph: CountingGraph) -> Iterator[list[Replica]]:
    limits = {"COPILOT_TOOLS_MAX_TURNS_PER_USER": "1", "COPILOT_TOOLS_MAX_SESSIONS_PER_USER": str(SESSIONS_PER_USER),
              "COPILOT_TOOLS_SESSION_EVICT_AFTER": "600", "COPILOT_TOOLS_REQUESTS_PER_MINUTE": "5000"}
    with replica_pair(tmp_path_factory.mktemp("tight"), idp, ca_file, graph, redis_server.url.replace("/0", "/1"),
                      **limits) as servers:
        yield servers


async def test_thousands_of_abandoned_sessions_by_one_user_do_not_lock_out_another(
    tight: list[Replica], idp: EntraStandIn,
) -> None:
    token = idp.api_token(MEGAN)
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    statuses: list[int] = []
    refusal: httpx.Response | None = None
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=12)) as http:

        async def open_sessions(replica: Replica, count: int) -> None:
            nonlocal refusal
            for _ in range(count):
                response = await http.post(f"{replica.origin}/mcp", json=INITIALIZE, headers=headers)
                statuses.append(response.status_code)
                if response.status_code == 429:
                    refusal = response

        async with anyio.create_task_group() as group:
            for worker in range(12):
                group.start_soon(open_sessions, tight[worker % 2], 100)
    assert len(statuses) == 1200 and statuses.count(200) == SESSIONS_PER_USER
    assert statuses.count(429) == 1200 - SESSIONS_PER_USER
    assert refusal is not None and int(refusal.headers["Retry-After"]) > 0
    error = refusal.json()["error"]
    assert error["data"]["limit"] == "open sessions"
    assert error["data"]["setting"] == "COPILOT_TOOLS_MAX_SESSIONS_PER_USER"
    assert f"limit of {SESSIONS_PER_USER} open sessions" in error["message"] and "Retry after" in error["message"]

    # Nothing of the refused attempts stays behind: the user holds the sessions the cap allows.
    store = redis.Redis.from_url(redis_url(tight))
    user = idp.add_user(MEGAN)
    assert store.zcard(f"copilot-tools:su:{user.tid}/{user.oid}".lower()) == SESSIONS_PER_USER
    store.close()

    # Another user is served at once, on both replicas.
    async with connect(Balancer([server.origin for server in tight]), idp.api_token(JOHN)) as client:
        answer = await client.call_tool("ask_copilot", {"question": MEETING})
    assert not answer.is_error


async def test_concurrent_turns_are_limited_per_user_across_replicas_and_others_are_served(
    tight: list[Replica], idp: EntraStandIn,
) -> None:
    first_progress = anyio.Event()
    results: dict[str, Any] = {}

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        first_progress.set()

    async def adele_on_replica_0() -> None:
        async with connect(Balancer([tight[0].origin]), idp.api_token(ADELE)) as client:
            results["first"] = await client.call_tool("ask_copilot", {"question": MEETING},
                                                      progress_callback=on_progress)

    async with anyio.create_task_group() as group:
        group.start_soon(adele_on_replica_0)
        with anyio.fail_after(20):
            await first_progress.wait()
        async with connect(Balancer([tight[1].origin]), idp.api_token(ADELE)) as client:
            results["second"] = await client.call_tool("ask_copilot", {"question": MEETING})
        async with connect(Balancer([tight[1].origin]), idp.api_token(JOHN)) as client:
            results["john"] = await client.call_tool("ask_copilot", {"question": MEETING})

    assert not results["first"].is_error and not results["john"].is_error
    refused = results["second"]
    assert refused.is_error
    text = refused.content[0].text
    assert "limit of 1 concurrent Copilot questions" in text and "Retry after" in text


def test_requests_per_minute_are_counted_across_replicas(redis_server: RedisProcess, graph: CountingGraph) -> None:
    """Two app instances (as two replicas) on one Redis share one user's per-minute budget."""
    config = StateConfig(state_url=redis_server.url.replace("/0", "/2"), requests_per_minute=6)
    origins = []
    with serve(_app(config, graph), bind("127.0.0.1", 0)) as first, serve(_app(config, graph),
                                                                           bind("127.0.0.1", 0)) as second:
        origins = [first, second]
        with httpx.Client(timeout=10) as http:
            answers = [http.post(f"{origins[n % 2]}/mcp", json=INITIALIZE, headers=MCP_HEADERS) for n in range(8)]
    assert [a.status_code for a in answers[:6]] == [200] * 6
    refused = answers[6]
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["data"]["limit"] == "requests per minute"


def _app(config: StateConfig, graph: CountingGraph) -> Any:
    state = open_state(config)
    server = build_server(Settings(endpoint=graph.base_url, time_zone=TIME_ZONE))
    return build_http_app(server, state, config)


async def test_a_host_over_a_limit_reads_which_limit_and_when_to_retry(graph: CountingGraph) -> None:
    config = StateConfig(requests_per_minute=5)
    with serve(_app(config, graph), bind("127.0.0.1", 0)) as origin:
        async with Client(f"{origin}/mcp", mode="legacy") as client:
            with pytest.raises(MCPError) as refused:
                for _ in range(10):
                    await client.list_tools()
    message = str(refused.value)
    assert "limit of 5 requests per minute" in message and "Retry after" in message
    assert "COPILOT_TOOLS_REQUESTS_PER_MINUTE" in message


async def test_a_replica_lets_go_of_an_evicted_session_it_still_serves(graph: CountingGraph,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The idle-session sweeper: a session evicted from the shared state (here to admit another at
    the cap) is let go by the replica holding it, without that session sending anything: its
    open event stream ends within one sweep."""
    from copilot_tools.mcp import http_app

    monkeypatch.setattr(http_app, "SWEEP_SECONDS", 0.2)
    config = StateConfig(max_sessions_per_user=1, session_evict_after=0)
    with serve(_app(config, graph), bind("127.0.0.1", 0)) as origin:
        async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
            opened = await http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
            session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
            await http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                            headers={**MCP_HEADERS, **session})
            async with http.stream("GET", "/mcp", headers={"Accept": "text/event-stream", **session}) as stream:
                assert stream.status_code == 200
                evicting = await http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
                assert evicting.status_code == 200
                with anyio.fail_after(5):  # the sweep runs every 0.2 s; without it the stream stays open
                    async for _ in stream.aiter_bytes():
                        pass
            gone = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "ping"},
                                   headers={**MCP_HEADERS, **session})
            assert gone.status_code == 404
