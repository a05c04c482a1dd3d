"""CopilotRetriever on the emulator: exactly k documents, with the metadata that matters."""

from __future__ import annotations

import pytest

from copilot_tools import InvalidInputError
from copilot_tools.langchain import CopilotRetriever


@pytest.fixture
def retriever(copilot_client, async_copilot_client) -> CopilotRetriever:
    return CopilotRetriever(client=copilot_client, async_client=async_copilot_client)


async def test_documents_carry_the_extracts_and_their_source(retriever, copilot_client) -> None:
    hits = copilot_client.retrieve("engineering standup")
    docs = retriever.invoke("engineering standup", k=3)
    assert len(docs) == 3
    by_url = {hit.url: hit for hit in hits}
    for doc in docs:
        hit = by_url[doc.metadata["source"]]
        assert doc.metadata["url"] == hit.url
        assert doc.id == hit.url and doc.page_content == hit.text
        assert doc.metadata["title"] == hit.title and doc.metadata["author"] == hit.author
        assert doc.metadata["resource_type"] == hit.resource_type and doc.metadata["score"] == hit.score
        assert doc.metadata["data_source"] == "sharePoint"
        assert "sensitivity_label" in doc.metadata
    assert [d.metadata["source"] for d in await retriever.ainvoke("engineering standup", k=3)] == \
        [d.metadata["source"] for d in docs]


def test_several_sources_are_merged_and_cut_to_k(copilot_client) -> None:
    retriever = CopilotRetriever(client=copilot_client, k=2, data_sources=["sharePoint", "oneDriveBusiness"])
    docs = retriever.invoke("notes")
    assert len(docs) == 2
    scores = [d.metadata["score"] for d in docs if d.metadata["score"] is not None]
    assert scores == sorted(scores, reverse=True)


def test_bad_arguments_are_refused_before_any_request(copilot_client) -> None:
    with pytest.raises(ValueError, match="k must be"):
        CopilotRetriever(client=copilot_client).invoke("notes", k=0)
    with pytest.raises(InvalidInputError, match="filter"):
        CopilotRetriever(client=copilot_client, filter="Title:(broken").invoke("notes")
