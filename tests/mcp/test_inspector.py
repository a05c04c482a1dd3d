"""A real MCP host drives the server: the MCP Inspector's CLI mode over stdio.

The Inspector (npm ``@modelcontextprotocol/inspector``, v1: it runs on Node 20) is
installed once into the test cache (``tests.mcp.npm``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from copilot_tools.agent import all_tools
from tests.mcp.conftest import MEETING, ROOT
from tests.mcp.npm import npm_install, require_node

INSPECTOR = "@modelcontextprotocol/inspector@1.0.3"


@pytest.fixture(scope="session")
def inspector() -> Path:
    """The ``mcp-inspector`` executable, installed with npm on first use."""
    require_node("run the MCP Inspector")
    return npm_install("inspector-1.0.3", [INSPECTOR], "node_modules/.bin/mcp-inspector") / "node_modules/.bin/mcp-inspector"


def run_inspector(inspector: Path, env: dict[str, str], *method: str) -> Any:
    command = [str(inspector), "--cli"]
    for key in ("COPILOT_TOOLS_ENDPOINT", "COPILOT_TOOLS_TIME_ZONE", "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
                "PYTHONPATH"):
        command += ["-e", f"{key}={env[key]}"]
    command += [sys.executable, "-m", "copilot_tools", "mcp", *method]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_inspector_lists_the_tools(inspector: Path, emulator: Any, isolated_env: dict[str, str]) -> None:
    env = {**isolated_env, "COPILOT_TOOLS_ENDPOINT": emulator.base_url}
    listed = run_inspector(inspector, env, "--method", "tools/list")
    tools = {tool["name"]: tool for tool in listed["tools"]}
    assert set(tools) == {spec.name for spec in all_tools()}
    assert tools["ask_copilot"]["annotations"]["readOnlyHint"] is False  # it adds to the user's history
    assert tools["ask_copilot"]["outputSchema"]["required"][:2] == ["notice", "answer"]


def test_inspector_calls_ask_copilot(inspector: Path, emulator: Any, isolated_env: dict[str, str]) -> None:
    env = {**isolated_env, "COPILOT_TOOLS_ENDPOINT": emulator.base_url}
    result = run_inspector(inspector, env, "--method", "tools/call", "--tool-name", "ask_copilot",
                           "--tool-arg", f"question={MEETING}")
    assert not result.get("isError"), result
    assert result["structuredContent"]["turn_count"] == 1
    assert any(c["title"] == "Contoso Engineering Standup" for c in result["structuredContent"]["citations"])
    assert "Contoso Engineering Standup" in result["content"][0]["text"]
