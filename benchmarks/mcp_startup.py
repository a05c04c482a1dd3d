"""Start-up of ``copilot-tools mcp`` (stdio): process start to the first ``tools/call`` result.

    .venv/bin/python benchmarks/mcp_startup.py [--runs 15]

Each run starts a fresh process, sends ``initialize``, ``notifications/initialized``,
``tools/list`` and one ``tools/call`` of ``ask_copilot`` on its stdin, and stops the clock when
the call's result arrives on its stdout (the ``tools/list`` time is printed too). The questions go
to an emulator in its own process on 127.0.0.1. The baseline is a bare ``MCPServer`` with one
tool, started the same way (``python -c``), whose tool does the same two requests (create a
conversation, ask) with a bare ``httpx.AsyncClient`` and returns the reply text: so the ratio is
what this package adds on top of the SDK and httpx themselves.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._report import report
from benchmarks.emulator_throughput import emulator

BARE_SERVER = """
import os
import httpx
from mcp.server import MCPServer

server = MCPServer("bare")

@server.tool()
async def ask_copilot(question: str) -> str:
    \"\"\"Ask the question in a new conversation and return the reply text.\"\"\"
    base = os.environ["COPILOT_TOOLS_ENDPOINT"]
    headers = {"Authorization": "Bearer bench"}
    async with httpx.AsyncClient(timeout=30) as http:
        created = await http.post(base + "/copilot/conversations", json={}, headers=headers)
        url = base + "/copilot/conversations/" + created.json()["id"] + "/chat"
        body = {"message": {"text": question}, "locationHint": {"timeZone": "UTC"}}
        reply = await http.post(url, json=body, headers=headers)
        return reply.json()["messages"][-1]["text"]

server.run()
"""
QUESTION = "What is the per diem for New York?"

MESSAGES = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
     "params": {"name": "ask_copilot", "arguments": {"question": QUESTION}}},
]


def time_to_first_call(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Seconds from spawning ``command`` to its ``tools/list`` answer and to its first
    ``tools/call`` result, and the tool count."""
    payload = "".join(json.dumps(m) + "\n" for m in MESSAGES).encode()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(payload)
        process.stdin.flush()
        listed, tools = 0.0, 0
        for line in process.stdout:
            message = json.loads(line)
            if message.get("id") == 2:
                listed, tools = time.perf_counter() - started, len(message["result"]["tools"])
            elif message.get("id") == 3:
                if message.get("error") or message["result"].get("isError"):
                    raise RuntimeError(f"{command[:3]}: the tool call failed: {line[:300]!r}")
                return listed, time.perf_counter() - started, tools
        raise RuntimeError(f"{command} exited without answering tools/call")
    finally:
        process.stdin.close()
        process.terminate()
        process.wait(timeout=10)


def measure(commands: dict[str, list[str]], env: dict[str, str], runs: int) -> dict[str, tuple[float, float, int]]:
    """Median tools/list time, median first-call time and tool count per command, runs interleaved."""
    for command in commands.values():
        time_to_first_call(command, env)  # warm the OS file cache and the bytecode caches
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(time_to_first_call(command, env))
    return {
        name: (statistics.median(s[0] for s in runs_), statistics.median(s[1] for s in runs_), runs_[0][2])
        for name, runs_ in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="runs per server (default 15)")
    args = parser.parse_args()
    runs = max(1, min(args.runs, 200))

    emulator_args = argparse.Namespace(in_process=False, words_per_event=50, event_delay=0.0, latency_ms=0)
    with tempfile.TemporaryDirectory() as home, emulator(emulator_args) as base_url:
        # An empty home: no config file or token cache of the user's changes the figures.
        env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_CACHE_HOME": home,
               "PYTHONPATH": str(ROOT), "COPILOT_TOOLS_ENDPOINT": base_url,
               "COPILOT_TOOLS_ACCESS_TOKEN": "bench", "COPILOT_TOOLS_TIME_ZONE": "UTC"}
        results = measure({"ours": [sys.executable, "-m", "copilot_tools", "mcp"],
                           "bare": [sys.executable, "-c", BARE_SERVER]}, env, runs)
    ours, bare = results["ours"], results["bare"]

    print(f"runs per server: {runs}, interleaved (after one warm-up run each)")
    print(f"bare MCPServer + httpx, 1 tool: tools/list {bare[0] * 1000:7.1f} ms, first call {bare[1] * 1000:7.1f} ms")
    print(f"copilot-tools mcp, {ours[2]} tools:    tools/list {ours[0] * 1000:7.1f} ms, first call {ours[1] * 1000:7.1f} ms")
    print(f"ratio (median): tools/list {ours[0] / bare[0]:.2f}x, first call {ours[1] / bare[1]:.2f}x")
    report("stdio MCP spawn to first tools/call", ours[1] / bare[1], 1.10,
           f"{ours[1] * 1000:.0f} ms vs {bare[1] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
