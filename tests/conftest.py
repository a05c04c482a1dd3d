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
import trustme

from copilot_tools.emulator import EmulatorConfig, EmulatorServer


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """A running ``EmulatorServer``: ``.base_url`` is ``http://127.0.0.1:PORT/beta``, ``.root_url`` without
    ``/beta``."""
    # A fixed Monday morning, so "9 AM tomorrow" has the weekday standup whatever day CI runs.
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    with EmulatorServer(EmulatorConfig(words_per_event=12, event_delay=0.0, now=now)) as server:
        yield server


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A throwaway certificate authority for the TLS stand-ins of Microsoft's sign-in service."""
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """That authority's certificate as a PEM file (for COPILOT_TOOLS_CA_BUNDLE)."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)
