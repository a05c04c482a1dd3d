"""Fixtures shared by every test package.

``emulator``: one Copilot API emulator for the whole session, on a free loopback port in
a background thread, serving the bundled Contoso tenant. Its streams grow fast and
without pauses so that tests stay quick; faults are asked for per request with the
``x-emulator-fault`` header (give each use a unique ``key=`` when it has a ``count=``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from copilot_tools.emulator import EmulatorConfig, EmulatorServer


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """A running ``EmulatorServer``: ``.base_url`` is ``http://127.0.0.1:PORT/beta``, ``.root_url`` without ``/beta``."""
    # A fixed Monday morning, so "9 AM tomorrow" has the weekday standup whatever day CI runs.
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    with EmulatorServer(EmulatorConfig(words_per_event=12, event_delay=0.0, now=now)) as server:
        yield server
