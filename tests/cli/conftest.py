"""Run ``copilot-tools`` commands, isolated from the user.

``run`` calls ``copilot_tools.cli.main(argv)`` in this process with the environment, stdin,
stdout and stderr a real run would have (a process start costs more than most commands);
``run_process`` starts the real entry point (``python -m copilot_tools``) for what only a
process shows: start-up imports, the interpreter's flags, the exit status of the console script.

Every run gets a temporary HOME, XDG directories and config path, so neither the
user's config file nor their chat history is ever read or written, and no
``COPILOT_TOOLS_*`` variable leaks in from the environment running the tests.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from copilot_tools.cli import main
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


def _environment(cli_env: Mapping[str, str], env: Mapping[str, str | None] | None) -> dict[str, str]:
    environment = dict(cli_env)
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    return environment


@pytest.fixture
def run_process(cli_env: dict[str, str]) -> Run:
    """``run_process("ask", "question", env={...}, input="...")`` -> CompletedProcess of the real entry point."""

    def _run(*args: str, env: Mapping[str, str | None] | None = None, input: str | None = None,
             python_flags: tuple[str, ...] = (), timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *python_flags, "-m", "copilot_tools", *args],
            check=False, env=_environment(cli_env, env), input=input if input is not None else "",
            capture_output=True, text=True, encoding="utf-8", timeout=timeout,
        )

    return _run


def _text_stream(data: bytes = b"") -> io.TextIOWrapper:
    """A pipe as a command sees one: UTF-8 text over bytes, not a terminal."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", write_through=True)


def run_in_process(args: Sequence[str], environment: Mapping[str, str], input: str) -> subprocess.CompletedProcess[str]:
    """``main(args)`` with this environment and stdin, as ``python -m copilot_tools`` would run it.

    The loggers ``-v`` configures are put back afterwards, as a new process would start
    without them; an exception that escapes ``main`` is printed and exits 1, as Python does.
    """
    loggers = [logging.getLogger(name) for name in ("copilot_tools", "hpack")]
    saved = [(logger.handlers[:], logger.level) for logger in loggers]
    stdout, stderr = _text_stream(), _text_stream()
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k not in environment]:
            patch.delenv(key)
        for key, value in environment.items():
            patch.setenv(key, value)
        patch.setattr(sys, "stdin", _text_stream(input.encode("utf-8")))
        patch.setattr(sys, "stdout", stdout)
        patch.setattr(sys, "stderr", stderr)
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse: usage errors and --help
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except Exception:  # noqa: BLE001 - what the interpreter does with an uncaught exception
            traceback.print_exc(file=stderr)
            code = 1
        finally:
            for logger, (handlers, level) in zip(loggers, saved, strict=True):
                logger.handlers[:] = handlers
                logger.setLevel(level)
    out, err = (stream.buffer.getvalue().decode("utf-8") for stream in (stdout, stderr))  # type: ignore[attr-defined]
    return subprocess.CompletedProcess(["copilot-tools", *args], code, out, err)


@pytest.fixture
def run(cli_env: dict[str, str], run_process: Run) -> Run:
    """``run("ask", "question", env={...}, input="...")`` -> CompletedProcess (never raises).

    In this process; with ``python_flags`` (which only an interpreter takes), in a new one.
    """

    def _run(*args: str, env: Mapping[str, str | None] | None = None, input: str | None = None,
             python_flags: tuple[str, ...] = (), timeout: float = 60) -> subprocess.CompletedProcess[str]:
        if python_flags:
            return run_process(*args, env=env, input=input, python_flags=python_flags, timeout=timeout)
        return run_in_process(args, _environment(cli_env, env), input if input is not None else "")

    return _run


@pytest.fixture
def on_emulator(run: Run, emulator: EmulatorServer) -> Run:
    """``run`` with ``COPILOT_TOOLS_ENDPOINT`` pointing at the shared emulator."""

    def _run(
        *args: str, env: Mapping[str, str | None] | None = None, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        return run(*args, env={"COPILOT_TOOLS_ENDPOINT": emulator.base_url, **(env or {})}, **kwargs)

    return _run
