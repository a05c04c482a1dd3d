"""examples/langchain_agent.py end to end: its scripted model drives a real agent with Copilot's tools."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from copilot_tools.langchain import CopilotToolkit
from tests.langchain.standard_cases import MEETING

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "langchain_agent.py"


def load_example(path: Path = EXAMPLE) -> Any:
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> Any:
    return load_example()


async def test_the_tools_artifact_with_citations_reaches_the_agents_state(
    example, copilot_client, async_copilot_client
) -> None:
    toolkit = CopilotToolkit(client=copilot_client, async_client=async_copilot_client)
    agent = example.build_agent(example.ScriptedModel(), toolkit)
    expected = copilot_client.ask(MEETING)
    for state in (example.ask(agent, MEETING), await agent.ainvoke({"messages": [("user", MEETING)]})):
        [tool_message] = [m for m in state["messages"] if isinstance(m, ToolMessage)]
        assert tool_message.name == "ask_copilot" and tool_message.status == "success"
        assert tool_message.artifact["citations"] == expected.structured()["citations"]
        assert example.copilot_citations(state) == expected.structured()["citations"]
        assert any("teams.microsoft.com" in (c["url"] or "") for c in example.copilot_citations(state))
        assert state["messages"][-1].text == f"Copilot says: {expected.text.splitlines()[0]}"
    json.dumps(tool_message.artifact)  # the artifact is plain JSON, fit for any checkpointer


def test_the_script_runs_offline_on_a_fresh_checkout(tmp_path: Path) -> None:
    """As a user runs it: no model named, no tenant, no key; it starts its own emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOT_TOOLS_", "AGENT_MODEL", "OPENAI"))}
    env["COPILOT_TOOLS_CONFIG"] = str(tmp_path / "absent.toml")
    result = subprocess.run([sys.executable, str(EXAMPLE), MEETING], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=90, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Copilot says: ")
    assert "Copilot's sources:\n  [1] " in result.stdout and "teams.microsoft.com" in result.stdout


def test_a_named_model_is_built_with_init_chat_model(example, monkeypatch) -> None:
    monkeypatch.delenv("AGENT_MODEL", raising=False)
    with pytest.raises(ValueError, match="(?i)unable to infer|provider"):
        example.main(["--model", "no-such-provider-model", "--emulator", MEETING])
