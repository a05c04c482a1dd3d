"""Import time of the package's entry points against the libraries they stand on.

    .venv/bin/python benchmarks/import_time.py [--runs 15]

Each sample is a fresh interpreter that imports one thing and prints how long the import took
(measured inside the process, so interpreter start-up is not counted). The baselines are what
the package cannot avoid: ``import httpx, pydantic`` for the client, and the two LangChain modules
the integration subclasses for ``copilot_tools.langchain``. Medians of interleaved runs, as
ratios in the same run.

Two more rows, without goals, put the client's figure in context:

- against ``import httpx, pydantic; from pydantic import BaseModel``: ``import pydantic`` is lazy
  and loads no model machinery; defining a first model does (``pydantic.main``, ``pydantic.fields``,
  ``pydantic.types``, ``annotated_types``: the line printed with it shows what that adds again). The
  client's import defines none: its models (``Settings``, ``Answer``, the wire models) and the code
  that uses them load with the first ``CopilotClient(...)`` (``copilot_tools.client`` says how), so
  this row shows what the import saves by that;
- what a program pays before its first answer: the import, ``CopilotClient(...)`` and the first
  ``ask()`` against a canned server on loopback, against bare httpx (create, ``/chat``,
  ``json.loads``) in the same run. Its phases show where the models load: in the construction, not
  in the first ask (``CopilotClient()`` took ~50 ms, as ``httpx.Client()`` ~40, until the import
  stopped loading them; now ~115 ms, while the import fell from ~150 to ~95 ms).

Samples run without ``PYTHONDONTWRITEBYTECODE`` (as ``run_all.py`` runs every benchmark), so the
warm-up writes the package's bytecode caches: an installed package has them (pip compiles what it
installs), and compiling its sources in every sample charged ~30 ms that no user pays.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
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
#: The client's second baseline: what a package that defines a pydantic model at import pays.
MODELS_BASELINE = "import httpx, pydantic; from pydantic import BaseModel"
#: ... and what defining its first model adds to that (printed only).
FIRST_MODEL = MODELS_BASELINE + "\nclass Model(BaseModel):\n    model_config = {'defer_build': True}\n    x: int"

# First use: each prints its phases' wall-clock seconds, then the CPU seconds of all three.
# ``{url}`` is the canned server's base URL.
FIRST_USE = """import time
c0, t0 = time.process_time(), time.perf_counter()
from copilot_tools import CopilotClient
t1 = time.perf_counter()
client = CopilotClient(base_url={url!r}, token="bench", time_zone="UTC")
t2 = time.perf_counter()
answer = client.ask("What is on my calendar?")
t3 = time.perf_counter()
assert answer.text
print(t1 - t0, t2 - t1, t3 - t2, time.process_time() - c0)
"""
BARE_FIRST_USE = """import time
c0, t0 = time.process_time(), time.perf_counter()
import httpx, json
t1 = time.perf_counter()
client = httpx.Client(headers={{"Authorization": "Bearer bench"}})
t2 = time.perf_counter()
created = json.loads(client.post({url!r} + "/copilot/conversations", json={{}}).content)
reply = client.post({url!r} + f"/copilot/conversations/{{created['id']}}/chat",
                    json={{"message": {{"text": "What is on my calendar?"}}, "locationHint": {{"timeZone": "UTC"}}}})
assert json.loads(reply.content)["messages"]
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, time.process_time() - c0)
"""


def environment() -> dict[str, str]:
    """No ``COPILOT_TOOLS_*`` settings, an empty config directory, and bytecode caches written."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("COPILOT_TOOLS_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_CONFIG_HOME"] = tempfile.gettempdir() + "/copilot-tools-bench-no-config"
    env["NO_PROXY"] = "*"
    return env


def run(code: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment(), capture_output=True,
                         text=True, check=True)
    return [float(value) for value in out.stdout.strip().splitlines()[-1].split()]


def sample(statement: str) -> list[float]:
    """Wall-clock and CPU seconds of ``statement`` in a fresh interpreter."""
    return run(f"import time\nt, c = time.perf_counter(), time.process_time()\n{statement}\n"
               "print(time.perf_counter() - t, time.process_time() - c)")


def medians(statements: list[str], runs: int) -> list[tuple[float, float]]:
    """The median wall-clock and CPU seconds of ``runs`` samples of each statement, interleaved so load on
    the machine hits all alike. The figures are wall-clock; the CPU times, which waiting for a core on a
    loaded machine does not inflate, go in the detail (on the shared benchmark machine the wall-clock
    baseline has ranged from 100 to 250 ms within an hour)."""
    for statement in statements:
        sample(statement)  # warm the bytecode and OS file caches
    samples: list[list[list[float]]] = [[] for _ in statements]
    for _ in range(runs):
        for taken, statement in zip(samples, statements, strict=True):
            taken.append(sample(statement))
    return [(statistics.median(t[0] for t in taken), statistics.median(t[1] for t in taken)) for taken in samples]


def first_use(runs: int) -> None:
    """Import, construction and first ``ask()``, against bare httpx doing the same two requests."""
    from benchmarks._canned_server import CannedServer

    with CannedServer() as server:
        codes = [FIRST_USE.format(url=server.base_url), BARE_FIRST_USE.format(url=server.base_url)]
        for code in codes:
            run(code)
        ours: list[list[float]] = []
        bare: list[list[float]] = []
        for _ in range(runs):
            ours.append(run(codes[0]))
            bare.append(run(codes[1]))
    mine = [statistics.median(phase) for phase in zip(*ours, strict=True)]
    base = [statistics.median(phase) for phase in zip(*bare, strict=True)]
    total = statistics.median(sum(phases[:3]) for phases in ours)
    base_total = statistics.median(sum(phases[:3]) for phases in bare)
    detail = (f"import {mine[0] * 1000:.0f} + CopilotClient() {mine[1] * 1000:.1f} + first ask {mine[2] * 1000:.0f}"
              f" = {total * 1000:.0f} ms; bare httpx {base[0] * 1000:.0f} + {base[1] * 1000:.1f} + "
              f"{base[2] * 1000:.0f} = {base_total * 1000:.0f} ms (CPU time: {mine[3] * 1000:.0f} ms vs "
              f"{base[3] * 1000:.0f} ms)")
    print(f"client first use: {detail}")
    report("client first use (import, construction, first ask)", total / base_total, None, detail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    for figure, (baseline, ours, goal) in PAIRS.items():
        client = figure == "client import"
        timed = medians([baseline, ours, *((MODELS_BASELINE, FIRST_MODEL) if client else ())], args.runs)
        (base, base_cpu), (mine, mine_cpu) = timed[:2]
        print(f"{figure}: `{baseline}` {base * 1000:.0f} ms, `{ours}` {mine * 1000:.0f} ms (ratio {mine / base:.2f}; "
              f"CPU {mine_cpu * 1000:.0f} ms vs {base_cpu * 1000:.0f} ms, {mine_cpu / base_cpu:.2f})")
        report(figure, mine / base, goal,
               f"{mine * 1000:.0f} ms vs {base * 1000:.0f} ms (CPU time: {mine_cpu / base_cpu:.2f})")
        if client:
            (models, models_cpu), (first_model, first_model_cpu) = timed[2:]
            print(f"{figure}: `{MODELS_BASELINE}` {models * 1000:.0f} ms (ratio {mine / models:.2f}; CPU "
                  f"{mine_cpu / models_cpu:.2f}); defining its first model: {first_model * 1000:.0f} ms "
                  f"(CPU: ours {mine_cpu / first_model_cpu:.2f} of that)")
            report(f"{figure} vs httpx + pydantic BaseModel", mine / models, None,
                   f"{mine * 1000:.0f} ms vs {models * 1000:.0f} ms (CPU time: {mine_cpu / models_cpu:.2f}); "
                   f"with one model defined {first_model * 1000:.0f} ms (CPU: {mine_cpu / first_model_cpu:.2f})")
            first_use(args.runs)


if __name__ == "__main__":
    main()
