"""The core client against the emulator over real loopback sockets: every flow, every fault."""

from __future__ import annotations

import itertools

import anyio
import pytest

from copilot_tools import (
    AnswerComplete,
    AsyncCopilotClient,
    AuthenticationError,
    ConversationNotFoundError,
    CopilotClient,
    EmptyResponseError,
    LicenseRequiredError,
    PermissionDeniedError,
    ResponseDeclinedError,
    ServiceError,
    StreamInterruptedError,
    TextDelta,
    TextReset,
    ThrottledError,
    TransportError,
)

BUSINESS_MODEL = "https://contoso.sharepoint.com/sites/Engineering/Shared%20Documents/Specs/Business-Model.docx"
MEETING = "What meeting do I have at 9 AM tomorrow morning?"
_keys = itertools.count()


def fault(spec: str) -> dict[str, str]:
    """A fault header unique to this use, so its count= applies to this test alone."""
    return {"x-emulator-fault": f"{spec};key=t{next(_keys)}"}


@pytest.fixture
def client(emulator):
    with CopilotClient(base_url=emulator.base_url, token="test", time_zone="America/New_York") as client:
        yield client


def faulty(emulator, spec: str, **kwargs) -> CopilotClient:
    return CopilotClient(base_url=emulator.base_url, token="test", time_zone="America/New_York",
                         headers=fault(spec), **kwargs)


def collect(events) -> tuple[list, object]:
    items = list(events)
    assert isinstance(items[-1], AnswerComplete)
    return items[:-1], items[-1].answer


def shown_text(events) -> str:
    text = ""
    for event in events:
        text = event.text if isinstance(event, TextReset) else text + event.text
    return text


# --- the reference's prompts ---------------------------------------------------------------


def test_meeting_tomorrow_cites_the_standup(client: CopilotClient) -> None:
    answer = client.ask(MEETING)
    assert "Contoso Engineering Standup" in answer.text and "<Event>" not in answer.text
    assert answer.turn_count == 1
    assert any(
        c.title == "Contoso Engineering Standup" and c.url.startswith("https://teams.microsoft.com/")
        for c in answer.citations
    )
    kinds = {(e.kind, e.name) for e in answer.entities}
    assert ("event", "Contoso Engineering Standup") in kinds and ("person", "John Doe") in kinds
    assert all(e.url for e in answer.entities)


def test_file_summary_is_grounded_in_that_file(client: CopilotClient) -> None:
    answer = client.ask("Summarize this document for me.", files=[BUSINESS_MODEL])
    assert answer.citations and {c.url for c in answer.citations} == {BUSINESS_MODEL}
    assert {c.source for c in answer.citations} == {"grounding"}
    assert ("file", "Business-Model.docx") in {(e.kind, e.name) for e in answer.entities}


def test_web_off_question_outside_the_tenant_cites_nothing(client: CopilotClient) -> None:
    answer = client.ask("What is the highest grossing movie at the global box office this year?", web_search=False)
    assert answer.citations == ()
    assert answer.text


def test_additional_context_is_cited_as_external(client: CopilotClient) -> None:
    notes = {"text": "John Doe's birthday is on January 1st.", "description": "my notes"}
    answer = client.ask("What is the birthday of my best friend, John Doe?", additional_context=[notes])
    assert "January 1st" in answer.text
    external = [c for c in answer.citations if c.source == "external"]
    assert external and external[0].title == "Additional context: my notes"
    assert f"[{external[0].index}]" in answer.text


# --- conversation lifecycle ------------------------------------------------------------------


def test_follow_ups_continue_the_same_conversation(client: CopilotClient) -> None:
    conversation = client.conversation()
    first = conversation.ask(MEETING)
    second = conversation.ask("Who organises it?")
    assert second.conversation_id == first.conversation_id == conversation.id
    assert (first.turn_count, second.turn_count) == (1, 2)
    third = client.chat(conversation.id, "And the travel policy per diem?")
    assert third.turn_count == 3


def test_an_unknown_conversation_is_not_found(client: CopilotClient) -> None:
    with pytest.raises(ConversationNotFoundError) as info:
        client.chat("00000000-0000-0000-0000-000000000000", "hello")
    assert info.value.request_id


@pytest.mark.parametrize("layout", ["captured", "strict", "pretty", "compact"])
def test_streams_deliver_deltas_that_add_up_to_the_answer(emulator, layout: str) -> None:
    with CopilotClient(base_url=emulator.base_url, token="t", time_zone="America/New_York",
                       headers={"x-emulator-layout": layout}) as client:
        events, answer = collect(client.stream(None, MEETING))
    assert len([e for e in events if isinstance(e, TextDelta)]) > 1
    assert shown_text(events) == answer.text
    assert answer.turn_count == 1 and answer.citations


def test_stream_a_follow_up_with_files(client: CopilotClient) -> None:
    first = client.ask(MEETING)
    stream = client.stream(first.conversation_id, "Summarize this document for me.", files=[BUSINESS_MODEL])
    events, answer = collect(stream)
    assert answer.turn_count == 2 and answer.citations[0].url == BUSINESS_MODEL


async def test_async_client_asks_and_streams(emulator) -> None:
    async with AsyncCopilotClient(base_url=emulator.base_url, token="t", time_zone="Europe/London") as client:
        answer = await client.ask(MEETING)
        events = [event async for event in client.stream(answer.conversation_id, "Who organises it?")]
        assert events[-1].answer.turn_count == 2
        session = client.conversation()
        await session.ask("What is our travel per diem?")
        assert session.turn_count == 1


async def test_a_hundred_concurrent_conversations(emulator) -> None:
    async with AsyncCopilotClient(base_url=emulator.base_url, token="t", time_zone="UTC") as client:
        answers = []

        async def one(number: int) -> None:
            answers.append(await client.ask(f"What is the travel policy? ({number})"))

        async with anyio.create_task_group() as group:
            for number in range(100):
                group.start_soon(one, number)
    assert len({a.conversation_id for a in answers}) == 100


# --- faults ---------------------------------------------------------------------------------


def test_throttling_once_is_retried_transparently(emulator) -> None:
    with faulty(emulator, "throttle;retry-after=0;count=1") as client:
        assert client.ask(MEETING).turn_count == 1


def test_throttling_beyond_the_retry_budget_raises_with_retry_after(emulator) -> None:
    with faulty(emulator, "throttle;retry-after=0", max_retries=1) as client, pytest.raises(ThrottledError) as info:
        client.ask(MEETING)
    assert info.value.retry_after == 0 and info.value.request_id


def test_503_on_create_is_retried_but_never_on_a_turn(emulator, client: CopilotClient) -> None:
    with faulty(emulator, "unavailable;retry-after=0;count=1") as flaky:
        conversation = flaky.create_conversation()
    with faulty(emulator, "unavailable;retry-after=0;count=1") as flaky, pytest.raises(ServiceError):
        flaky.chat(conversation.id, "hello")
    assert client.chat(conversation.id, "hello").turn_count == 1  # the 503 turn never ran


@pytest.mark.parametrize("spec", ["gateway-timeout", "server-error"])
def test_server_failures_on_a_turn_are_service_errors(emulator, client: CopilotClient, spec: str) -> None:
    conversation = client.create_conversation()
    with faulty(emulator, spec) as flaky, pytest.raises(ServiceError):
        flaky.chat(conversation.id, "hello")


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("rai", ResponseDeclinedError),
        ("license-403", LicenseRequiredError),
        ("ic3-500", LicenseRequiredError),
        ("forbidden", PermissionDeniedError),
        ("gone", ConversationNotFoundError),
        ("empty", EmptyResponseError),
        ("claims", AuthenticationError),
    ],
)
@pytest.mark.parametrize("mode", ["chat", "stream"])
def test_each_fault_has_its_typed_error(emulator, client: CopilotClient, spec: str, error: type, mode: str) -> None:
    conversation = client.create_conversation()
    with faulty(emulator, spec) as flaky, pytest.raises(error) as info:
        if mode == "chat":
            flaky.chat(conversation.id, MEETING)
        else:
            list(flaky.stream(conversation.id, MEETING))
    assert info.value.message and info.value.hint


def test_a_claims_challenge_reacquires_with_the_claims(emulator) -> None:
    calls = []

    class Provider:
        def get_token(self, *, claims=None, force_refresh=False):
            calls.append(claims)
            return "fresh" if claims else "stale"

    with CopilotClient(base_url=emulator.base_url, token_provider=Provider(), time_zone="UTC",
                       headers=fault("claims;count=1")) as client:
        assert client.ask(MEETING).turn_count == 1
    assert calls[0] is None and calls[1] and "access_token" in calls[1]


def test_a_cut_stream_raises_with_the_partial_text(emulator, client: CopilotClient) -> None:
    conversation = client.create_conversation()
    with faulty(emulator, "cut;after=2") as flaky, pytest.raises(StreamInterruptedError) as info:
        list(flaky.stream(conversation.id, MEETING))
    assert info.value.partial_text


def test_a_cut_sync_reply_is_not_resent(emulator, client: CopilotClient) -> None:
    conversation = client.create_conversation()
    with faulty(emulator, "cut") as flaky, pytest.raises(TransportError) as info:
        flaky.chat(conversation.id, MEETING)
    assert "may have processed" in info.value.message


def test_a_stream_without_final_snapshot(emulator, client: CopilotClient) -> None:
    conversation = client.create_conversation()
    with faulty(emulator, "no-final") as flaky, pytest.raises(StreamInterruptedError):
        list(flaky.stream(conversation.id, MEETING))


def test_a_malformed_event_does_not_spoil_the_answer(emulator, client: CopilotClient) -> None:
    expected = client.ask(MEETING).text
    with faulty(emulator, "malformed;after=1") as flaky:
        events, answer = collect(flaky.stream(None, MEETING))
    assert answer.text == expected == shown_text(events)


def test_a_rewrite_arrives_as_a_reset_and_ends_exact(emulator, client: CopilotClient) -> None:
    with faulty(emulator, "rewrite") as flaky:
        events, answer = collect(flaky.stream(None, MEETING))
    assert any(isinstance(e, TextReset) for e in events)
    assert shown_text(events) == answer.text


def test_latency_is_waited_for(emulator) -> None:
    with faulty(emulator, "latency;ms=50") as client:
        assert client.ask(MEETING).citations


def test_a_required_token_is_enforced() -> None:
    from copilot_tools.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(token="right")) as server:
        with (
            CopilotClient(base_url=server.base_url, token="wrong", time_zone="UTC") as client,
            pytest.raises(AuthenticationError),
        ):
            client.ask(MEETING)
        with CopilotClient(base_url=server.base_url, token="right", time_zone="UTC") as client:
            assert client.ask(MEETING).turn_count == 1


def test_work_iq_paths_answer_the_same(emulator) -> None:
    root = emulator.base_url.rsplit("/beta", 1)[0]
    with CopilotClient(base_url=f"{root}/rest/beta", token="t", time_zone="UTC") as client:
        answer = client.ask(MEETING)
    assert answer.turn_count == 1 and answer.citations
