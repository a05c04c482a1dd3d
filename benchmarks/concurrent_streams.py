"""Many concurrent answer streams through ``AsyncCopilotClient`` against bare httpx streams.

    .venv/bin/python benchmarks/concurrent_streams.py [--streams 1000] [--rounds 1]

The emulator runs in its own process (so the load generator does not share its interpreter).
The baseline opens the same number of concurrent streams with a bare ``httpx.AsyncClient``
(same pool limits) and reads each to the end; the client run asks the same question through
``AsyncCopilotClient.stream`` and reads each answer to ``AnswerComplete``. Conversations are
created beforehand in both runs so that only streams are measured. Reported: errors, p50 and
p99 of whole-stream latency, and the p99 ratio (client over bare) in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._report import percentile, report
from benchmarks.emulator_throughput import emulator

QUESTION = "What is the per diem for New York?"
BODY = {"message": {"text": QUESTION}, "locationHint": {"timeZone": "UTC"}}
HEADERS = {"Authorization": "Bearer bench"}


def limits(streams: int) -> httpx.Limits:
    return httpx.Limits(max_connections=streams, max_keepalive_connections=streams)


async def create_ids(base_url: str, count: int) -> list[str]:
    async with httpx.AsyncClient(timeout=120, limits=limits(100)) as http:
        semaphore = asyncio.Semaphore(100)

        async def one() -> str:
            async with semaphore:
                response = await http.post(f"{base_url}/copilot/conversations", json={}, headers=HEADERS)
                return str(response.json()["id"])

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def bare_streams(base_url: str, ids: list[str]) -> tuple[list[float], int]:
    async with httpx.AsyncClient(timeout=300, limits=limits(len(ids))) as http:

        async def one(cid: str) -> float:
            started = time.perf_counter()
            url = f"{base_url}/copilot/conversations/{cid}/chatOverStream"
            async with http.stream("POST", url, json=BODY, headers=HEADERS) as response:
                response.raise_for_status()
                async for _ in response.aiter_bytes():
                    pass
            return time.perf_counter() - started

        return await gather(one(cid) for cid in ids)


async def client_streams(base_url: str, ids: list[str]) -> tuple[list[float], int]:
    from copilot_tools import AnswerComplete, AsyncCopilotClient

    http = httpx.AsyncClient(timeout=300, limits=limits(len(ids)))
    async with AsyncCopilotClient(base_url=base_url, token="bench", time_zone="UTC", http_client=http) as client:

        async def one(cid: str) -> float:
            started = time.perf_counter()
            done = False
            async for event in client.stream(cid, QUESTION):
                done = done or isinstance(event, AnswerComplete)
            if not done:
                raise RuntimeError("stream ended without an answer")
            return time.perf_counter() - started

        return await gather(one(cid) for cid in ids)


async def gather(jobs) -> tuple[list[float], int]:  # type: ignore[no-untyped-def]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    times = [r for r in results if isinstance(r, float)]
    return times, len(results) - len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--words-per-event", type=int, default=4)
    parser.add_argument("--event-delay", type=float, default=0.01)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args()
    args.in_process = False
    with emulator(args) as base_url:
        # Two rounds in opposite order (bare, client, client, bare), so that a warming emulator or
        # a change of load on the machine falls on both sides alike.
        ids = iter(asyncio.run(create_ids(base_url, 4 * args.streams)))
        bare: list[float] = []
        ours: list[float] = []
        bare_errors = our_errors = 0
        for runner in (bare_streams, client_streams, client_streams, bare_streams):
            batch = [next(ids) for _ in range(args.streams)]
            samples, errors = asyncio.run(runner(base_url, batch))
            if runner is bare_streams:
                bare += samples
                bare_errors += errors
            else:
                ours += samples
                our_errors += errors
    for name, samples, errors in (("bare httpx", bare, bare_errors), ("AsyncCopilotClient", ours, our_errors)):
        median = statistics.median(samples) if samples else float("nan")
        p99 = percentile(samples, 0.99)
        print(f"{name:>19}: 2 x {args.streams} streams, {errors} errors, p50 {median:.2f} s, p99 {p99:.2f} s")
    ratio = percentile(ours, 0.99) / percentile(bare, 0.99)
    print(f"p99 ratio (client / bare): {ratio:.2f}")
    report(f"{args.streams} concurrent streams, p99", ratio, 1.1, f"{our_errors} errors (bare {bare_errors})")


if __name__ == "__main__":
    main()
