"""Verifying a 10-citation answer: one ``$batch`` round trip against ten retrievals one by one.

    .venv/bin/python benchmarks/verify_batch.py [--latency-ms 100] [--rounds 5]

The answer cites ten files of the emulator's sample tenant, one sentence each (as the
emulator's own answers do). ``client.verify`` sends the ten path-scoped queries in one
``$batch``; the baseline sends the same ten queries one by one with ``client.retrieve``.
The emulator runs in this process on 127.0.0.1 with a fixed latency per HTTP request
(a ``$batch`` waits once), the way a remote service's round trip dominates. Reports the
HTTP requests each way sent, the median wall times and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from copilot_tools import CopilotClient
from copilot_tools._verify import plan_verification
from copilot_tools.answer import Answer, Citation
from copilot_tools.emulator import EmulatorConfig, EmulatorServer
from copilot_tools.emulator.corpus import load_corpus

CITATIONS = 10


def ten_citation_answer() -> Answer:
    """An answer whose [1]..[10] each quote one sentence of a different tenant file."""
    lines, citations = [], []
    for document in load_corpus().documents:
        if document.source != "sharePoint" or len(citations) == CITATIONS:
            continue
        sentence = next(u for s in document.sections for u in s.units if len(u.split()) >= 8)
        number = len(citations) + 1
        lines.append(f"- {sentence.rstrip('.')}[{number}].")
        citations.append(Citation(index=number, title=document.title, url=document.web_url, source="model"))
    text = "\n".join(lines)
    return Answer(text=text, raw_text=text, citations=tuple(citations), conversation_id="bench", turn_count=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    answer = ten_citation_answer()
    queries = plan_verification(answer).queries
    sent: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda request: sent.append(request.url.path)]}, timeout=60)
    one_by_one, batched = [], []
    with EmulatorServer(EmulatorConfig(latency_ms=args.latency_ms)) as server, \
            CopilotClient(base_url=server.base_url, token="bench", time_zone="UTC", http_client=http) as client:
        for _ in range(args.rounds):
            sent.clear()
            started = time.perf_counter()
            for query in queries:
                client.retrieve(query.query, data_source=query.data_source, filter=query.body.filter_expression,
                                metadata=["title"], max_results=query.body.maximum_number_of_results)
            one_by_one.append(time.perf_counter() - started)
            sequential_requests = len(sent)
            sent.clear()
            started = time.perf_counter()
            verification = client.verify(answer)
            batched.append(time.perf_counter() - started)
            batch_requests = list(sent)
    assert verification.claims_supported == CITATIONS, verification.render()
    a, b = statistics.median(one_by_one), statistics.median(batched)
    print(f"{CITATIONS} citations, {args.latency_ms} ms latency per request: one by one {sequential_requests} "
          f"requests, {a * 1000:.0f} ms; verify {len(batch_requests)} request ({', '.join(batch_requests)}), "
          f"{b * 1000:.0f} ms (ratio {a / b:.1f}x)")


if __name__ == "__main__":
    main()
