"""Client overhead against bare httpx, time to first delta, and decoder throughput.

    .venv/bin/python benchmarks/client_overhead.py [--turns 300] [--rounds 3] [--streams 40] [--megabytes 16]

All traffic goes to a canned server on 127.0.0.1 (benchmarks/_canned_server.py). The chat turn
is measured in ``--rounds`` rounds of ``--turns`` interleaved pairs; the figure is the median
round's ratio (on a shared machine one round's ratio moved by 0.05 from a burst of load).
``--streams 0`` or ``--megabytes 0`` leaves that part out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._canned_server import STREAM_EVENTS, CannedServer
from benchmarks._report import report
from copilot_tools import CopilotClient, TextDelta
from copilot_tools._sse import SSEDecoder

CID = "0d110e7e-2b7e-4270-a899-fd2af6fde333"
BODY = {"message": {"text": "What meeting do I have at 9 AM tomorrow morning?"}, "locationHint": {"timeZone": "UTC"}}


def per_call(baseline, function, repeat: int) -> tuple[float, float]:
    """Median time of one call of each, the two interleaved so that load on a shared machine
    falls on both alike (one block after the other let a burst of load land on one side)."""
    for _ in range(min(20, repeat)):
        baseline(), function()
    base_samples, samples = [], []
    for _ in range(repeat):
        for run, into in ((baseline, base_samples), (function, samples)):
            started = time.perf_counter()
            run()
            into.append(time.perf_counter() - started)
    return statistics.median(base_samples), statistics.median(samples)


def bench_turns(base_url: str, turns: int) -> tuple[float, float]:
    with httpx.Client(timeout=30) as bare, CopilotClient(base_url=base_url, token="bench", time_zone="UTC") as client:
        url = f"{base_url}/copilot/conversations/{CID}/chat"
        headers = {"Authorization": "Bearer bench"}
        return per_call(lambda: json.loads(bare.post(url, json=BODY, headers=headers).content),
                        lambda: client.chat(CID, BODY["message"]["text"]), turns)


def bench_first_delta(base_url: str, streams: int) -> tuple[float, float]:
    with httpx.Client(timeout=30) as bare, CopilotClient(base_url=base_url, token="bench", time_zone="UTC") as client:
        url = f"{base_url}/copilot/conversations/{CID}/chatOverStream"

        def bare_first_byte() -> None:
            with bare.stream("POST", url, json=BODY, headers={"Authorization": "Bearer bench"}) as response:
                next(response.iter_bytes())

        def client_first_delta() -> None:
            events = client.stream(CID, BODY["message"]["text"])
            try:
                next(e for e in events if isinstance(e, TextDelta))
            finally:
                events.close()

        return per_call(bare_first_byte, client_first_delta, streams)


def bench_decoder(megabytes: int) -> dict[str, float]:
    body = b"".join(STREAM_EVENTS)
    compact = b"".join(
        b"data: " + json.dumps(json.loads(e.split(b"data: ", 1)[1].rsplit(b"\nid:", 1)[0])).encode() + b"\n\n"
        for e in STREAM_EVENTS
    )
    results = {}
    for name, sample in (("reference layout", body), ("compact layout", compact)):
        copies = max(1, megabytes * 1024 * 1024 // len(sample))
        stream = sample * copies
        chunks = [stream[i : i + 4096] for i in range(0, len(stream), 4096)]
        started = time.perf_counter()
        decoder = SSEDecoder()
        count = sum(len(decoder.feed(chunk)) for chunk in chunks) + len(decoder.close())
        elapsed = time.perf_counter() - started
        results[name] = len(stream) / elapsed / 1024 / 1024
        assert count >= copies
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--streams", type=int, default=40)
    parser.add_argument("--megabytes", type=int, default=16)
    parser.add_argument("--event-delay", type=float, default=0.02)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = []
    with CannedServer() as server:
        for _ in range(max(1, args.rounds)):
            bare, client = bench_turns(server.base_url, args.turns)
            rounds.append((client / bare, bare, client))
            print(f"chat turn: bare httpx+json.loads {bare * 1000:.2f} ms, CopilotClient.chat {client * 1000:.2f} ms "
                  f"(ratio {client / bare:.2f}, overhead {(client - bare) * 1000:.2f} ms)", flush=True)
    ratio, bare, client = sorted(rounds)[len(rounds) // 2]
    report("chat turn vs bare httpx", ratio, 1.05,
           f"{client * 1000:.2f} ms vs {bare * 1000:.2f} ms (median of {len(rounds)} rounds)")
    if args.streams > 0:
        bench_streams(args.streams, args.event_delay)
    if args.megabytes > 0:
        for name, rate in bench_decoder(args.megabytes).items():
            print(f"SSE decoder, {name}: {rate:.1f} MiB/s")


def bench_streams(streams: int, event_delay: float) -> None:
    with CannedServer(event_delay=event_delay) as server:
        first_byte, first_delta = bench_first_delta(server.base_url, streams)
    print(f"stream: first byte (bare httpx) {first_byte * 1000:.1f} ms, first delta (client) {first_delta * 1000:.1f} ms "
          f"(ratio {first_delta / first_byte:.2f}; the server waits {event_delay * 1000:.0f} ms before each event)")
    report("first delta vs first byte", first_delta / first_byte, 1.02,
           f"{first_delta * 1000:.1f} ms vs {first_byte * 1000:.1f} ms")


if __name__ == "__main__":
    main()
