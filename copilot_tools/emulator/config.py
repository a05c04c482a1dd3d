"""How an emulator is started: which folder it serves, how it streams, what it breaks.

One frozen dataclass shared by the ASGI app, the in-process server and the command
line, validated on construction so that a bad option fails at start-up with a message
rather than on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from copilot_tools.emulator.faults import parse_faults

Layout = Literal["captured", "strict", "pretty", "compact"]
LAYOUTS: tuple[str, ...] = ("captured", "strict", "pretty")
#: Old names that keep working: ``compact`` was ``strict``'s name before the capture was read.
LAYOUT_ALIASES: dict[str, str] = {"compact": "strict"}


def layout_named(name: str) -> str:
    """The layout ``name`` means (case and spaces ignored, aliases resolved); ValueError if none."""
    key = name.strip().lower()
    key = LAYOUT_ALIASES.get(key, key)
    if key not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {name!r}")
    return key


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Options of one emulator.

    - ``corpus``: the folder to answer from; None serves the bundled Contoso tenant.
    - ``token``: when set, only ``Authorization: Bearer <token>`` is accepted; otherwise
      any non-empty bearer token is (there is no real identity to check).
    - ``layout``: how streams look (``streaming``'s docstring, ``docs/emulator.md``):
      ``captured`` (default) as Microsoft's raw capture shows the service sending them,
      ``strict`` as spec-conforming SSE (``compact`` is an alias), ``pretty`` as the
      reference prints them (JSON over many lines after one ``data:``).
    - ``words_per_event`` / ``event_delay``: how fast a streamed reply grows.
    - ``latency_ms``: a fixed delay before every answer (benchmarks, slow-network tests).
    - ``faults``: fault specs applied to every request (see ``faults``'s docstring).
    - ``seed``: makes generated ids reproducible.
    - ``now``: a fixed "now" for calendar questions (reproducible answers); None = the clock.
    - ``max_conversations``: the oldest conversations are forgotten beyond this (then 404).
    """

    corpus: Path | None = None
    token: str | None = None
    layout: Layout = "captured"
    words_per_event: int = 8
    event_delay: float = 0.02
    latency_ms: int = 0
    faults: tuple[str, ...] = field(default_factory=tuple)
    seed: int | None = None
    now: datetime | None = None
    max_conversations: int = 10_000

    def __post_init__(self) -> None:
        if self.corpus is not None and not isinstance(self.corpus, Path):
            object.__setattr__(self, "corpus", Path(self.corpus))
        if isinstance(self.faults, str):
            object.__setattr__(self, "faults", (self.faults,))
        else:
            object.__setattr__(self, "faults", tuple(self.faults))
        object.__setattr__(self, "layout", layout_named(self.layout))
        if self.words_per_event < 1:
            raise ValueError("words_per_event must be at least 1")
        if self.event_delay < 0 or self.latency_ms < 0:
            raise ValueError("event_delay and latency_ms cannot be negative")
        if self.token is not None and not self.token.strip():
            raise ValueError("token cannot be empty; leave it out to accept any token")
        if self.now is not None and self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware, e.g. datetime(..., tzinfo=timezone.utc)")
        if self.max_conversations < 1:
            raise ValueError("max_conversations must be at least 1")
        for spec in self.faults:
            parse_faults(spec)  # raises ValueError naming the bad part
