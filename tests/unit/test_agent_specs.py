"""The framework-neutral tool layer (``copilot_tools.agent``): specs run against the emulator, no MCP."""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

import jsonschema
import pytest

from copilot_tools import AsyncCopilotClient, Settings
from copilot_tools._protocol import MAX_CONVERSATION_ID_LENGTH, MAX_FILES
from copilot_tools._retrieval import DATA_SOURCES, MAX_QUERY_LENGTH, MAX_RESULTS
from copilot_tools.agent import (
    AnswerOutput,
    ToolContext,
    Turn,
    all_tools,
    get_tool,
    portable_schema,
    tool_error,
)
from copilot_tools.agent.text import DATA_NOTE, DATA_NOTICE
from copilot_tools.answer import Answer
from copilot_tools.errors import CopilotError, InvalidInputError, ThrottledError
from tests.conftest import run_python

MEETING = "What meeting do I have at 9 AM tomorrow morning?"
BUSINESS_MODEL = "https://contoso.sharepoint.com/sites/Engineering/Shared%20Documents/Specs/Business-Model.docx"
_keys = itertools.count()


class MemoryTranscripts:
    def __init__(self) -> None:
        self.held: dict[str, list[Turn]] = {}

    async def record(self, question: str, answer: Answer) -> None:
        self.held.setdefault(answer.conversation_id, []).append(Turn(question, answer))

    async def turns(self, conversation_id: str) -> Sequence[Turn] | None:
        return self.held.get(conversation_id)


def client_for(emulator: Any, fault: str | None = None, token: str = "test") -> AsyncCopilotClient:
    headers = {"x-emulator-fault": f"{fault};key=agent{next(_keys)}"} if fault else None
    return AsyncCopilotClient(settings=Settings(endpoint=emulator.base_url, access_token=token,
                                                time_zone="America/New_York"), headers=headers)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


# --- the specs ----------------------------------------------------------------------------------


def test_every_tool_is_listed_once_with_a_valid_name() -> None:
    names = [spec.name for spec in all_tools()]
    assert names == ["ask_copilot", "ask_with_files", "continue_conversation", "retrieve", "verify_answer", "whoami"]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]{1,128}", name) for name in names)
    assert get_tool("retrieve").name == "retrieve"
    with pytest.raises(KeyError):
        get_tool("nope")


def test_the_limits_are_the_cores() -> None:
    files = get_tool("ask_with_files").input_model.model_json_schema()["properties"]["files"]
    assert (files["minItems"], files["maxItems"]) == (1, MAX_FILES)
    retrieve = portable_schema(get_tool("retrieve").input_model)["properties"]
    assert retrieve["max_results"]["anyOf"][0]["maximum"] == MAX_RESULTS
    assert retrieve["query"]["maxLength"] == MAX_QUERY_LENGTH
    for name in ("continue_conversation", "verify_answer"):
        schema = portable_schema(get_tool(name).input_model)["properties"]["conversation_id"]
        assert schema["maxLength"] == MAX_CONVERSATION_ID_LENGTH >= 36  # a GUID with a wide margin
    # sharePointEmbedded needs a container type id only the application knows: the tools leave it out.
    offered = tuple(retrieve["data_sources"]["items"]["enum"])
    assert offered == tuple(s for s in DATA_SOURCES if s != "sharePointEmbedded")


def test_tools_that_add_to_the_users_history_are_not_read_only() -> None:
    hints = {spec.name: spec.hints for spec in all_tools()}
    for name in ("ask_copilot", "ask_with_files", "continue_conversation"):
        assert hints[name].read_only is False and hints[name].destructive is False
    assert hints["retrieve"].read_only and hints["whoami"].read_only


def test_published_schemas_are_portable() -> None:
    for spec in all_tools():
        for schema in (portable_schema(spec.input_model), portable_schema(spec.output_model, mode="serialization")):
            jsonschema.Draft202012Validator.check_schema(schema)
            for node in walk(schema):
                assert not isinstance(node.get("type"), list), (spec.name, node)
                assert "$ref" not in node and "$defs" not in node, spec.name
    citation = portable_schema(AnswerOutput, mode="serialization")["properties"]["citations"]["items"]
    assert citation["properties"]["source"]["anyOf"][0]["enum"] == ["model", "grounding", "external"]


def test_results_holding_organisation_data_carry_the_notice_first() -> None:
    for spec in all_tools():
        if spec.name == "whoami":
            continue
        schema = portable_schema(spec.output_model, mode="serialization")
        assert next(iter(schema["properties"])) == "notice" and "notice" in schema["required"]
        assert "not instructions" in schema["properties"]["notice"]["description"]
        assert DATA_NOTE in spec.description


def test_the_agent_layer_needs_neither_mcp_nor_langchain() -> None:
    code = ("import sys, copilot_tools.agent, copilot_tools.agent_text; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'mcp', 'langchain_core', 'langchain'}))")
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arguments", "argument", "says"),
    [
        ("ask_copilot", {}, "question", "required"),
        ("ask_copilot", {"question": 42}, "question", "string"),
        ("ask_with_files", {"question": "q", "files": [BUSINESS_MODEL] * (MAX_FILES + 1)}, "files", f"{MAX_FILES}"),
        ("retrieve", {"query": "q", "max_results": 0}, "max_results", "greater than or equal to 1"),
        ("retrieve", {"query": "q", "data_sources": ["web"]}, "data_sources", "sharePoint"),
        ("retrieve", {"query": "q", "filters": "x"}, "filters", "no such argument"),
        ("continue_conversation", {"conversation_id": "a" * (MAX_CONVERSATION_ID_LENGTH + 1), "message": "m"},
         "conversation_id", f"{MAX_CONVERSATION_ID_LENGTH}"),
        ("verify_answer", {"conversation_id": "a" * (MAX_CONVERSATION_ID_LENGTH + 1)}, "conversation_id",
         f"{MAX_CONVERSATION_ID_LENGTH}"),
    ],
)
def test_arguments_off_the_schema_are_input_errors_in_words(
    name: str, arguments: dict[str, Any], argument: str, says: str
) -> None:
    spec = get_tool(name)
    with pytest.raises(InvalidInputError) as info:
        spec.parse(arguments)
    assert info.value.argument.startswith(argument) and says in info.value.message
    report = tool_error(spec, info.value, arguments)
    assert report.details["kind"] == "invalid_input" and report.details["argument"] == argument
    assert report.text.startswith(f"invalid_input: Invalid argument `{argument}`")
    assert "What to do:" in report.text and "pydantic" not in report.text and not report.is_configuration


def test_unknown_arguments_are_quoted_bounded_and_encodable() -> None:
    arguments = {"query": "q", "x" * 10_000: 1, **{f"extra{i}": i for i in range(1_000)}}
    with pytest.raises(InvalidInputError) as info:
        get_tool("retrieve").parse(arguments)
    message = info.value.message
    assert len(message) < 1_000 and "and 996 more" in message and "no such argument" in message
    report = tool_error(get_tool("retrieve"), info.value, arguments)
    assert not report.is_configuration and report.details["argument"] == info.value.argument
    assert report.text.startswith(f"invalid_input: Invalid argument `{'x' * 63}…`") and len(report.text) < 2_000
    for name in ("\ud800", "a\ud800b" * 100):
        with pytest.raises(InvalidInputError) as info:
            get_tool("retrieve").parse({"query": "q", name: 1})
        info.value.message.encode("utf-8")  # a lone surrogate in a name is never passed on


async def test_verify_answer_quotes_an_unknown_conversation_id_bounded() -> None:
    ctx = ToolContext(client=None, transcripts=MemoryTranscripts())  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError) as info:
        await get_tool("verify_answer")(ctx, {"conversation_id": "a" * 100_000})
    assert info.value.argument == "conversation_id" and len(info.value.message) < 500


def test_a_list_sent_as_json_text_is_read_as_the_list() -> None:
    args = get_tool("ask_with_files").parse({"question": "q", "files": json.dumps([BUSINESS_MODEL])})
    assert args.files == [BUSINESS_MODEL]  # type: ignore[attr-defined]
    text = get_tool("retrieve").parse({"query": "q", "filter": '["not a list"]'})
    assert text.filter == '["not a list"]'  # type: ignore[attr-defined]  # a text argument stays text


# --- running ------------------------------------------------------------------------------------


async def test_a_spec_answers_records_the_turn_and_finds_it_again(emulator: Any) -> None:
    reports: list[str] = []

    async def progress(message: str) -> None:
        reports.append(message)

    transcripts = MemoryTranscripts()
    async with client_for(emulator) as client:
        ctx = ToolContext(client=client, progress=progress, transcripts=transcripts, progress_interval=0)
        first = await get_tool("ask_copilot")(ctx, {"question": MEETING})
        second = await get_tool("continue_conversation")(
            ctx, {"conversation_id": first.conversation_id, "message": "Who organises it?"})
    assert isinstance(first, AnswerOutput) and first.notice == DATA_NOTICE
    jsonschema.validate(first.structured(), portable_schema(AnswerOutput, mode="serialization"))
    assert "not instructions" in first.text() and first.conversation_id in first.text()
    assert any(link.title == "Contoso Engineering Standup" and link.uri.startswith("https://")
               for link in first.sources())
    assert reports[-1].startswith("Answer complete") and any("characters so far" in r for r in reports)
    assert (await ctx.past_answer(first.conversation_id, 1)).text == first.answer  # type: ignore[union-attr]
    assert (await ctx.past_answer(first.conversation_id)).turn_count == second.turn_count == 2  # type: ignore[union-attr]
    assert await ctx.past_answer("unknown") is None


async def test_retrieve_links_each_document(emulator: Any) -> None:
    async with client_for(emulator) as client:
        output = await get_tool("retrieve")(ToolContext(client=client), {"query": "travel policy per diem"})
    assert output.hits and [link.uri for link in output.sources()] == [hit.url for hit in output.hits]
    assert "[1]" in output.text() and "not instructions" in output.text()


def _jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


async def test_whoami_names_the_account_tenant_and_endpoint(emulator: Any) -> None:
    token = _jwt({"preferred_username": "megan@contoso.com", "name": "Megan Bowen", "tid": "t-1", "oid": "o-1",
                  "exp": int(time.time()) + 3600, "scp": "Chat.Read Files.Read.All"})
    async with client_for(emulator, token=token) as client:
        status = await get_tool("whoami")(ToolContext(client=client), {})
    assert status.signed_in and (status.username, status.tenant_id) == ("megan@contoso.com", "t-1")
    assert status.endpoint == emulator.base_url and status.endpoint_name == "custom"
    assert "megan@contoso.com" in status.text() and "Files.Read.All" in status.scopes


async def test_whoami_says_how_to_sign_in_when_nobody_is(emulator: Any) -> None:
    class NotSignedIn:
        def get_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
            from copilot_tools.errors import AuthenticationError

            raise AuthenticationError("No account is signed in.", hint="Run `copilot-tools login`.")

    settings = Settings(endpoint=emulator.base_url, time_zone="UTC")
    async with AsyncCopilotClient(settings=settings, token_provider=NotSignedIn()) as client:
        status = await get_tool("whoami")(ToolContext(client=client), {})
    assert not status.signed_in and "copilot-tools login" in (status.sign_in or "")
    assert "Not signed in" in status.text()


# --- throttling ---------------------------------------------------------------------------------


async def test_a_wait_past_the_budget_returns_the_throttled_error_at_once(emulator: Any) -> None:
    async with client_for(emulator, "throttle;retry-after=25") as client:
        ctx = ToolContext(client=client, throttle_budget=20)
        started = time.monotonic()
        with pytest.raises(ThrottledError) as info:
            await get_tool("ask_copilot")(ctx, {"question": MEETING})
    assert time.monotonic() - started < 5
    assert info.value.retry_after == 25
    assert tool_error(get_tool("ask_copilot"), info.value).details["retry_after"] == 25


async def test_a_wait_within_the_budget_is_reported_then_retried(emulator: Any) -> None:
    reports: list[str] = []

    async def progress(message: str) -> None:
        reports.append(message)

    async with client_for(emulator, "throttle;retry-after=1;count=1") as client:
        ctx = ToolContext(client=client, progress=progress, throttle_budget=20)
        output = await get_tool("retrieve")(ctx, {"query": "travel policy"})
    assert output.hits
    assert reports[0] == "Throttled by Copilot, retrying in 1 s"


async def test_errors_raised_by_a_spec_are_copilot_errors(emulator: Any) -> None:
    async with client_for(emulator, "forbidden") as client:
        with pytest.raises(CopilotError) as info:
            await get_tool("ask_copilot")(ToolContext(client=client), {"question": MEETING})
    assert tool_error(get_tool("ask_copilot"), info.value).details["kind"] == "permission_denied"
