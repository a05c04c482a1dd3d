"""LangChain's own MCP adapter (``langchain.mcp``) driving this package's MCP server: the route that
installs beside ``mcp>=2`` (``langchain-mcp-adapters`` pins ``mcp<2``).

examples/langchain_mcp_agent.py runs the agent; the server is in-process or a stdio
subprocess, on the emulator. The MCP route's artifact is the native tool's artifact
wrapped in ``structured_content``: the same citations reach the agent's state either way.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from copilot_tools.langchain import CopilotToolkit
from tests.langchain.test_example_agent import ROOT, load_example
from tests.langchain.standard_cases import MEETING

pytestmark = pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")


@pytest.fixture(scope="module")
def example() -> Any:
    load_example()  # the sibling example it imports
    return load_example(ROOT / "examples" / "langchain_mcp_agent.py")


@pytest.mark.parametrize("stdio", [False, True], ids=["in-process", "stdio"])
async def test_the_agents_state_gets_the_mcp_servers_citations(example, emulator, copilot_client, stdio) -> None:
    state = await example.run(example.ScriptedModel(), MEETING, emulator.base_url, stdio=stdio, token="test")
    [message] = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert message.name == "ask_copilot" and message.status == "success"
    expected = copilot_client.ask(MEETING).structured()
    assert example.copilot_citations(state) == expected["citations"]
    assert state["messages"][-1].text.startswith("Copilot says: ")


async def test_the_mcp_and_native_artifacts_have_the_same_shape(example, emulator, copilot_client) -> None:
    """What docs/langchain.md shows side by side: native ``artifact`` == MCP ``artifact["structured_content"]``."""
    async with example.copilot_mcp_tools(emulator.base_url, stdio=False, token="test") as mcp_tools:
        mcp = {tool.name: tool for tool in mcp_tools}
        native = {tool.name: tool for tool in CopilotToolkit(client=copilot_client).get_tools()}
        assert set(mcp) >= set(native)
        call: dict[str, Any] = {"type": "tool_call", "id": "1", "name": "ask_copilot", "args": {"question": MEETING}}
        from_mcp = (await mcp["ask_copilot"].ainvoke(call)).artifact["structured_content"]
        from_native = native["ask_copilot"].invoke(call).artifact
        assert set(from_mcp) == set(from_native)
        assert from_mcp["citations"] == from_native["citations"]
        call = {"type": "tool_call", "id": "2", "name": "retrieve", "args": {"query": "engineering standup"}}
        hits_mcp = (await mcp["retrieve"].ainvoke(call)).artifact["structured_content"]["hits"]
        hits_native = native["retrieve"].invoke(call).artifact["hits"]
        assert hits_mcp == hits_native
