"""verify_answer through the MCP server (the SDK's own in-memory ``Client``) against the emulator.

The tool is one spec in ``copilot_tools.agent``; the server publishes it like every other
tool, and checks an answer it gave earlier in the session, by conversation id and turn.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from copilot_tools import AsyncCopilotClient, Settings
from copilot_tools._verify import VERIFICATION_SCHEMA
from copilot_tools.agent import VerificationOutput, portable_schema
from copilot_tools.mcp import build_server
from copilot_tools.mcp.errors import ERROR_META_KEY
from tests.mcp.conftest import MEETING, TIME_ZONE, ServerFactory, connect, fault_header

PER_DIEM = "What is the per diem for New York?"
SCHEMA = portable_schema(VerificationOutput, mode="serialization")


@pytest.fixture
def make_server(emulator: Any) -> ServerFactory:
    """The real MCP server against the emulator (``fault=``: an emulator fault on every request)."""

    def make(*, fault: str | None = None) -> Any:
        settings = Settings(endpoint=emulator.base_url, access_token="test", time_zone=TIME_ZONE)
        factory = (lambda s: AsyncCopilotClient(settings=s, headers=fault_header(fault))) if fault else None
        return build_server(settings, client_factory=factory, progress_interval=0)

    return make


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


async def test_the_answer_points_at_verify_answer_which_checks_its_citations(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert tools["verify_answer"].output_schema == SCHEMA
        assert tools["verify_answer"].annotations.read_only_hint is True
        asked = await client.call_tool("ask_copilot", {"question": PER_DIEM})
        conversation = asked.structured_content["conversation_id"]
        assert f"call verify_answer with conversation_id {conversation} and turn 1" in text_of(asked)
        result = await client.call_tool("verify_answer", {"conversation_id": conversation})
    assert not result.is_error, text_of(result)
    structured = result.structured_content
    jsonschema.validate(structured, SCHEMA)
    jsonschema.validate({k: v for k, v in structured.items() if k != "notice"}, VERIFICATION_SCHEMA)
    assert [c["status"] for c in structured["citations"]] == ["supported", "supported"]
    assert structured["support"] == 1.0 and structured["turn_count"] == 1
    supported = structured["citations"][0]["claims"][0]
    assert supported["supported"] and supported["evidence"]["text"] in {e["text"] for e in
                                                                        structured["citations"][0]["extracts"]}
    text = text_of(result)
    assert text.startswith(f"Checked the citations of conversation {conversation}, turn 1: ")
    assert "<<untrusted-" in text and "> Meals are reimbursed" in text


async def test_the_planted_citation_is_flagged_and_named(make_server: ServerFactory) -> None:
    async with connect(make_server(fault="unsupported-citation")) as client:
        asked = await client.call_tool("ask_copilot", {"question": PER_DIEM})
        conversation = asked.structured_content["conversation_id"]
        result = await client.call_tool("verify_answer", {"conversation_id": conversation, "turn": 1})
    statuses = [c["status"] for c in result.structured_content["citations"]]
    assert statuses == ["supported", "unsupported"]
    assert "Do not rely on what citations 2 are said to support." in text_of(result)


async def test_a_turn_is_chosen_and_meetings_are_not_checked(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        first = await client.call_tool("ask_copilot", {"question": MEETING})
        conversation = first.structured_content["conversation_id"]
        assert "verify_answer" not in text_of(first)  # it cites a meeting only: nothing to verify
        await client.call_tool("continue_conversation", {"conversation_id": conversation, "message": PER_DIEM})
        meeting = await client.call_tool("verify_answer", {"conversation_id": conversation, "turn": 1})
        latest = await client.call_tool("verify_answer", {"conversation_id": conversation})
    (check,) = meeting.structured_content["citations"]
    assert check["status"] == "not_checked" and "meeting" in check["reason"]
    assert latest.structured_content["turn_count"] == 2 and latest.structured_content["support"] == 1.0


async def test_an_answer_not_given_in_this_session_is_a_clear_error(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        result = await client.call_tool("verify_answer", {"conversation_id": "0d110e7e-2b7e-4270-a899-fd2af6fde333"})
    assert result.is_error
    details = result.meta[ERROR_META_KEY]
    assert details["argument"] == "conversation_id" and "this session" in details["message"]
