"""The MCP server and the LangChain tools publish every spec the same way.

For each ``copilot_tools.agent`` spec: the same name, title, description, hints and
output schema; the same argument schema (names, types and limits) as each framework
hands it to a model; the same structured result (MCP ``structuredContent`` == LangChain
artifact) and the same error text for the same bad arguments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from mcp import Client

from copilot_tools import Settings
from copilot_tools._protocol import MAX_FILES
from copilot_tools.agent import all_tools, portable_schema
from copilot_tools.langchain import CopilotToolkit
from copilot_tools.mcp.server import build_server
from tests.langchain.standard_cases import BUSINESS_MODEL, MEETING

SPECS = {spec.name: spec for spec in all_tools()}
LIMITS = ("type", "enum", "minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum", "default")


def settings_for(emulator: Any) -> Settings:
    return Settings(endpoint=emulator.base_url, access_token="test", time_zone="America/New_York")


@asynccontextmanager
async def mcp_server(emulator: Any) -> AsyncIterator[tuple[Client, dict[str, Any]]]:
    """The MCP server in-process, with a real client session, and its tools by name."""
    async with Client(build_server(settings_for(emulator))) as client:
        yield client, {tool.name: tool for tool in (await client.list_tools()).tools}


@pytest.fixture
def lc_tools(emulator) -> dict[str, Any]:
    return {tool.name: tool for tool in CopilotToolkit(settings=settings_for(emulator)).get_tools()}


def limits(schema: dict[str, Any]) -> dict[str, Any]:
    """Each argument's name with its type and limits, wherever they sit (anyOf, items)."""
    found: dict[str, Any] = {}

    def walk(path: str, node: Any) -> None:
        if isinstance(node, dict):
            for key in LIMITS:
                if key in node:
                    found[f"{path}.{key}"] = node[key]
            for key, value in node.items():
                if key in ("properties", "items", "anyOf"):
                    if key == "properties":
                        for name, child in value.items():
                            walk(f"{path}/{name}", child)
                    elif key == "items":
                        walk(f"{path}[]", value)
                    else:
                        for number, child in enumerate(value):
                            walk(f"{path}|{number}", child)

    walk("", schema)
    return found


async def test_every_spec_is_a_tool_in_both(emulator, lc_tools) -> None:
    async with mcp_server(emulator) as (_, mcp):
        assert list(lc_tools) == list(SPECS) == list(mcp)


@pytest.mark.parametrize("name", list(SPECS))
async def test_the_same_tool_is_published(name: str, emulator, lc_tools) -> None:
    async with mcp_server(emulator) as (_, tools):
        mcp = tools[name]
    spec, lc = SPECS[name], lc_tools[name]
    assert lc.description == mcp.description == spec.description
    assert lc.metadata["title"] == mcp.title == spec.title
    annotations = mcp.annotations
    assert (lc.metadata["read_only"], lc.metadata["destructive"], lc.metadata["idempotent"],
            lc.metadata["open_world"]) == (annotations.read_only_hint, annotations.destructive_hint,
                                           annotations.idempotent_hint, annotations.open_world_hint)
    assert lc.metadata["output_schema"] == mcp.output_schema
    # The arguments: the same model behind both, and the same names and limits as each hands them to a model.
    assert lc.args_schema is spec.input_model and portable_schema(lc.args_schema) == mcp.input_schema
    as_langchain_sends_it = convert_to_openai_tool(lc)["function"]["parameters"]
    assert set(as_langchain_sends_it["properties"]) == set(mcp.input_schema["properties"])
    assert limits(as_langchain_sends_it) == limits(mcp.input_schema)


async def call_both(
    emulator: Any, lc_tools: dict[str, Any], name: str, args: dict[str, Any]
) -> tuple[Any, ToolMessage]:
    async with mcp_server(emulator) as (client, _):
        result = await client.call_tool(name, args)
    message = await lc_tools[name].ainvoke({"type": "tool_call", "id": "1", "name": name, "args": args})
    return result, message


@pytest.mark.parametrize("name, args", [
    ("retrieve", {"query": "engineering standup", "data_sources": ["sharePoint", "oneDriveBusiness"]}),
    ("whoami", {}),
])
async def test_the_same_structured_result(name: str, args: dict[str, Any], emulator, lc_tools) -> None:
    result, message = await call_both(emulator, lc_tools, name, args)
    assert not result.is_error and message.status == "success"
    assert message.artifact == result.structured_content


@pytest.mark.parametrize("name, args", [
    ("ask_copilot", {"question": MEETING}),
    ("ask_with_files", {"question": "Summarise it.", "files": [BUSINESS_MODEL]}),
])
async def test_the_same_answer_shape(name: str, args: dict[str, Any], emulator, lc_tools) -> None:
    result, message = await call_both(emulator, lc_tools, name, args)
    mcp, lc = result.structured_content, message.artifact
    assert list(lc) == list(mcp)
    # Each answer is its own conversation, and the emulator's entity links carry per-answer ids.
    same = [k for k in mcp if k not in ("conversation_id", "entities")]
    assert {k: lc[k] for k in same} == {k: mcp[k] for k in same}
    assert [(e["kind"], e["name"]) for e in lc["entities"]] == [(e["kind"], e["name"]) for e in mcp["entities"]]
    followed = await call_both(emulator, lc_tools, "continue_conversation",
                               {"conversation_id": lc["conversation_id"], "message": "Who wrote it?"})
    assert followed[0].structured_content["turn_count"] == 2 and followed[1].artifact["turn_count"] == 3
    assert list(followed[1].artifact) == list(followed[0].structured_content) == list(mcp)


@pytest.mark.parametrize("name, args", [
    ("ask_with_files", {"question": "Compare them.", "files": [BUSINESS_MODEL] * (MAX_FILES + 1)}),
    ("retrieve", {"query": "x", "max_results": 1000}),
    ("ask_copilot", {"question": MEETING, "colour": "blue"}),
    ("continue_conversation", {"message": "And then?"}),
    ("verify_answer", {"conversation_id": "a" * 10_000}),
])
async def test_the_same_error_for_the_same_bad_arguments(name: str, args: dict[str, Any], emulator,
                                                         lc_tools) -> None:
    result, message = await call_both(emulator, lc_tools, name, args)
    assert result.is_error and message.status == "error"
    assert message.content == result.content[0].text
