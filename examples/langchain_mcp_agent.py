"""A LangChain agent that reaches Microsoft 365 Copilot through the MCP server, with LangChain's own adapter.

Two ways into LangChain exist: the native tools (``copilot_tools.langchain``, see
``langchain_agent.py``) and this one, the package's MCP server through ``langchain.mcp``
(LangChain 1.x, beta; ``pip install "copilot-tools[agents]"`` brings it with FastMCP).
The older ``langchain-mcp-adapters`` pins ``mcp<2`` and cannot share an environment
with this package; in a separate environment it reaches the same server over stdio or
HTTP (``MultiServerMCPClient``), and its artifacts have the same shape as here.

Each MCP tool message carries the server's structured answer as
``artifact["structured_content"]`` (citations, conversation id, sensitivity label).

Offline (no model named): the server runs in-process on an emulator started here, and
the scripted model of ``langchain_agent.py`` stands in for the LLM:

    python examples/langchain_mcp_agent.py "What meeting do I have at 9 AM tomorrow?"

``--stdio`` starts the server as a subprocess (``copilot-tools mcp``) instead, as a
desktop client would. ``--model openai:gpt-4.1-mini`` (or any ``init_chat_model`` name)
swaps in a real model; the server then uses the configured Copilot unless ``--emulator``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import warnings
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core._api import LangChainBetaWarning
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import BaseTool

with warnings.catch_warnings():
    warnings.simplefilter("ignore", LangChainBetaWarning)  # langchain.mcp announces its beta on import
    from langchain.mcp import MCPAdapter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _copilot_mcp import copilot_mcp_target  # noqa: E402  (the server, in-process or over stdio)
from langchain_agent import SYSTEM_PROMPT, ScriptedModel  # noqa: E402  (the sibling example)

COPILOT_TOOLS = {"ask_copilot", "ask_with_files", "continue_conversation"}


@asynccontextmanager
async def copilot_mcp_tools(
    endpoint: str | None, *, stdio: bool, token: str | None = None
) -> AsyncIterator[list[BaseTool]]:
    """The Copilot MCP server's tools as LangChain tools, in-process or over stdio.

    ``endpoint``/``token`` point the server at a Copilot (None: its configuration).
    """
    async with MCPAdapter(copilot_mcp_target(endpoint, stdio=stdio, token=token)) as adapter:
        yield await adapter.list_tools()


def copilot_citations(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every citation of every Copilot answer, from the MCP tool messages' structured content."""
    citations = []
    for message in state["messages"]:
        if isinstance(message, ToolMessage) and message.name in COPILOT_TOOLS and message.artifact:
            citations.extend(message.artifact["structured_content"]["citations"])
    return citations


async def run(model: BaseChatModel, question: str, endpoint: str | None, *, stdio: bool,
              token: str | None = None) -> dict[str, Any]:
    """The agent's final state for one question."""
    async with copilot_mcp_tools(endpoint, stdio=stdio, token=token) as tools:
        agent = create_agent(model, tools, system_prompt=SYSTEM_PROMPT)
        state: dict[str, Any] = await agent.ainvoke({"messages": [HumanMessage(question)]})
        return state


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("question")
    parser.add_argument("--model", default=os.environ.get("AGENT_MODEL"), help="init_chat_model name")
    parser.add_argument("--stdio", action="store_true", help="run the MCP server as a subprocess")
    parser.add_argument("--emulator", action="store_true", help="use an emulator started here even with --model")
    args = parser.parse_args(argv)

    model: BaseChatModel = ScriptedModel()
    if args.model:
        from langchain.chat_models import init_chat_model

        model = init_chat_model(args.model)
    if args.emulator or not args.model:
        from copilot_tools.emulator import EmulatorConfig, EmulatorServer

        with EmulatorServer(EmulatorConfig(event_delay=0.0)) as emulator:
            state = asyncio.run(run(model, args.question, emulator.base_url, stdio=args.stdio, token="emulator"))
    else:
        state = asyncio.run(run(model, args.question, None, stdio=args.stdio))
    print(state["messages"][-1].text)
    for citation in copilot_citations(state):
        print(f"  [{citation['index']}] {citation['title'] or 'Untitled'} {citation['url'] or ''}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
