"""Start-up of the ``copilot-tools`` command: ``--help`` and ``ask --help``, and their heaviest imports.

    .venv/bin/python benchmarks/cli_startup.py [--runs 20] [--top 15]

Each run starts a fresh process (``python -m copilot_tools ...``) and waits for it to
exit; the baseline is ``python -c pass`` started the same way, so the difference is
what the command costs before it does anything. Then one run under ``-X importtime``
lists the imports with the largest cumulative time, and which heavy packages (the MCP
SDK, LangChain, the emulator's web stack, rich) were imported at all. No network is
used: neither command makes a request.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WATCHED = ("mcp", "langchain_core", "copilot_tools.emulator", "uvicorn", "starlette", "rich", "msal", "httpx", "pydantic")
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S.*)$")


def clean_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_TOOLS_")}
    env.update({"HOME": home, "XDG_CONFIG_HOME": home, "COPILOT_TOOLS_CONFIG": os.path.join(home, "none.toml")})
    return env


def wall_time(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def measure(command: list[str], env: dict[str, str], runs: int) -> tuple[float, float, float]:
    wall_time(command, env)  # warm the OS file cache and the bytecode caches
    samples = sorted(wall_time(command, env) for _ in range(runs))
    return statistics.median(samples), samples[0], samples[int(0.9 * (len(samples) - 1))]


def import_times(command: list[str], env: dict[str, str]) -> list[tuple[int, int, int, str]]:
    """(self µs, cumulative µs, depth, module) for every import of one run."""
    result = subprocess.run([command[0], "-X", "importtime", *command[1:]], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    rows = []
    for line in result.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            rows.append((int(match.group(1)), int(match.group(2)), len(match.group(3)) // 2, match.group(4).strip()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per command (default 20)")
    parser.add_argument("--top", type=int, default=15, help="imports to list (default 15)")
    options = parser.parse_args()
    runs = max(1, min(options.runs, 200))
    python = sys.executable
    with tempfile.TemporaryDirectory() as home:
        env = clean_env(home)
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "import copilot_tools": [python, "-c", "import copilot_tools"],
            "copilot-tools --help": [python, "-m", "copilot_tools", "--help"],
            "copilot-tools ask --help": [python, "-m", "copilot_tools", "ask", "--help"],
        }
        print(f"start-up, {runs} runs each (median / min / p90), Python {sys.version.split()[0]}")
        baseline = None
        for name, command in commands.items():
            median, best, p90 = measure(command, env, runs)
            baseline = baseline if baseline is not None else median
            extra = f"   +{(median - baseline) * 1000:.0f} ms over bare python" if name != "python -c pass" else ""
            print(f"  {name:<26} {median * 1000:6.0f} / {best * 1000:4.0f} / {p90 * 1000:4.0f} ms{extra}")
        for name in ("copilot-tools --help", "copilot-tools ask --help"):
            rows = import_times(commands[name], env)
            total = sum(row[0] for row in rows)
            print(f"\n{name}: {len(rows)} modules imported, {total / 1000:.0f} ms of import time; top {options.top} by cumulative time:")
            for own, cumulative, depth, module in sorted(rows, key=lambda r: r[1], reverse=True)[:options.top]:
                print(f"  {cumulative / 1000:7.1f} ms  (self {own / 1000:5.1f})  {'  ' * min(depth, 6)}{module}")
            names = {row[3] for row in rows}
            loaded = [w for w in WATCHED if any(n == w or n.startswith(w + ".") for n in names)]
            print(f"  watched packages imported: {', '.join(loaded) or 'none'}")


if __name__ == "__main__":
    main()
