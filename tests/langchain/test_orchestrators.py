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
from tests.langchain.test_standard_unit import MEETING


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
