"""Two server processes on one Redis, as a load balancer would use them, through the SDK's client.

What a user relies on: a session works whichever replica each request lands on; a conversation
held on one replica is readable on the other and survives a restart of both; a stream cut
mid-answer resumes (``Last-Event-ID``) on the other replica without asking Copilot again; when
Redis goes away the server says so and recovers by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import ResourceTemplateReference

from copilot_tools.mcp.resources import ConversationStore
from copilot_tools.mcp.state import StateConfig, open_state
from tests.mcp.conftest import MEETING
from tests.mcp.test_http_auth import EntraStandIn, obo_requests
from tests.replicas.conftest import (
    ADELE,
    JOHN,
    Balancer,
    CountingGraph,
    RedisProcess,
    Replica,
    connect,
    eventually,
    free_port,
    replica_args,
    replica_env,
    replica_pair,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisProcess, idp: EntraStandIn,
             ca_file: str, graph: CountingGraph) -> Iterator[list[Replica]]:
    with replica_pair(tmp_path_factory.mktemp("replicas"), idp, ca_file, graph, redis_server.url) as servers:
        yield servers


def balancer(replicas: list[Replica], **options: Any) -> Balancer:
    return Balancer([server.origin for server in replicas], **options)


async def test_a_session_whose_requests_alternate_between_replicas_works(
    replicas: list[Replica], idp: EntraStandIn, redis_server: RedisProcess,
) -> None:
    lb = balancer(replicas)
    async with connect(lb, idp.api_token(ADELE)) as client:
        tools = await client.list_tools()
        first = await client.call_tool("ask_copilot", {"question": MEETING})
        conversation = first.structured_content["conversation_id"]
        follow_up = await client.call_tool("continue_conversation",
                                           {"conversation_id": conversation, "message": "Who organises it?"})
        transcript = await client.read_resource(f"copilot://conversations/{conversation}")
    assert len(tools.tools) >= 4 and not first.is_error and not follow_up.is_error
    assert {index for _, index, _ in lb.log} == {0, 1}  # both replicas served this one session
    text = transcript.contents[0].text
    assert MEETING in text and "Who organises it?" in text  # both turns, whichever replica held them

    # The conversation list is shared too (what the resources module reads for a listing).
    store = ConversationStore(open_state(StateConfig(state_url=redis_server.url)))
    owner = store.for_owner(_owner(idp, ADELE))
    assert conversation in await owner.conversation_ids()
    assert await store.for_owner(_owner(idp, JOHN)).conversation_ids() == []


async def test_a_host_on_the_sessionless_protocol_is_served_by_any_replica(
    replicas: list[Replica], idp: EntraStandIn,
) -> None:
    lb = balancer(replicas)
    async with connect(lb, idp.api_token(ADELE), mode="auto") as client:
        answers = [await client.call_tool("ask_copilot", {"question": MEETING}) for _ in range(2)]
    assert not any(answer.is_error for answer in answers)
    assert {index for _, index, _ in lb.log} == {0, 1}
    assert all(method == "POST" for method, _, _ in lb.log)  # no session: no stream to hold, nothing to end


def _owner(idp: EntraStandIn, username: str) -> str:
    user = idp.add_user(username)
    return f"{user.tid}/{user.oid}".lower()


async def test_a_conversation_started_on_one_replica_is_listed_and_readable_on_the_other_but_not_by_another_user(
    replicas: list[Replica], idp: EntraStandIn,
) -> None:
    async with connect(balancer(replicas, pin=0), idp.api_token(ADELE)) as client:
        answer = await client.call_tool("ask_copilot", {"question": MEETING})
    conversation = answer.structured_content["conversation_id"]
    uri = f"copilot://conversations/{conversation}"
    template = ResourceTemplateReference(type="ref/resource", uri="copilot://conversations/{conversation_id}")
    async with connect(balancer(replicas, pin=1), idp.api_token(ADELE)) as client:
        transcript = await client.read_resource(uri)
        listed = {str(resource.uri): resource for resource in (await client.list_resources()).resources}
        completed = await client.complete(template, {"name": "conversation_id", "value": conversation[:4]})
    assert MEETING in transcript.contents[0].text
    assert uri in listed and listed[uri].title == MEETING
    assert conversation in completed.completion.values
    async with connect(balancer(replicas, pin=1), idp.api_token(JOHN)) as client:
        with pytest.raises(MCPError):
            await client.read_resource(uri)
        assert uri not in {str(resource.uri) for resource in (await client.list_resources()).resources}
        completed = await client.complete(template, {"name": "conversation_id", "value": conversation[:4]})
        assert conversation not in completed.completion.values


async def test_a_stream_cut_mid_answer_resumes_on_the_other_replica_without_asking_copilot_again(
    replicas: list[Replica], idp: EntraStandIn, graph: CountingGraph,
) -> None:
    lb = balancer(replicas)
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async with connect(lb, idp.api_token(ADELE)) as client:
        await client.list_tools()
        lb.cut_after = 1
        turns_before = graph.turns
        result = await client.call_tool("ask_copilot", {"question": MEETING}, progress_callback=on_progress)
    assert not result.is_error and result.structured_content["citations"]
    assert graph.turns == turns_before + 1  # the turn went to Copilot once
    assert any(message and message.startswith("Answer complete") for message in progress)
    resumed = [index for _, index, was_resumed in lb.log if was_resumed]
    assert lb.cut_on is not None and resumed == [1 - lb.cut_on], lb.log  # resumed on the other replica


async def test_replicas_share_a_users_on_behalf_of_token_sealed_in_redis(
    replicas: list[Replica], idp: EntraStandIn, redis_server: RedisProcess,
) -> None:
    user = "alex.wilber@contoso.com"
    token = idp.api_token(user)
    async with connect(balancer(replicas), token) as client:
        for _ in range(2):
            assert not (await client.call_tool("retrieve", {"query": "launch plan"})).is_error
    exchanges = [r for r in obo_requests(idp) if r.form.get("assertion") == token]
    assert len(exchanges) == 1  # one exchange with Entra, whichever replica served each call

    import redis

    client = redis.Redis.from_url(redis_server.url)
    sealed = [client.get(key) for key in client.scan_iter("copilot-tools:o:*")]
    client.close()
    assert sealed and not any(idp.graph_token(user).encode() in value for value in sealed if value)


async def test_transcripts_survive_a_restart_of_both_replicas(replicas: list[Replica], idp: EntraStandIn) -> None:
    async with connect(balancer(replicas), idp.api_token(JOHN)) as client:
        answer = await client.call_tool("ask_copilot", {"question": MEETING})
    conversation = answer.structured_content["conversation_id"]
    for server in replicas:
        server.stop()
    for server in replicas:
        server.start()
    async with connect(balancer(replicas), idp.api_token(JOHN)) as client:
        transcript = await client.read_resource(f"copilot://conversations/{conversation}")
    assert MEETING in transcript.contents[0].text


async def test_redis_going_away_is_a_retryable_error_and_the_server_recovers_by_itself(
    replicas: list[Replica], idp: EntraStandIn, redis_server: RedisProcess,
) -> None:
    origin = replicas[0].origin
    async with httpx.AsyncClient(timeout=20) as http, connect(balancer(replicas), idp.api_token(ADELE)) as client:
        await client.list_tools()
        assert (await http.get(f"{origin}/readyz")).status_code == 200
        redis_server.stop()
        try:
            with pytest.raises(MCPError, match="unreachable.*retry in 5 s"):
                await client.call_tool("ask_copilot", {"question": MEETING})
            ready = await http.get(f"{origin}/readyz")
            assert ready.status_code == 503 and "unreachable" in ready.json()["reason"]
            assert (await http.get(f"{origin}/healthz")).status_code == 200
            refused = await http.post(f"{origin}/mcp", json=INITIALIZE, headers={
                **MCP_HEADERS, "Authorization": f"Bearer {idp.api_token(ADELE)}"})
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
        finally:
            redis_server.start()

        async def ready_again() -> bool:
            return (await http.get(f"{origin}/readyz")).status_code == 200

        await eventually(ready_again)
    # This Redis kept nothing (no persistence): hosts open new sessions, which work at once.
    async with connect(balancer(replicas), idp.api_token(ADELE)) as client:
        answer = await client.call_tool("ask_copilot", {"question": MEETING})
    assert not answer.is_error


def test_a_replica_that_cannot_reach_redis_at_start_up_says_so_and_exits(
    tmp_path: Path, idp: EntraStandIn, ca_file: str, graph: CountingGraph,
) -> None:
    port = free_port()
    dead = f"redis://127.0.0.1:{free_port()}/0"
    server = Replica(port, replica_env(tmp_path, idp, ca_file, graph),
                     replica_args(dead, f"http://127.0.0.1:{port}/mcp"), tmp_path / "replica.log")
    with pytest.raises(AssertionError, match="cannot reach the state store"):
        server.start()
    assert server.process is not None and server.process.returncode not in (0, None)


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
