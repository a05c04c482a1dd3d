"""examples/langchain_agent.py end to end: a scripted model drives a real agent with Copilot's tools."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from copilot_tools.langchain import CopilotToolkit
from tests.langchain.test_standard_unit import MEETING

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "langchain_agent.py"


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("langchain_agent_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ScriptedAgentModel(BaseChatModel):
    """Stands in for the agent's LLM: asks Copilot, then answers from what the tool returned."""

    bound_tools: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted-agent-model"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedAgentModel:
        self.bound_tools = [t.name for t in tools]
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        results = [m for m in messages if isinstance(m, ToolMessage)]
        if not results:
            call = {"name": "ask_copilot", "args": {"question": MEETING}, "id": "call-1", "type": "tool_call"}
            message = AIMessage("", tool_calls=[call])
        else:
            # The first line of the answer itself: the one after the opening spotlighting marker.
            lines = results[-1].content.splitlines()
            opening = next(i for i, line in enumerate(lines) if line.startswith("<<untrusted-"))
            message = AIMessage(f"Copilot says: {lines[opening + 1]}")
        return ChatResult(generations=[ChatGeneration(message=message)])


@pytest.fixture(scope="module")
def example() -> Any:
    return load_example()


async def test_the_tools_artifact_with_citations_reaches_the_agents_state(
    example, copilot_client, async_copilot_client
) -> None:
    model = ScriptedAgentModel()
    toolkit = CopilotToolkit(client=copilot_client, async_client=async_copilot_client)
    agent = example.build_agent(model, toolkit)
    expected = copilot_client.ask(MEETING)
    for state in (example.ask(agent, MEETING), await agent.ainvoke({"messages": [("user", MEETING)]})):
        assert model.bound_tools == ["ask_copilot", "ask_with_files", "continue_conversation", "retrieve"]
        [tool_message] = [m for m in state["messages"] if isinstance(m, ToolMessage)]
        assert tool_message.name == "ask_copilot" and tool_message.status == "success"
        assert tool_message.artifact["citations"] == expected.structured()["citations"]
        assert example.copilot_citations(state) == expected.structured()["citations"]
        assert any("teams.microsoft.com" in (c["url"] or "") for c in example.copilot_citations(state))
        assert state["messages"][-1].text == f"Copilot says: {expected.text.splitlines()[0]}"
    json.dumps(tool_message.artifact)  # the artifact is plain JSON, fit for any checkpointer


def test_the_script_asks_for_a_model_when_none_is_named(example, monkeypatch, capsys) -> None:
    monkeypatch.delenv("AGENT_MODEL", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        example.main([MEETING])
    assert exit_info.value.code == 2 and "--model" in capsys.readouterr().err
