"""Branches never mix: a history continues a Copilot conversation only from its latest state.

Copilot keeps each conversation on the service, so a turn sent twice is appended twice.
A LangGraph fork, a retry, a regenerate and a fallback all send a history that is not
(or may no longer be) the conversation's latest state; each must get its answer from a
conversation of its own, carrying the history as context. The conversation ids and the
turn counts the emulator reports show which conversation answered.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph

from copilot_tools.langchain import ChatCopilot
from tests.langchain.standard_cases import MEETING

WHO = "Who organises it?"
WHERE = "Where is it?"


def ids(message: BaseMessage) -> tuple[str, int]:
    """(conversation id, turn count) of a ChatCopilot answer."""
    return message.response_metadata["conversation_id"], message.response_metadata["turn_count"]


def test_a_langgraph_fork_gets_its_own_conversation_and_both_branches_go_on(copilot_client) -> None:
    model = ChatCopilot(client=copilot_client)
    builder = StateGraph(MessagesState)
    builder.add_node("model", lambda state: {"messages": [model.invoke(state["messages"])]})
    builder.add_edge(START, "model")
    graph = builder.compile(checkpointer=InMemorySaver())
    thread = {"configurable": {"thread_id": "fork"}}

    first = graph.invoke({"messages": [HumanMessage(MEETING)]}, thread)["messages"][-1]
    conversation, _ = ids(first)
    second = graph.invoke({"messages": [HumanMessage(WHO)]}, thread)
    assert ids(second["messages"][-1]) == (conversation, 2)

    # Time travel to the checkpoint after turn 1, then ask something else there.
    checkpoints = list(graph.get_state_history(thread))
    after_turn_1 = next(c for c in checkpoints if len(c.values["messages"]) == 2 and not c.next)
    after_turn_2 = next(c for c in checkpoints if len(c.values["messages"]) == 4 and not c.next)
    fork = graph.invoke({"messages": [HumanMessage(WHERE)]}, after_turn_1.config)
    forked, turn = ids(fork["messages"][-1])
    assert forked != conversation and turn == 1  # not turn 3 of the first branch's conversation
    assert "Who organises it?" not in fork["messages"][-1].text

    # Each branch goes on in its own conversation.
    assert ids(graph.invoke({"messages": [HumanMessage("And when?")]}, thread)["messages"][-1]) == (forked, 2)
    original = graph.invoke({"messages": [HumanMessage("And when?")]}, after_turn_2.config)
    assert ids(original["messages"][-1]) == (conversation, 3)


def test_a_regenerated_answer_comes_from_a_new_conversation(copilot_client) -> None:
    model = ChatCopilot(client=copilot_client)
    first = model.invoke(MEETING)
    history: list[BaseMessage] = [HumanMessage(MEETING), first, HumanMessage(WHO)]
    answer = model.invoke(history)
    regenerated = model.invoke(history)  # the same history again: the conversation has moved on
    conversation, _ = ids(first)
    assert ids(answer) == (conversation, 2)
    assert ids(regenerated)[0] != conversation and ids(regenerated)[1] == 1
    # Both answers can be followed up, each in its own conversation.
    assert ids(model.invoke([*history, answer, HumanMessage(WHERE)])) == (conversation, 3)
    assert ids(model.invoke([*history, regenerated, HumanMessage(WHERE)])) == (ids(regenerated)[0], 2)


def test_a_retry_after_a_broken_turn_does_not_reuse_the_conversation(copilot_client, faulty_client) -> None:
    first = ChatCopilot(client=copilot_client).invoke(MEETING)
    conversation, _ = ids(first)
    flaky = ChatCopilot(client=faulty_client("cut;count=1", max_retries=0))
    retried = flaky.with_retry(stop_after_attempt=2, wait_exponential_jitter=False).invoke(
        [HumanMessage(MEETING), first, HumanMessage(WHO)]
    )
    assert ids(retried)[0] != conversation and ids(retried)[1] == 1
    # The broken turn reached the service: continuing there would have been turn 3, after it.
    assert copilot_client.chat(conversation, "And when?").turn_count == 3


async def test_a_fallback_model_does_not_reuse_the_primarys_conversation(copilot_client, faulty_client) -> None:
    first = await ChatCopilot(client=copilot_client).ainvoke(MEETING)
    conversation, _ = ids(first)
    primary = ChatCopilot(client=faulty_client("cut", max_retries=0))
    model = primary.with_fallbacks([ChatCopilot(client=copilot_client)])
    answer = await model.ainvoke([HumanMessage(MEETING), first, HumanMessage(WHO)])
    assert ids(answer)[0] != conversation and ids(answer)[1] == 1


async def test_streamed_answers_continue_their_conversation_too(copilot_client, async_copilot_client) -> None:
    model = ChatCopilot(client=copilot_client, async_client=async_copilot_client)
    chunks: list[AIMessageChunk] = [chunk async for chunk in model.astream(MEETING)]
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    conversation, _ = ids(merged)
    follow_up = model.invoke([HumanMessage(MEETING), merged, HumanMessage(WHO)])
    assert ids(follow_up) == (conversation, 2)
    # A stored copy of the streamed answer (as a checkpointer keeps it) continues as well.
    stored = AIMessage(content=follow_up.content, response_metadata=follow_up.response_metadata)
    history = [HumanMessage(MEETING), merged, HumanMessage(WHO), stored, HumanMessage(WHERE)]
    assert [ids(c) for c in model.stream(history) if c.response_metadata.get("conversation_id")] == [(conversation, 3)]


def test_an_edited_history_starts_a_new_conversation_with_that_history(copilot_client) -> None:
    model = ChatCopilot(client=copilot_client)
    first = model.invoke(MEETING)
    edited = AIMessage(content=first.text + " (edited)", response_metadata=first.response_metadata)
    answer = model.invoke([HumanMessage(MEETING), edited, HumanMessage(WHO)])
    assert ids(answer)[0] != ids(first)[0] and ids(answer)[1] == 1


def test_the_same_history_sent_twice_at_once_continues_once(copilot_client) -> None:
    model = ChatCopilot(client=copilot_client)
    first = model.invoke(MEETING)
    history: Any = [HumanMessage(MEETING), first, HumanMessage(WHO)]
    answers = model.batch([history, history])
    assert sorted(ids(a)[1] for a in answers) == [1, 2]
    assert sum(ids(a)[0] == ids(first)[0] for a in answers) == 1
