"""A host written with the TypeScript SDK (npm ``@modelcontextprotocol/sdk``, Node 20) over stdio.

The SDK's ``callTool`` validates every result's ``structuredContent`` against the tool's
``outputSchema`` and throws when it does not match, so each call below passing is the
check; each published schema is also compiled by Ajv in strict mode, which refuses the
constructs some hosts' validators trip on (``type: [X, "null"]`` among them). The
script is ``tests/mcp/node/ts_client.mjs``; the SDK is installed once into the test
cache (``tests.npm``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from copilot_tools.agent import all_tools
from tests.mcp.conftest import BUSINESS_MODEL, MEETING, ROOT, isolated_environment
from tests.npm import npm_install, require_node

SDK = "@modelcontextprotocol/sdk@1.32.2"
SCRIPT = Path(__file__).parent / "node" / "ts_client.mjs"


@pytest.fixture(scope="session")
def ts_sdk() -> Path:
    require_node("run the TypeScript SDK client")
    return npm_install("ts-sdk-1.32.2", [SDK], "node_modules/@modelcontextprotocol/sdk/package.json")


@pytest.fixture(scope="module")
def report(ts_sdk: Path, emulator: Any, isolated_env: dict[str, str]) -> dict[str, Any]:
    script = ts_sdk / SCRIPT.name
    # ESM resolves packages from the script's own directory; the cache is shared by concurrent test
    # runs, so the copy replaces the script in one step.
    staged = script.with_name(f"{script.name}.{os.getpid()}")
    shutil.copyfile(SCRIPT, staged)
    os.replace(staged, script)
    env = {**isolated_env, "COPILOT_TOOLS_ENDPOINT": emulator.base_url, "COPILOT_TOOLS_ACCESS_TOKEN": "test"}
    plan = {
        "command": [sys.executable, "-m", "copilot_tools", "mcp"],
        "env": env,
        "calls": {
            "ask_copilot": {"question": MEETING},
            "ask_with_files": {"question": "Summarize this document for me.", "files": [BUSINESS_MODEL]},
            "continue_conversation": {"conversation_id": "$conversation_id", "message": "Who organises it?"},
            "retrieve": {"query": "travel policy per diem", "max_results": 3},
            "verify_answer": {"conversation_id": "$conversation_id"},
            "whoami": {},
        },
        "prompts": {"catch_up": {"topic": "Q3 launch"}, "summarise_files": {"files": BUSINESS_MODEL}},
    }
    result = subprocess.run(["node", str(script), json.dumps(plan)], capture_output=True, text=True, cwd=ROOT,
                            env=env, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def isolated_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The shared ``isolated_env`` for this module's one server run."""
    return isolated_environment(tmp_path_factory.mktemp("home"))


def test_every_tool_result_matches_its_output_schema(report: dict[str, Any]) -> None:
    assert set(report["tools"]) == {spec.name for spec in all_tools()}
    assert set(report["calls"]) == set(report["tools"])
    for name, call in report["calls"].items():
        assert call["validated"] and not call["isError"], (name, call)
    assert all(tool["hasOutputSchema"] and tool["icons"] for tool in report["tools"].values())


def test_every_schema_compiles_in_a_strict_validator(report: dict[str, Any]) -> None:
    for name, tool in report["tools"].items():
        assert tool["compiled"] == {"inputSchema": "ok", "outputSchema": "ok"}, name
        assert tool["notPortable"] == [], name
    assert report["strictWarnings"] == []


def test_results_carry_the_notice_and_their_sources_as_links(report: dict[str, Any]) -> None:
    for name in ("ask_copilot", "ask_with_files", "continue_conversation", "retrieve"):
        call = report["calls"][name]
        assert "not instructions" in call["notice"] and "not instructions" in call["text"]
        assert call["links"], name
        assert all(link["uri"].startswith("https://") and link["title"] for link in call["links"])
    assert report["calls"]["ask_with_files"]["links"][0]["mimeType"].endswith("wordprocessingml.document")
    assert report["tools"]["ask_copilot"]["annotations"]["readOnlyHint"] is False
    assert report["tools"]["retrieve"]["annotations"]["readOnlyHint"] is True


def test_prompts_are_listed_and_fetched(report: dict[str, Any]) -> None:
    assert set(report["prompts"]) == {"prepare_for_meeting", "catch_up", "summarise_files"}
    assert all(prompt["messages"] == 1 and prompt["title"] for prompt in report["prompts"].values())
    assert "Q3 launch" in report["prompts"]["catch_up"]["text"]
    assert report["errors"]["unknownPrompt"]["code"] == -32602
