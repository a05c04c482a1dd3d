"""Every example of the API reference, and the captured stream, read by both clients at any chunking.

The service decides where a body is cut into chunks; an answer must not depend on it. Each
example goes through the real ``CopilotClient`` and ``AsyncCopilotClient`` (only the network is
replaced, see tests/canned.py) in 1-byte, 7-byte and 4 KiB chunks, and every way must give the
same answer as reading the whole body at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from copilot_tools import AnswerComplete, TextDelta, TextReset
from copilot_tools._retrieval import RetrievalHit
from copilot_tools.answer import Answer
from tests import reference
from tests.canned import CONVERSATION_ID, Canned

CHUNKS = [1, 7, 4096]
STREAMS = [(request["message"]["text"], body) for request, body in reference.stream_examples()]
STREAMS.append((reference.CAPTURE_PROMPT, reference.captured_stream()))


def shown_text(events: list[Any]) -> str:
    """What a user watching the stream saw last: deltas appended, resets replacing."""
    shown = ""
    for event in events:
        if isinstance(event, TextDelta):
            shown += event.text
        elif isinstance(event, TextReset):
            shown = event.text
    return shown


def stream_both_ways(canned: Canned, prompt: str) -> list[tuple[Answer, str]]:
    with canned.sync_client() as client:
        sync_events = list(client.stream(CONVERSATION_ID, prompt))

    async def collect() -> list[Any]:
        async with canned.async_client() as client:
            return [event async for event in client.stream(CONVERSATION_ID, prompt)]

    async_events = asyncio.run(collect())
    results = []
    for events in (sync_events, async_events):
        assert isinstance(events[-1], AnswerComplete)
        results.append((events[-1].answer, shown_text(events)))
    return results


@pytest.mark.parametrize(
    "number", range(len(STREAMS)), ids=[f"stream{n}" for n in range(len(STREAMS) - 1)] + ["capture"]
)
def test_every_stream_gives_the_same_answer_at_every_chunking(number: int) -> None:
    prompt, body = STREAMS[number]
    (expected, _), _ = stream_both_ways(Canned(chunk=len(body), stream=body), prompt)
    assert expected.text.strip() and expected.turn_count > 0
    for chunk in CHUNKS:
        for answer, shown in stream_both_ways(Canned(chunk=chunk, stream=body), prompt):
            assert answer == expected, f"{chunk}-byte chunks"
            assert shown == answer.text  # what was shown along the way ends as the answer


@pytest.mark.parametrize("number", range(len(reference.chat_examples())))
def test_every_synchronous_answer_is_the_same_at_every_chunking(number: int) -> None:
    request, response = reference.chat_examples()[number]
    prompt = request["message"]["text"]
    answers = []
    for chunk in CHUNKS:
        canned = Canned(chunk=chunk, chat=response)
        with canned.sync_client() as client:
            answers.append(client.chat(CONVERSATION_ID, prompt))

        async def chat(canned: Canned = canned) -> Answer:
            async with canned.async_client() as client:
                return await client.chat(CONVERSATION_ID, prompt)

        answers.append(asyncio.run(chat()))
    assert answers[0].text.strip() and answers[0].conversation_id == response["id"]
    assert all(answer == answers[0] for answer in answers)


@pytest.mark.parametrize("number", range(len(reference.create_responses())))
def test_every_create_response_is_read_at_every_chunking(number: int) -> None:
    response = reference.create_responses()[number]
    for chunk in CHUNKS:
        canned = Canned(chunk=chunk, create=response)
        with canned.sync_client() as client:
            assert client.create_conversation().id == response["id"]

        async def create(canned: Canned = canned) -> str:
            async with canned.async_client() as client:
                return (await client.create_conversation()).id

        assert asyncio.run(create()) == response["id"]


def retrieve_both_ways(
    canned: Canned, request: dict[str, Any], batch: list[dict[str, Any]] | None
) -> list[list[RetrievalHit]]:
    if batch:
        queries = [item["body"]["queryString"] for item in batch]
        kwargs: dict[str, Any] = {"data_sources": sorted({item["body"]["dataSource"] for item in batch})}
        queries = sorted(set(queries))
    else:
        queries = [request["queryString"]]
        connections = [c["connectionId"] for c in
                       (request.get("dataSourceConfiguration") or {}).get("externalItem", {}).get("connections", [])]
        kwargs = {"data_sources": request["dataSource"], "filter": request.get("filterExpression"),
                  "metadata": request.get("resourceMetadata"), "connections": connections or None,
                  "max_results": (int(request["maximumNumberOfResults"])
                                  if "maximumNumberOfResults" in request else None)}
    with canned.sync_client() as client:
        sync_hits = client.retrieve_many(queries, **kwargs)

    async def retrieve() -> list[RetrievalHit]:
        async with canned.async_client() as client:
            return await client.retrieve_many(queries, **kwargs)

    return [sync_hits, asyncio.run(retrieve())]


@pytest.mark.parametrize("number", range(len(reference.retrieval_examples())))
def test_every_retrieval_answer_is_the_same_at_every_chunking(number: int) -> None:
    path, request, response = reference.retrieval_examples()[number]
    batch = request["requests"] if path.endswith("$batch") else None
    results = []
    for chunk in CHUNKS:
        canned = Canned(chunk=chunk, retrieval=response, batch_responses=response.get("responses", []))
        results.extend(retrieve_both_ways(canned, request, batch))
    assert results[0] and all(hit.url and hit.extracts for hit in results[0])
    assert all(hits == results[0] for hits in results)
