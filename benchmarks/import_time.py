"""Import time of the package's entry points against the libraries they stand on.

    .venv/bin/python benchmarks/import_time.py [--runs 15]

Each sample is a fresh interpreter that imports one thing and prints how long the import took
(measured inside the process, so interpreter start-up is not counted). The baselines are what
the package cannot avoid: ``import httpx, pydantic`` for the client, and the two LangChain modules
the integration subclasses for ``copilot_tools.langchain``. Medians of interleaved runs, as
ratios in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._report import report

ROOT = Path(__file__).resolve().parents[1]
PAIRS = {
    "client import": ("import httpx, pydantic", "from copilot_tools import CopilotClient", 1.2),
    "langchain import": (
        "import langchain_core.language_models, langchain_core.tools",
        "import copilot_tools.langchain",
        1.1,
    ),
    # The lazy package above costs next to nothing until a class is used; this is what a program
    # that uses the chat model pays, against the two LangChain classes it subclasses and takes.
    "ChatCopilot import": (
        "from langchain_core.language_models import BaseChatModel; from langchain_core.tools import BaseTool",
        "from copilot_tools.langchain import ChatCopilot",
        1.1,
    ),
}


def sample(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_TOOLS_")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    for figure, (baseline, ours, goal) in PAIRS.items():
        sample(baseline), sample(ours)  # warm the bytecode and OS file caches
        base_samples, our_samples = [], []
        for _ in range(args.runs):  # interleaved, so load on the machine hits both alike
            base_samples.append(sample(baseline))
            our_samples.append(sample(ours))
        base, mine = statistics.median(base_samples), statistics.median(our_samples)
        print(f"{figure}: `{baseline}` {base * 1000:.0f} ms, `{ours}` {mine * 1000:.0f} ms (ratio {mine / base:.2f})")
        report(figure, mine / base, goal, f"{mine * 1000:.0f} ms vs {base * 1000:.0f} ms")


if __name__ == "__main__":
    main()
