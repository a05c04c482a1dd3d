"""Start-up of ``copilot-tools mcp`` (stdio): process start to a ``tools/list`` answer.

    .venv/bin/python benchmarks/mcp_startup.py [--runs 15]

Each run starts a fresh process, sends ``initialize``, ``notifications/initialized`` and
``tools/list`` on its stdin, and stops the clock when the ``tools/list`` answer arrives
on its stdout. The baseline is a bare ``MCPServer`` with one tool, started the same way
(``python -c``), so the ratio is what this package adds on top of the SDK itself:
importing the core and the server, building four tools and their schemas. No network
is used; the server makes no request before a tool call.
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

BARE_SERVER = """
from mcp.server import MCPServer

server = MCPServer("bare")

@server.tool()
def echo(text: str) -> str:
    \"\"\"Echo the text.\"\"\"
    return text

server.run()
"""

MESSAGES = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]


def time_to_tools_list(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds from spawning ``command`` to its ``tools/list`` answer, and the tool count."""
    payload = "".join(json.dumps(m) + "\n" for m in MESSAGES).encode()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(payload)
        process.stdin.flush()
        for line in process.stdout:
            message = json.loads(line)
            if message.get("id") == 2:
                elapsed = time.perf_counter() - started
                return elapsed, len(message["result"]["tools"])
        raise RuntimeError(f"{command} exited without answering tools/list")
    finally:
        process.stdin.close()
        process.terminate()
        process.wait(timeout=10)


def measure(command: list[str], env: dict[str, str], runs: int) -> tuple[float, float, int]:
    time_to_tools_list(command, env)  # warm the OS file cache and the bytecode caches
    samples, tools = [], 0
    for _ in range(runs):
        elapsed, tools = time_to_tools_list(command, env)
        samples.append(elapsed)
    return statistics.median(samples), min(samples), tools


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="runs per server (default 15)")
    args = parser.parse_args()
    runs = max(1, min(args.runs, 200))

    with tempfile.TemporaryDirectory() as home:
        # An empty home: no config file or token cache of the user's changes the figures.
        env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_CACHE_HOME": home,
               "PYTHONPATH": str(ROOT), "COPILOT_TOOLS_ENDPOINT": "http://127.0.0.1:9/beta",
               "COPILOT_TOOLS_TIME_ZONE": "UTC"}
        ours = measure([sys.executable, "-m", "copilot_tools", "mcp"], env, runs)
        bare = measure([sys.executable, "-c", BARE_SERVER], env, runs)

    print(f"runs per server: {runs} (after one warm-up run each)")
    print(f"bare MCPServer, 1 tool:        median {bare[0] * 1000:7.1f} ms  (min {bare[1] * 1000:.1f} ms)")
    print(f"copilot-tools mcp, {ours[2]} tools:  median {ours[0] * 1000:7.1f} ms  (min {ours[1] * 1000:.1f} ms)")
    print(f"ratio (median): {ours[0] / bare[0]:.2f}x")


if __name__ == "__main__":
    main()
