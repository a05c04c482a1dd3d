"""How closely each client holds its total deadline against upstreams that never finish.

Measured, never asserted. Against the misbehaving loopback server of
``tests/unit/test_client_deadline.py``: a stream that sends an event every 0.1 s forever, a
``/chat`` body that trickles a byte every 0.05 s, and a ``/chat`` that is silent for 2 s; each
with ``deadline=1.0`` and ``timeout=5.0`` (the silence bound never fires). Prints the time each
call took to end with ``DeadlineExceededError``, as a ratio to the deadline.

    .venv/bin/python -m benchmarks.client_deadline
"""

from __future__ import annotations

import asyncio
import threading
import time

from copilot_tools import DeadlineExceededError
from tests.unit.test_client_deadline import CID, Misbehaving, QuietServer, aclient, client

DEADLINE = 1.0
CASES = (("stream, an event every 0.1 s", "ok", True), ("/chat, a byte every 0.05 s", "trickle", False),
         ("/chat, silent for 2 s", "slow=2", False))


def sync_call(base: str, mode: str, stream: bool) -> float:
    started = time.monotonic()
    try:
        with client(base, mode, deadline=DEADLINE, timeout=5.0) as c:
            if stream:
                list(c.stream(CID, "hi"))
            else:
                c.chat(CID, "hi")
    except DeadlineExceededError:
        pass
    return time.monotonic() - started


async def async_call(base: str, mode: str, stream: bool) -> float:
    started = time.monotonic()
    try:
        async with aclient(base, mode, deadline=DEADLINE, timeout=5.0) as c:
            if stream:
                async for _ in c.stream(CID, "hi"):
                    pass
            else:
                await c.chat(CID, "hi")
    except DeadlineExceededError:
        pass
    return time.monotonic() - started


def main() -> None:
    httpd = QuietServer(("127.0.0.1", 0), Misbehaving)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/beta"
    try:
        for name, mode, stream in CASES:
            sync_s, async_s = sync_call(base, mode, stream), asyncio.run(async_call(base, mode, stream))
            print(f"{name:30s} deadline {DEADLINE:.1f} s: sync ends after {sync_s:.2f} s "
                  f"(ratio {sync_s / DEADLINE:.2f}), async after {async_s:.2f} s (ratio {async_s / DEADLINE:.2f})")
    finally:
        Misbehaving.stop.set()
        httpd.shutdown()
        httpd.server_close()


if __name__ == "__main__":
    main()
