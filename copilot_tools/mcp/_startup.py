"""The stdio server's start-up without the cyclic garbage collector's full passes.

Importing the MCP SDK, pydantic and this package, and building the server, leaves ~150,000
objects that live as long as the process, and almost nothing that is garbage (~0.7 MB of
cycles). CPython's collector still walks every tracked object in each full collection it starts
on the way (its trigger counts allocations, not garbage): the stdio start-up ran one or two of
them, 35-70 ms each on the 2-core benchmark machine, ~15% of the time from spawn to the first
``tools/call`` result. So the collector is paused while the server starts, and when it starts
serving, ``gc.freeze()`` moves what start-up built out of the collector's sight (the cycles
above with it, once) so that the collections the calls cause walk only what the calls create.
``benchmarks/mcp_startup.py``: 1.12x the bare ``MCPServer`` before, 0.89x after, in one run.

Only the ``copilot-tools mcp`` stdio process does this (``cli/mcp.py``); a program that builds
the server itself keeps its collector as it set it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_paused = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the block, or until ``resume_collector()`` (the server starts serving).

    Leaving the block any other way (a configuration error, an interrupt) turns it back on
    without freezing anything. A collector that was already off is left alone.
    """
    global _paused
    if not gc.isenabled():
        yield
        return
    gc.disable()
    _paused = True
    try:
        yield
    finally:
        if _paused:
            _paused = False
            gc.enable()


def resume_collector() -> None:
    """Freeze what start-up built and turn the collector back on, if ``collector_paused`` paused it."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
