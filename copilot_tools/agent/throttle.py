"""Throttling inside a tool call: never wait longer than a host would.

A host gives up on a tool call it hears nothing from after about 60 s (the TypeScript
SDK's default request timeout), and the service can ask for 25 s and more between
attempts. Inside ``throttle_budget(ctx)`` each retry wait of the client is reported as
progress ("throttled, retrying in 12 s", counting down), and a wait that would take the
call past ``ctx.throttle_budget`` seconds (counted from ``ctx.started``) is not waited:
the throttled error comes back at once, with ``retry_after``, for the model to decide.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

import anyio

from copilot_tools._backoff import observe_backoff
from copilot_tools.agent.spec import ToolContext
from copilot_tools.errors import CopilotError, ThrottledError

#: Seconds between two progress reports while a wait counts down.
TICK = 5.0


@contextmanager
def throttle_budget(ctx: ToolContext) -> Iterator[None]:
    """Report and bound the client's retry waits for the calls made inside the block."""

    async def wait(seconds: float, cause: CopilotError | None) -> None:
        budget = ctx.throttle_budget
        if budget is not None and cause is not None and time.monotonic() - ctx.started + seconds > budget:
            raise cause
        what = ("Throttled by Copilot" if isinstance(cause, ThrottledError)
                else "Copilot is busy" if cause is not None else "The connection failed")
        remaining = seconds
        while remaining > 0:
            await ctx.report(f"{what}, retrying in {math.ceil(remaining)} s")
            step = min(remaining, TICK)
            await anyio.sleep(step)
            remaining -= step

    with observe_backoff(wait):
        yield
