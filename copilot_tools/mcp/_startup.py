"""The stdio server's start-up without the cyclic garbage collector's full passes.

Importing the MCP SDK, pydantic and this package, and building the server, leaves ~150,000
objects that live as long as the process, and almost nothing that is garbage (~0.7 MB of
cycles). CPython's collector still walks every tracked object in each full collection it starts
on the way (its trigger counts allocations, not garbage): the stdio start-up ran one or two of
them, 35-70 ms each on the 2-core benchmark machine, ~15% of the time from spawn to the first
``tools/call`` result. So the collector is paused while the server starts, and when it starts
serving, ``gc.freeze()`` moves what start-up built out of the collector's sight (the cycles
above with it, once) so that the collections the calls cause walk only what the calls create.
``benchmarks/mcp_startup.py``, in the same runs: 1.26-1.38x the bare ``MCPServer`` without the
pause, 1.05-1.08x with it (0.8-0.9x when the machine is loaded, as collections cost more then).

The same process also goes without httpx's command-line client (``stdio_start_up``).

Only the ``copilot-tools mcp`` stdio process does this (``cli/mcp.py``); a program that builds
the server itself keeps its collector, and its httpx, as it set them.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_paused = False


@contextmanager
def stdio_start_up() -> Iterator[None]:
    """The start-up of the stdio server process: no httpx CLI, and the collector paused (see above)."""
    _without_httpx_cli()
    with collector_paused():
        yield


def _without_httpx_cli() -> None:
    """Keep ``import httpx`` (the SDK's, the client's) from importing httpx's command-line client.

    ``httpx/__init__`` runs ``from ._main import main`` whenever its CLI's dependencies are installed,
    and they are (rich comes with this package, click with uvicorn): pygments' lexers and rich's
    syntax, table and progress modules, for a command this process never runs (benchmarks/mcp_startup.py:
    1.05-1.06x with the paused collector alone, 1.03-1.04x with this too, in the same runs). A ``None``
    in ``sys.modules`` makes that import raise ``ImportError`` (the import system's documented way to
    block one), which httpx answers with its "CLI not installed" ``main``. Nothing else of httpx
    changes; done only before httpx is first imported.
    """
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None blocks the import


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
