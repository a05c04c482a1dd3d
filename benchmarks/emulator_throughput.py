"""The emulator's throughput: create + chat turns, and whole streams, at a given concurrency.

    .venv/bin/python benchmarks/emulator_throughput.py [--turns 400] [--streams 200] [--concurrency 50]

The emulator runs in its own process (``copilot-tools emulator --port 0``) so that the
load generator does not share its interpreter; ``--in-process`` runs it in a thread of
this one instead. The load comes from a minimal HTTP/1.1 client on asyncio streams, one
keep-alive connection per concurrent worker: httpx's async pool tops out at a few hundred
requests per second on its own and would measure itself rather than the emulator. All
traffic stays on 127.0.0.1. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from copilot_tools.emulator import EmulatorConfig, EmulatorServer

AUTH = {"Authorization": "Bearer bench"}
QUESTIONS = (
    "What meeting do I have at 9 AM tomorrow morning?",
    "What is the per diem for New York?",
    "How do I set up the corporate VPN?",
    "What caused the API outage in September?",
)


@contextmanager
def emulator(args: argparse.Namespace) -> Iterator[str]:
    """The base URL of a running emulator, in a subprocess or in this process."""
    if args.in_process:
        config = EmulatorConfig(words_per_event=args.words_per_event, event_delay=args.event_delay,
                                latency_ms=args.latency_ms)
        with EmulatorServer(config) as server:
            yield server.base_url
        return
    command = [sys.executable, "-m", "copilot_tools", "emulator", "--port", "0",
               "--words-per-event", str(args.words_per_event), "--event-delay", str(args.event_delay),
               "--latency-ms", str(args.latency_ms)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"COPILOT_TOOLS_ENDPOINT=(\S+)", line)
        if not match:
            raise SystemExit(f"the emulator did not start: {line.strip()}")
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=15)


class Connection:
    """One keep-alive HTTP/1.1 connection: POST JSON, read a Content-Length or chunked body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, base_url: str) -> Connection:
        parts = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer, parts.netloc)

    async def post(self, path: str, body: Any) -> tuple[int, bytes]:
        data = json.dumps(body).encode()
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer bench\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data
        )
        await self.writer.drain()
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status = int(head.split(" ", 2)[1])
        length = re.search(r"(?im)^content-length:\s*(\d+)", head)
        if length:
            return status, await self.reader.readexactly(int(length.group(1)))
        chunks = []
        while True:  # chunked
            size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return status, b"".join(chunks)
            chunks.append(chunk[:-2])

    def close(self) -> None:
        self.writer.close()


async def run_many(base_url: str, count: int, concurrency: int,
                   one: Callable[[Connection, int], Awaitable[None]]) -> float:
    """Seconds to run ``one`` ``count`` times on ``concurrency`` connections at once."""
    numbers = iter(range(count))
    connections = [await Connection.open(base_url) for _ in range(concurrency)]

    async def worker(connection: Connection) -> None:
        for number in numbers:
            await one(connection, number)

    started = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return elapsed


async def bench(base_url: str, args: argparse.Namespace) -> None:
    prefix = urlsplit(base_url).path
    conversations: list[str] = []

    async def create_and_chat(connection: Connection, number: int) -> None:
        status, created = await connection.post(f"{prefix}/copilot/conversations", {})
        assert status == 201, created
        conversation = json.loads(created)["id"]
        conversations.append(conversation)
        body = {"message": {"text": QUESTIONS[number % len(QUESTIONS)]}, "locationHint": {"timeZone": "UTC"}}
        status, answer = await connection.post(f"{prefix}/copilot/conversations/{conversation}/chat", body)
        assert status == 200, answer

    async def stream(connection: Connection, number: int) -> None:
        body = {"message": {"text": QUESTIONS[number % len(QUESTIONS)]}, "locationHint": {"timeZone": "UTC"}}
        conversation = conversations[number % len(conversations)]
        status, events = await connection.post(f"{prefix}/copilot/conversations/{conversation}/chatOverStream", body)
        assert status == 200 and events.count(b"\nid:") > 1, events[:200]

    await run_many(base_url, min(50, args.turns), args.concurrency, create_and_chat)  # warm-up
    seconds = await run_many(base_url, args.turns, args.concurrency, create_and_chat)
    print(f"create + chat: {args.turns} turns at concurrency {args.concurrency}: "
          f"{args.turns / seconds:,.0f} turns/s ({2 * args.turns / seconds:,.0f} requests/s)")
    seconds = await run_many(base_url, args.streams, args.concurrency, stream)
    print(f"chatOverStream: {args.streams} whole streams at concurrency {args.concurrency}: "
          f"{args.streams / seconds:,.0f} streams/s "
          f"(words/event {args.words_per_event}, delay {args.event_delay}s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=400, help="create + chat pairs (default 400)")
    parser.add_argument("--streams", type=int, default=200, help="whole streams (default 200)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight (default 50)")
    parser.add_argument("--words-per-event", type=int, default=8)
    parser.add_argument("--event-delay", type=float, default=0.0, help="seconds between events (default 0)")
    parser.add_argument("--latency-ms", type=int, default=0, help="fixed latency per request (default 0)")
    parser.add_argument("--in-process", action="store_true", help="run the emulator in a thread of this process")
    args = parser.parse_args()
    if min(args.turns, args.streams, args.concurrency) < 1:
        parser.error("--turns, --streams and --concurrency must be at least 1")
    with emulator(args) as base_url:
        print(f"emulator at {base_url} ({'in-process' if args.in_process else 'separate process'})")
        asyncio.run(bench(base_url, args))


if __name__ == "__main__":
    main()
