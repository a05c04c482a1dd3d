"""Start-up stays cheap: ``--help`` and ``ask`` never import LangChain, the MCP SDK or the emulator."""

from __future__ import annotations

import re

import pytest

from tests.cli.conftest import MEETING, Run

HEAVY = (
    "langchain_core", "mcp", "copilot_tools.emulator", "copilot_tools.mcp", "copilot_tools.langchain",
    "uvicorn", "starlette",
)


def imported(stderr: str) -> set[str]:
    """Module names from ``python -X importtime`` output."""
    return {m.group(1).strip() for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|(.*)$", stderr, re.MULTILINE)}


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


@pytest.mark.parametrize("args", [("--help",), ("ask", "--help"), ("chat", "--help"), ("config",)])
def test_help_imports_nothing_heavy(run: Run, args: tuple[str, ...]) -> None:
    result = run(*args, python_flags=("-X", "importtime"))
    assert result.returncode == 0, result.stderr[-2000:]
    modules = imported(result.stderr)
    assert "copilot_tools.cli" in modules
    assert heavy(modules) == set()


def test_ask_imports_nothing_heavy(on_emulator: Run) -> None:
    result = on_emulator("ask", MEETING, python_flags=("-X", "importtime"))
    assert result.returncode == 0, result.stderr[-2000:]
    modules = imported(result.stderr)
    assert "copilot_tools.client" in modules
    assert heavy(modules) == set()
