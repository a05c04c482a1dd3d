"""Fixtures shared by every test package.

``emulator``: one Copilot API emulator for the whole session, on a free loopback port in
a background thread, serving the bundled Contoso tenant. Its streams grow fast and
without pauses so that tests stay quick; faults are asked for per request with the
``x-emulator-fault`` header (give each use a unique ``key=`` when it has a ``count=``).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme

from copilot_tools.emulator import EmulatorConfig, EmulatorServer

# The emulators' clock: a fixed Monday morning, so "9 AM tomorrow" has the weekday standup whatever
# day CI runs.
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, *, check: bool = False) -> subprocess.CompletedProcess[str]:
    """``python -c code`` (dedented) in a fresh interpreter at the project root: what a cold start
    imports, logs and prints."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, check=check)


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """A running ``EmulatorServer``: ``.base_url`` is ``http://127.0.0.1:PORT/beta``, ``.root_url`` without
    ``/beta``."""
    with EmulatorServer(EmulatorConfig(words_per_event=12, event_delay=0.0, now=NOW)) as server:
        yield server


@pytest.fixture(autouse=True)
def _loggers_as_a_new_process_has_them() -> Iterator[None]:
    """Undo what a test's in-process ``main(["-v", …])`` did to the loggers: its handler writes to whatever
    ``sys.stderr`` is, so it printed INFO lines into a later test's captured stderr. With the tests in
    one order this never showed; under pytest-xdist any test can follow any other."""
    loggers = [logging.getLogger(name) for name in ("copilot_tools", "hpack")]
    saved = [(logger.handlers[:], logger.level) for logger in loggers]
    yield
    for logger, (handlers, level) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)


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


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Iterator[None]:
    """Under pytest-xdist (``--dist loadgroup``), keep the tests that share an expensive fixture on one worker.

    Each worker is a session of its own, so a module- or session-scoped fixture is set up once per worker
    that runs a test needing it. Tests that use a session fixture from a sub-package (the built wheel, an
    npm tool) are grouped by that fixture; tests that use a module fixture (replica processes, a fresh
    ``./dev`` environment, a server) by their module. Everything else is spread one test at a time. The
    root fixtures above (``emulator``, ``ca``) are cheap and stay per worker. Outside xdist workers: a no-op.
    """
    worker = hasattr(config, "workerinput")
    groups = {item: _shared_fixture_group(item) for item in items} if worker else {}
    for item, group in groups.items():
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    yield  # xdist's own hook names the group in the node id: ``…::test@group``
    for item, group in groups.items():
        if group is not None and not item.nodeid.endswith(f"@{group}"):
            _rename(item, f"{item.nodeid}@{group}")


def _rename(item: pytest.Item, nodeid: str) -> None:
    """What xdist 3.8 does with ``item._nodeid``, which pytest 9.2 no longer reads (it keeps a ``NodeId``)."""
    try:
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(nodeid)
    except (ImportError, AttributeError):  # a pytest before 9.2 (or after, should this move again)
        item._nodeid = nodeid  # type: ignore[attr-defined]


def _shared_fixture_group(item: pytest.Item) -> str | None:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    session: list[str] = []
    module = False
    for name in item.fixturenames:  # type: ignore[attr-defined]
        definitions = info.name2fixturedefs.get(name)
        if not definitions:
            continue
        definition = definitions[-1]
        where = getattr(getattr(definition, "func", None), "__module__", "")
        if not where.startswith("tests.") or where == __name__:
            continue  # a plugin's fixture, or one of the cheap ones above
        if definition.scope == "session":
            session.append(name)
        elif definition.scope in ("module", "package"):
            module = True
    if session:
        return f"session-{min(session)}"
    if module:
        return item.nodeid.split("::", 1)[0]
    return None
