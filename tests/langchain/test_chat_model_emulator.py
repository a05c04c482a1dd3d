"""ChatCopilot end to end on the emulator: citations, metadata, conversations, streams, faults."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage

from copilot_tools import ThrottledError
from copilot_tools.langchain import ChatCopilot
from tests.langchain.standard_cases import BUSINESS_MODEL, MEETING


@pytest.fixture
def model(copilot_client, async_copilot_client) -> ChatCopilot:
    return ChatCopilot(client=copilot_client, async_client=async_copilot_client)


def merged(chunks) -> AIMessageChunk:
    full = None
    for chunk in chunks:
        full = chunk if full is None else full + chunk
    assert full is not None
    return full


def assert_cited(message: AIMessage, answer) -> None:
    """The text is the core's answer, and each citation annotation points at its [n] marker."""
    assert message.text == answer.text
    [block] = [b for b in message.content_blocks if b["type"] == "text"]
    by_index = {c.index: c for c in answer.citations}
    assert block["annotations"], "the answer cites sources"
    for annotation in block["annotations"]:
        citation = by_index[annotation["extras"]["index"]]
        assert (annotation.get("url"), annotation.get("title")) == (citation.url, citation.title)
        if "start_index" in annotation:
            assert message.text[annotation["start_index"]:annotation["end_index"]] == f"[{citation.index}]"
    assert {a["extras"]["index"] for a in block["annotations"]} == set(by_index)


def test_an_answer_carries_its_citations_and_metadata(model, copilot_client) -> None:
    reply = model.invoke(MEETING)
    expected = copilot_client.ask(MEETING)
    assert_cited(reply, expected)
    metadata = reply.response_metadata
    assert metadata["model_provider"] == "microsoft-365-copilot"
    assert metadata["model_name"] == "microsoft-365-copilot"
    assert metadata["turn_count"] == 1 and metadata["conversation_id"]
    assert "sensitivity_label" in metadata
    assert reply.usage_metadata is None


async def test_a_stream_adds_up_to_the_answer_with_its_citations(model, copilot_client) -> None:
    expected = copilot_client.ask(MEETING)
    for chunks in (list(model.stream(MEETING)), [c async for c in model.astream(MEETING)]):
        assert len(chunks) > 1 and chunks[-1].chunk_position == "last"
        assert all(b.get("index") == 0 and "id" not in b for c in chunks for b in c.content)
        full = merged(chunks)
        assert_cited(full, expected)
        assert len([b for b in full.content_blocks if b["type"] == "text"]) == 1


def test_a_rewritten_stream_still_adds_up_to_the_answer(faulty_client, copilot_client) -> None:
    expected = copilot_client.ask(MEETING)
    rewriting = ChatCopilot(client=faulty_client("rewrite"))
    full = merged(rewriting.stream(MEETING))
    assert_cited(full, expected)
    assert "streamed_text_differs" not in full.response_metadata


def test_a_reply_and_a_follow_up_continue_the_conversation(model) -> None:
    history = [SystemMessage("Be brief."), HumanMessage(MEETING)]
    reply = model.invoke(history)
    follow_up = model.invoke([*history, reply, HumanMessage("Who organises it?")])
    assert follow_up.response_metadata["conversation_id"] == reply.response_metadata["conversation_id"]
    assert follow_up.response_metadata["turn_count"] == 2
    assert "John Doe" in follow_up.text


async def test_earlier_messages_ground_a_new_conversation(model) -> None:
    history = [
        HumanMessage("Remember this: John Doe's birthday is on January 1st."),
        AIMessage("I'll remember."),  # not this model's reply: a new conversation, with context
        HumanMessage("What is the birthday of my best friend, John Doe?"),
    ]
    reply = await model.ainvoke(history)
    assert reply.response_metadata["turn_count"] == 1
    assert "January 1st" in reply.text
    [block] = reply.content_blocks
    assert any(a["extras"].get("source") == "external" for a in block["annotations"])


def test_files_ground_the_answer(model) -> None:
    reply = model.invoke("Summarize this document for me.", files=[BUSINESS_MODEL])
    [block] = reply.content_blocks
    assert {a.get("url") for a in block["annotations"]} == {BUSINESS_MODEL}


def test_copilot_errors_reach_the_caller_typed(faulty_client) -> None:
    throttled = ChatCopilot(client=faulty_client("throttle;retry-after=0", max_retries=0))
    with pytest.raises(ThrottledError):
        throttled.invoke(MEETING)


def test_a_model_from_the_environment_alone_builds_its_clients_per_event_loop(emulator, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("COPILOT_TOOLS_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("COPILOT_TOOLS_ENDPOINT", emulator.base_url)
    monkeypatch.setenv("COPILOT_TOOLS_ACCESS_TOKEN", "test")
    monkeypatch.setenv("COPILOT_TOOLS_TIME_ZONE", "America/New_York")
    model = ChatCopilot()
    assert "Contoso Engineering Standup" in model.invoke(MEETING).text

    async def ask() -> str:
        try:
            return (await model.ainvoke(MEETING)).text
        finally:
            await model.aclose()

    # Two event loops in a row: each gets its own async client, none is reused after its loop closed.
    assert asyncio.run(ask()) == asyncio.run(ask())
    model.close()
