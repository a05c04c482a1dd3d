"""Run every benchmark and write one table of the tracked figures: ``./dev bench``.

    .venv/bin/python benchmarks/run_all.py [--quick] [--out benchmarks/results.md] [name ...]

Each benchmark runs in its own process and prints ``BENCH {json}`` lines (``_report.py``); this
collects them into a markdown table (figure, ratio against its same-run baseline, goal, met or
not) printed and written to ``--out``. ``--quick`` runs smaller loads for a fast look. Nothing
here asserts: a missed goal is shown, not failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "BENCH "

# name -> (script, full arguments, quick arguments)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "client_overhead": ("client_overhead.py", [], ["--turns", "100", "--streams", "15", "--megabytes", "4"]),
    "import_time": ("import_time.py", ["--runs", "15"], ["--runs", "5"]),
    "mcp_startup": ("mcp_startup.py", ["--runs", "15"], ["--runs", "5"]),
    "concurrent_streams": ("concurrent_streams.py", ["--streams", "1000"], ["--streams", "200"]),
    "parser_scaling": ("parser_scaling.py", [], ["--quick"]),
    "retrieval_batch": ("retrieval_batch.py", [], []),
    "verify_batch": ("verify_batch.py", [], []),
    "replicas": ("replicas.py", [], ["--quick"]),
}


def run(name: str, quick: bool) -> list[dict[str, object]]:
    script, full, fast = BENCHMARKS[name]
    path = ROOT / "benchmarks" / script
    if not path.exists():
        return []
    started = time.perf_counter()
    process = subprocess.run([sys.executable, str(path), *(fast if quick else full)], cwd=ROOT,
                             capture_output=True, text=True, env=bytecode_env())
    lines = process.stdout.splitlines()
    for line in lines:
        if not line.startswith(PREFIX):
            print(f"  {line}")
    if process.returncode != 0:
        print(f"  {name} failed (exit {process.returncode}): {process.stderr.strip()[-500:]}")
        return [{"figure": name, "ratio": None, "goal": None, "higher": False, "detail": "failed"}]
    print(f"  ({name}: {time.perf_counter() - started:.0f} s)")
    return [json.loads(line[len(PREFIX):]) for line in lines if line.startswith(PREFIX)]


def bytecode_env() -> dict[str, str]:
    """The environment without ``PYTHONDONTWRITEBYTECODE``: with it set, the package (an editable
    install) is compiled from source in every fresh process while its dependencies load their
    installed ``.pyc``, which charged start-up and import figures ~100 ms the user never pays
    (pip compiles what it installs). Each benchmark's warm-up run then writes the caches."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def verdict(record: dict[str, object]) -> str:
    ratio, goal = record.get("ratio"), record.get("goal")
    if not isinstance(ratio, (int, float)) or not isinstance(goal, (int, float)):
        return ""
    met = ratio >= goal if record.get("higher") else ratio <= goal
    return "yes" if met else "no"


def table(records: list[dict[str, object]]) -> str:
    rows = ["| figure | ratio | goal | met | detail |", "|---|---|---|---|---|"]
    for r in records:
        goal = r.get("goal")
        goal_text = "" if goal is None else (f">= {goal}" if r.get("higher") else f"<= {goal}")
        ratio = r.get("ratio")
        ratio_text = "" if ratio is None else f"{ratio:.2f}"
        rows.append(f"| {r['figure']} | {ratio_text} | {goal_text} | {verdict(r)} | {r.get('detail', '')} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller loads, for a fast look")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md")
    parser.add_argument("names", nargs="*", help=f"which ones (default: all): {', '.join(BENCHMARKS)}")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    records: list[dict[str, object]] = []
    for name in args.names or BENCHMARKS:
        print(f"{name}:", flush=True)
        records += run(name, args.quick)
    text = table(records)
    print(text)
    args.out.write_text(f"# Benchmark figures\n\nMeasured by `./dev bench{' --quick' if args.quick else ''}` "
                        f"on {time.strftime('%Y-%m-%d')}; ratios against a baseline in the same run.\n\n{text}")


if __name__ == "__main__":
    main()
