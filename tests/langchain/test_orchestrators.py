"""Orchestrators beyond LangChain drive Copilot offline, with a scripted model, on the emulator.

- Pydantic AI through the MCP server (``MCPToolset``; in-process and stdio):
  examples/pydantic_ai_agent.py.
- The OpenAI Agents SDK through the Python client, each tool spec a function tool:
  examples/openai_agents_sdk.py.

Each test checks that Copilot's citations reach the orchestrator's own state.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.langchain.test_example_agent import ROOT, load_example
from tests.langchain.standard_cases import MEETING


@pytest.fixture(scope="module")
def pydantic_ai_example() -> Any:
    pytest.importorskip("pydantic_ai", reason="pydantic-ai-slim[mcp] (the orchestrators extra) is not installed")
    return load_example(ROOT / "examples" / "pydantic_ai_agent.py")


@pytest.mark.parametrize("stdio", [False, True], ids=["in-process", "stdio"])
async def test_pydantic_ai_gets_the_citations_through_the_mcp_server(
    pydantic_ai_example, emulator, copilot_client, stdio
) -> None:
    from pydantic_ai.models.function import FunctionModel

    example = pydantic_ai_example
    result = await example.run(FunctionModel(example.scripted), MEETING, emulator.base_url, stdio=stdio, token="t")
    expected = copilot_client.ask(MEETING)
    assert example.copilot_citations(result.all_messages()) == expected.structured()["citations"]
    assert result.output == f"Copilot says: {expected.text.splitlines()[0]}"


@pytest.fixture(scope="module")
def agents_sdk_example() -> Any:
    pytest.importorskip("agents", reason="openai-agents (the orchestrators extra) is not installed")
    from agents import set_tracing_disabled

    set_tracing_disabled(True)  # nothing leaves the machine
    return load_example(ROOT / "examples" / "openai_agents_sdk.py")


async def test_the_openai_agents_sdk_gets_the_citations_through_the_client(
    agents_sdk_example, async_copilot_client, copilot_client
) -> None:
    example = agents_sdk_example
    output, state = await example.run(example.scripted_model(MEETING), MEETING, async_copilot_client)
    expected = copilot_client.ask(MEETING)
    assert state.citations() == expected.structured()["citations"]
    assert [r["tool"] for r in state.results] == ["ask_copilot"]
    assert output == f"Copilot says: {expected.text.splitlines()[0]}"


async def test_the_agents_sdk_model_reads_a_copilot_error_and_the_run_goes_on(
    agents_sdk_example, emulator
) -> None:
    from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call

    from copilot_tools import AsyncCopilotClient
    from tests.langchain.conftest import TIME_ZONE, fault

    seen: list[str] = []

    def answer(call: Any) -> Any:
        outputs = (i["output"] for i in call.input if isinstance(i, dict) and i.get("type") == "function_call_output")
        seen.append(next(outputs))
        return [assistant_message("Copilot is busy; try again later.")]

    ask = function_call("ask_copilot", {"question": MEETING}, call_id="c1")
    model = ScriptedModel([[ask], ModelStep.respond(answer)])
    async with AsyncCopilotClient(base_url=emulator.base_url, token="t", time_zone=TIME_ZONE, max_retries=0,
                                  headers=fault("throttle;retry-after=7")) as client:
        output, state = await agents_sdk_example.run(model, MEETING, client)
    assert output == "Copilot is busy; try again later." and state.results == []
    assert seen[0].startswith("throttled:") and "Retry after 7 s" in seen[0]
