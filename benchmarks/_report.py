"""One machine-readable line per figure, so ``benchmarks/run_all.py`` can build the table.

Every benchmark prints its own human-readable lines and, for each figure the project tracks,
one ``BENCH {json}`` line: the figure's name, the ratio against its baseline measured in the
same run, the goal (the ratio it should stay at or below, or at or above when ``higher`` is
set) and a short detail. Nothing is asserted: figures are read, never enforced in tests.
"""

from __future__ import annotations

import json

PREFIX = "BENCH "


def report(figure: str, ratio: float, goal: float | None, detail: str = "", *, higher: bool = False) -> None:
    """Print the figure's ``BENCH`` line (stdout, flushed)."""
    record = {"figure": figure, "ratio": round(ratio, 3), "goal": goal, "higher": higher, "detail": detail}
    print(PREFIX + json.dumps(record), flush=True)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank; NaN when there are none)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
