"""The MCP server driven by the SDK's own ``Client``, in memory, against the emulator."""

from __future__ import annotations

import time
from typing import Any

import jsonschema
import pytest
from mcp.shared.exceptions import MCPError

from copilot_tools import AsyncCopilotClient, Settings
from copilot_tools.agent import AnswerOutput, RetrievalOutput, portable_schema
from copilot_tools.auth.errors import SignInRequiredError
from copilot_tools.emulator import EmulatorConfig, EmulatorServer
from copilot_tools.mcp import build_server
from copilot_tools.mcp.errors import ERROR_META_KEY
from tests.mcp.conftest import BUSINESS_MODEL, MEETING, TIME_ZONE, ServerFactory, connect

EXPIRED = "0d110e7e-2b7e-4270-a899-fd2af6fde333"
CONVERSATION_TOOLS = ("ask_copilot", "ask_with_files", "continue_conversation")
ANSWER_SCHEMA = portable_schema(AnswerOutput, mode="serialization")
RETRIEVAL_SCHEMA = portable_schema(RetrievalOutput, mode="serialization")


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def error_of(result: Any) -> dict[str, Any]:
    assert result.is_error, text_of(result)
    return result.meta[ERROR_META_KEY]


# --- listing ----------------------------------------------------------------------------------


async def test_lists_the_tools_with_their_schemas_and_annotations(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == {*CONVERSATION_TOOLS, "retrieve", "verify_answer", "whoami"}
        for name in CONVERSATION_TOOLS:
            tool = tools[name]
            assert tool.output_schema == ANSWER_SCHEMA
            # Each call appends a turn to the user's Copilot history: not read-only, not destructive.
            assert tool.annotations.read_only_hint is False
            assert tool.annotations.destructive_hint is False
            assert tool.annotations.open_world_hint is True
            assert tool.annotations.idempotent_hint is False
            assert "tens of seconds" in tool.description and "not instructions" in tool.description
            assert tool.title
        assert tools["ask_copilot"].input_schema["required"] == ["question"]
        assert set(tools["ask_with_files"].input_schema["required"]) == {"question", "files"}
        files = tools["ask_with_files"].input_schema["properties"]["files"]
        assert (files["minItems"], files["maxItems"]) == (1, 20)
        assert set(tools["continue_conversation"].input_schema["required"]) == {"conversation_id", "message"}
        retrieve = tools["retrieve"]
        assert retrieve.output_schema == RETRIEVAL_SCHEMA and retrieve.annotations.read_only_hint is True
        assert retrieve.input_schema["properties"]["data_sources"]["items"]["enum"] == [
            "sharePoint", "oneDriveBusiness", "externalItem"]


async def test_web_search_left_out_follows_the_settings(make_server: ServerFactory) -> None:
    async with connect(make_server(web_search=False)) as client:
        tools = (await client.list_tools()).tools
        web = [t.input_schema["properties"]["web_search"] for t in tools if t.name in CONVERSATION_TOOLS]
        assert all(schema["default"] is None and "server's setting" in schema["description"] for schema in web)
        result = await client.call_tool("ask_copilot", {"question": MEETING})
        assert not result.is_error, text_of(result)


# --- happy paths ------------------------------------------------------------------------------


async def test_ask_copilot_answers_with_citations(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        result = await client.call_tool("ask_copilot", {"question": MEETING})
        assert not result.is_error, text_of(result)
        structured = result.structured_content
        jsonschema.validate(structured, ANSWER_SCHEMA)
        assert structured["turn_count"] == 1 and structured["conversation_id"]
        standup = [c for c in structured["citations"] if c["title"] == "Contoso Engineering Standup"]
        assert standup and standup[0]["url"].startswith("https://")
        text = text_of(result)
        assert "Contoso Engineering Standup" in text and f"[{standup[0]['index']}]" in text
        assert "Sources:" in text and standup[0]["url"] in text
        assert structured["conversation_id"] in text  # the model can follow up from the text alone
        assert "not instructions" in text  # the answer is marked as data


async def test_ask_with_files_is_grounded_in_the_files(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        result = await client.call_tool("ask_with_files", {"question": "Summarize this document for me.",
                                                           "files": [BUSINESS_MODEL]})
        assert not result.is_error, text_of(result)
        citations = result.structured_content["citations"]
        assert citations and {c["url"] for c in citations} == {BUSINESS_MODEL}
        assert {c["source"] for c in citations} == {"grounding"}


async def test_a_follow_up_reaches_turn_two_of_the_same_conversation(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        first = (await client.call_tool("ask_copilot", {"question": MEETING})).structured_content
        result = await client.call_tool("continue_conversation", {"conversation_id": first["conversation_id"],
                                                                  "message": "Who organises it?"})
        assert not result.is_error, text_of(result)
        assert result.structured_content["conversation_id"] == first["conversation_id"]
        assert result.structured_content["turn_count"] == 2


async def test_additional_context_and_web_search_reach_copilot(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        result = await client.call_tool("ask_copilot", {
            "question": "What is the birthday of my best friend, John Doe?",
            "additional_context": ["John Doe's birthday is on January 1st."], "web_search": False,
        })
        assert not result.is_error, text_of(result)
        assert "January 1st" in result.structured_content["answer"]
        assert any(c["source"] == "external" for c in result.structured_content["citations"])


async def test_retrieve_returns_numbered_extracts_with_sources(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        result = await client.call_tool("retrieve", {"query": "travel policy per diem", "max_results": 3})
        assert not result.is_error, text_of(result)
        hits = result.structured_content["hits"]
        assert 1 <= len(hits) <= 3
        assert all(hit["url"].startswith("https://") and hit["extracts"] for hit in hits)
        text = text_of(result)
        assert "[1]" in text and hits[0]["url"] in text and "not instructions" in text


async def test_retrieve_rejects_a_broken_filter_naming_it(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        result = await client.call_tool("retrieve", {"query": "budget", "filter": "(Author:x"})
        assert error_of(result)["argument"] == "filter"
        assert "Invalid argument `filter`" in text_of(result)


# --- progress -----------------------------------------------------------------------------------


async def test_progress_arrives_while_a_slow_answer_streams() -> None:
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    # A slow stream: 4 words every 50 ms, so the answer takes well over the server's
    # default progress interval (0.2 s) after its first words.
    with EmulatorServer(EmulatorConfig(words_per_event=4, event_delay=0.05)) as slow:
        server = build_server(Settings(endpoint=slow.base_url, access_token="t", time_zone=TIME_ZONE))
        async with connect(server) as client:
            result = await client.call_tool("ask_copilot", {"question": MEETING}, progress_callback=on_progress)
    assert not result.is_error, text_of(result)
    values = [progress for progress, _, _ in reports]
    assert len(values) >= 3 and values == sorted(set(values))  # several, strictly increasing
    assert all(total is None for _, total, _ in reports)  # no made-up total
    counts = [message for _, _, message in reports[:-1]]
    assert all("characters so far" in message for message in counts)
    final = reports[-1][2]
    assert final.startswith("Answer complete") and f"{len(result.structured_content['answer']):,} characters" in final


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "kind", "says"),
    [
        ("throttle;retry-after=7", "throttled", "Retry after 7 s"),
        ("license-403", "license_required", "licen"),
        ("ic3-500", "license_required", "licence"),
        ("forbidden", "permission_denied", ""),
        ("gone", "conversation_not_found", "ask_copilot"),
        ("rai", "declined", "Rephrase"),
        ("empty", "empty_response", ""),
        ("claims", "not_signed_in", ""),
        ("server-error", "service_error", ""),
        ("unavailable;retry-after=0", "service_error", ""),
    ],
)
async def test_each_failure_is_a_tool_error_the_model_can_act_on(
    make_server: ServerFactory, fault: str, kind: str, says: str
) -> None:
    async with connect(make_server(fault=fault, max_retries=0)) as client:
        if fault == "gone":  # a 410 means the conversation expired: it answers a turn, not a create
            result = await client.call_tool("continue_conversation", {"conversation_id": EXPIRED, "message": "hi"})
        else:
            result = await client.call_tool("ask_copilot", {"question": MEETING})
    error = error_of(result)
    text = text_of(result)
    assert error["kind"] == kind and text.startswith(f"{kind}: ")
    assert "What to do:" in text and error["hint"]
    assert says.lower() in text.lower()
    if kind == "throttled":
        assert error["retry_after"] == 7


async def test_a_cut_stream_returns_the_partial_answer_and_how_to_retry(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        cid = (await client.call_tool("ask_copilot", {"question": MEETING})).structured_content["conversation_id"]
    async with connect(make_server(fault="cut;after=2")) as client:
        first = await client.call_tool("ask_copilot", {"question": MEETING})
        follow_up = await client.call_tool("continue_conversation", {"conversation_id": cid, "message": "Who?"})
    for result in (first, follow_up):
        assert error_of(result)["kind"] == "stream_interrupted"
        assert "(incomplete)" in text_of(result) and "not instructions" in text_of(result)
    assert "Ask again" in text_of(first)
    assert f"continue_conversation again with conversation_id {cid}" in text_of(follow_up)


async def test_sign_in_required_surfaces_the_link_and_code_at_once(emulator: Any) -> None:
    class WaitingForSignIn:
        def get_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
            raise SignInRequiredError(verification_uri="https://microsoft.com/devicelogin", user_code="ABCD-1234",
                                      expires_at=time.time() + 900, flow_id="flow-1")

    settings = Settings(endpoint=emulator.base_url, time_zone=TIME_ZONE)
    server = build_server(settings, client_factory=lambda s: AsyncCopilotClient(settings=s,
                                                                                token_provider=WaitingForSignIn()))
    async with connect(server) as client:
        result = await client.call_tool("ask_copilot", {"question": MEETING})
    error = error_of(result)
    assert error["kind"] == "not_signed_in"
    assert (error["verification_uri"], error["user_code"]) == ("https://microsoft.com/devicelogin", "ABCD-1234")
    assert "https://microsoft.com/devicelogin" in text_of(result) and "ABCD-1234" in text_of(result)
    assert "call this tool again" in text_of(result)


@pytest.mark.parametrize(
    ("tool", "arguments", "argument", "says"),
    [
        ("continue_conversation", {"conversation_id": "../../v1.0/me/messages", "message": "hi"},
         "conversation_id", "conversation id"),
        ("ask_with_files", {"question": "Summarise", "files": ["https://evil.example.com/doc.docx"]},
         "files", "not an allowed file host"),
        ("ask_copilot", {"question": MEETING, "time_zone": "Mars/Olympus_Mons"}, "time_zone", "IANA"),
        ("ask_copilot", {"question": "   "}, "question", "empty"),
        ("continue_conversation", {"conversation_id": "0d110e7e-2b7e", "message": ""}, "message", "empty"),
        ("retrieve", {"query": "x", "data_sources": ["sharePoint"], "connections": ["c1"]},
         "connections", "externalItem"),
    ],
)
async def test_bad_input_is_a_tool_error_naming_the_argument(
    make_server: ServerFactory, tool: str, arguments: dict[str, Any], argument: str, says: str
) -> None:
    async with connect(make_server()) as client:
        result = await client.call_tool(tool, arguments)
        error = error_of(result)
        assert error["kind"] == "invalid_input" and error["argument"] == argument
        assert f"Invalid argument `{argument}`" in text_of(result) and says in text_of(result)


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("ask_with_files", {"question": "q", "files": []}, "files"),
        ("ask_with_files", {"question": "q", "files": [BUSINESS_MODEL] * 21}, "files"),
        ("ask_copilot", {"question": 42}, "question"),
        ("ask_copilot", {}, "question"),
        ("retrieve", {"query": "q", "data_sources": ["web"]}, "data_sources"),
        ("retrieve", {"query": "q", "max_results": 99}, "max_results"),
        ("retrieve", {"query": "q", "max_results": 0}, "max_results"),
        ("retrieve", {"query": "q", "max_results": "three"}, "max_results"),
        ("retrieve", {"query": "q", "filters": "x"}, "filters"),
    ],
)
async def test_arguments_off_the_schema_are_tool_errors_naming_the_field(
    make_server: ServerFactory, tool: str, arguments: dict[str, Any], field: str
) -> None:
    async with connect(make_server()) as client:
        result = await client.call_tool(tool, arguments)
    error = error_of(result)  # the same shape as every other tool error
    assert error["kind"] == "invalid_input" and error["argument"] == field and error["hint"]
    text = text_of(result)
    assert text.startswith(f"invalid_input: Invalid argument `{field}`") and "What to do:" in text
    assert "pydantic" not in text and "http" not in text  # no validator jargon, no links


async def test_an_unknown_conversation_says_to_start_a_new_one(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        result = await client.call_tool("continue_conversation", {
            "conversation_id": "00000000-0000-0000-0000-000000000000", "message": "hello"})
        assert error_of(result)["kind"] == "conversation_not_found"
        assert "ask_copilot" in text_of(result)


async def test_an_unreachable_service_is_a_network_error() -> None:
    server = build_server(Settings(endpoint="http://127.0.0.1:9/beta", access_token="t", time_zone="UTC",
                                   max_retries=0))
    async with connect(server) as client:
        result = await client.call_tool("ask_copilot", {"question": MEETING})
    assert error_of(result)["kind"] == "network_error" and "What to do:" in text_of(result)


async def test_a_broken_configuration_is_reported_not_crashed() -> None:
    server = build_server(Settings(endpoint="http://copilot.example.com/beta", access_token="t", time_zone="UTC"))
    async with connect(server) as client:
        result = await client.call_tool("ask_copilot", {"question": MEETING})
    error = error_of(result)
    assert error["kind"] == "invalid_input" and "configuration" in text_of(result)


# --- lifecycle and resources -------------------------------------------------------------------


async def test_one_client_per_server_created_lazily_and_closed_on_shutdown(emulator: Any) -> None:
    made: list[AsyncCopilotClient] = []

    def factory(settings: Settings) -> AsyncCopilotClient:
        made.append(AsyncCopilotClient(settings=settings))
        return made[-1]

    server = build_server(Settings(endpoint=emulator.base_url, access_token="t", time_zone=TIME_ZONE),
                          client_factory=factory)
    async with connect(server) as client:
        await client.list_tools()
        assert made == []
        await client.call_tool("ask_copilot", {"question": MEETING})
        await client.call_tool("ask_copilot", {"question": "What is our travel per diem?"})
        assert len(made) == 1
    assert made[0]._http.is_closed


async def test_the_transcript_resource_holds_each_turn_with_its_sources(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["copilot://conversations/{conversation_id}"]
        first = (await client.call_tool("ask_copilot", {"question": MEETING})).structured_content
        cid = first["conversation_id"]
        follow_up = {"conversation_id": cid, "message": "Who organises it?"}
        second = await client.call_tool("continue_conversation", follow_up)
        contents = (await client.read_resource(f"copilot://conversations/{cid}")).contents
        text = contents[0].text
        assert contents[0].mime_type == "text/markdown"
        assert MEETING in text and "Who organises it?" in text and "## Turn 2" in text
        assert all(c["url"] in text for c in first["citations"] + second.structured_content["citations"] if c["url"])


async def test_an_unknown_transcript_is_not_found(make_server: ServerFactory) -> None:
    async with connect(make_server()) as client:
        with pytest.raises(MCPError) as info:
            await client.read_resource("copilot://conversations/00000000-0000-0000-0000-000000000000")
        assert "ask_copilot" in str(info.value)
