"""Ids and timestamps in the service's spelling.

Ids are random uuid4s, or reproducible ones when the emulator is started with a seed
(so a recorded session can be replayed byte for byte, timestamps aside). Timestamps are
written as Graph writes them: UTC, seven fractional digits, ``Z``.
"""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime


class IdSource:
    """uuid4 strings; seeded, the sequence is the same on every run (thread-safe)."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed) if seed is not None else None
        self._lock = threading.Lock()

    def new(self) -> str:
        if self._random is None:
            return str(uuid.uuid4())
        with self._lock:
            bits = self._random.getrandbits(128)
        return str(uuid.UUID(int=bits, version=4))


def utc_now() -> datetime:
    return datetime.now(UTC)


def graph_time(moment: datetime) -> str:
    """``2025-09-30T15:28:46.1560060Z``: .NET's seven digits (Python keeps microseconds)."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"
