"""20 retrieval queries one by one against the same 20 through one ``$batch``.

    .venv/bin/python benchmarks/retrieval_batch.py [--latency-ms 100] [--rounds 5]

The emulator runs in this process on 127.0.0.1 with a fixed latency per request (and
per ``$batch`` request: the whole batch waits once), the way a remote service's round
trip dominates. Reports the median wall time of each way and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from copilot_tools import CopilotClient
from copilot_tools.emulator import EmulatorConfig, EmulatorServer

TOPICS = ["VPN setup", "travel per diem", "parental leave", "Project Falcon launch", "MFA policy",
          "Q3 budget", "procurement threshold", "pricing sheet", "Fabrikam case study", "data retention",
          "onboarding checklist", "on-call runbook", "API guidelines", "incident postmortem", "remote work",
          "holiday calendar", "NDA template", "phishing", "release checklist", "roadmap FY27"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    config = EmulatorConfig(latency_ms=args.latency_ms)
    one_by_one, batched = [], []
    with EmulatorServer(config) as server, CopilotClient(base_url=server.base_url, token="bench", time_zone="UTC") as client:
        for _ in range(args.rounds):
            started = time.perf_counter()
            sequential_hits = [hit for topic in TOPICS for hit in client.retrieve(topic)]
            one_by_one.append(time.perf_counter() - started)
            started = time.perf_counter()
            batch_hits = client.retrieve_many(TOPICS)
            batched.append(time.perf_counter() - started)
    assert {h.url for h in sequential_hits} == {h.url for h in batch_hits}
    a, b = statistics.median(one_by_one), statistics.median(batched)
    print(f"20 queries, {args.latency_ms} ms latency per request: one by one {a * 1000:.0f} ms, "
          f"one $batch {b * 1000:.0f} ms (ratio {a / b:.1f}x)")


if __name__ == "__main__":
    main()
