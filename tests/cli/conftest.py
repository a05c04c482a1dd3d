"""Run the real ``copilot-tools`` entry point in a subprocess, isolated from the user.

Every run gets a temporary HOME, XDG directories and config path, so neither the
user's config file nor their chat history is ever read or written, and no
``COPILOT_TOOLS_*`` variable leaks in from the environment running the tests.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from copilot_tools.emulator import EmulatorServer

#: A loopback port nothing listens on: a command pointed here that still exits with a
#: usage error (2) provably failed before sending any request (else: network error, 1).
CLOSED_ENDPOINT = "http://127.0.0.1:9/beta"
MEETING = "What meeting do I have at 9 AM on Monday?"  # the standup, whatever day the tests run
_keys = itertools.count()

Run = Callable[..., subprocess.CompletedProcess[str]]


def fault(spec: str) -> str:
    """An ``x-emulator-fault`` header unique to one use, so its ``count=`` is this test's alone."""
    return f"x-emulator-fault: {spec};key=cli{os.getpid()}-{next(_keys)}"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    for name in ("home", "config", "data", "cache", "state"):
        (tmp_path / name).mkdir()
    return tmp_path


@pytest.fixture
def cli_env(home: Path) -> dict[str, str]:
    """The environment of a command: the test runner's minus anything copilot-tools reads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_TOOLS_")}
    env.update({
        "HOME": str(home / "home"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        "COPILOT_TOOLS_CONFIG": str(home / "config" / "copilot-tools.toml"),
        "COPILOT_TOOLS_TIME_ZONE": "America/New_York",
        "PYTHONIOENCODING": "utf-8",
        "NO_COLOR": "1",
        "COLUMNS": "100",
    })
    env.pop("PYTHONWARNINGS", None)
    return env


@pytest.fixture
def run(cli_env: dict[str, str]) -> Run:
    """``run("ask", "question", env={...}, input="...")`` -> CompletedProcess (never raises)."""

    def _run(*args: str, env: Mapping[str, str | None] | None = None, input: str | None = None,
             python_flags: tuple[str, ...] = (), timeout: float = 60) -> subprocess.CompletedProcess[str]:
        environment = dict(cli_env)
        for key, value in (env or {}).items():
            if value is None:
                environment.pop(key, None)
            else:
                environment[key] = value
        return subprocess.run(
            [sys.executable, *python_flags, "-m", "copilot_tools", *args],
            check=False, env=environment, input=input if input is not None else "", capture_output=True,
            text=True, encoding="utf-8", timeout=timeout,
        )

    return _run


@pytest.fixture
def on_emulator(run: Run, emulator: EmulatorServer) -> Run:
    """``run`` with ``COPILOT_TOOLS_ENDPOINT`` pointing at the shared emulator."""

    def _run(*args: str, env: Mapping[str, str | None] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return run(*args, env={"COPILOT_TOOLS_ENDPOINT": emulator.base_url, **(env or {})}, **kwargs)

    return _run
