"""``CopilotRetriever``: the Copilot Retrieval API as a LangChain retriever.

It returns the passages Copilot would ground on, as ``Document``s for the application's
own model (RAG over Microsoft 365 without copying the data into a vector store), with
the sources and sensitivity labels that decide what may be shown to whom.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field

from copilot_tools._retrieval import MAX_RESULTS, RetrievalHit
from copilot_tools.agent.models import DataSource
from copilot_tools.langchain._clients import CopilotConnection


class CopilotRetriever(CopilotConnection, BaseRetriever):
    """Retrieve extracts from SharePoint, OneDrive and Copilot connectors.

    >>> retriever = CopilotRetriever(k=5, data_sources=["sharePoint", "oneDriveBusiness"])
    >>> docs = retriever.invoke("travel expense policy")
    >>> docs[0].page_content, docs[0].metadata["source"], docs[0].metadata["sensitivity_label"]

    Exactly ``k`` documents come back when the service finds that many (``invoke(q, k=2)``
    overrides it for one call): with several data sources, the hits are merged by URL and
    the ``k`` with the highest relevance kept. ``page_content`` is the document's extracts;
    ``metadata`` holds ``source`` and ``url`` (both the document's URL), ``title``, ``author``, ``resource_type``,
    ``data_source``, ``score`` (the best extract's relevance), ``sensitivity_label`` (a
    dict, or None) and ``resource_metadata`` (everything the service returned).
    Construction does no I/O; the connection arguments are ``ChatCopilot``'s
    (``CopilotConnection``), and unknown arguments (``search_kwargs`` of other
    retrievers, a misspelling) are refused rather than ignored.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid", arbitrary_types_allowed=True)

    k: int = Field(default=4, ge=1, le=MAX_RESULTS)
    """How many documents to return."""
    data_sources: list[DataSource] = Field(default_factory=lambda: list[DataSource](["sharePoint"]), min_length=1)
    """Where to search; several are queried in one ``$batch``."""
    filter: str | None = None
    """A KQL ``filterExpression`` (checked before sending), e.g. ``FileExtension:"docx"``."""
    resource_metadata: list[str] | None = None
    """Metadata fields to ask for (default: title and author)."""
    connections: list[str] | None = None
    """Copilot connector connection ids (externalItem only)."""
    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        count = self._count(k)
        hits = self._source.sync_client().retrieve_many(query, **self._options(count))
        return documents(hits, count)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        count = self._count(k)
        client = self._source.async_client()
        if client is None:  # only a sync client was given: run it in a worker thread
            return await run_in_executor(None, self._get_relevant_documents, query,
                                         run_manager=run_manager.get_sync(), k=count)
        return documents(await client.retrieve_many(query, **self._options(count)), count)

    def _count(self, k: int | None) -> int:
        if k is None:
            return self.k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_RESULTS:
            raise ValueError(f"k must be a whole number from 1 to {MAX_RESULTS}; got {k!r}")
        return k

    def _options(self, count: int) -> dict[str, Any]:
        return {"data_sources": list(self.data_sources), "filter": self.filter,
                "metadata": self.resource_metadata, "max_results": count, "connections": self.connections}


def documents(hits: list[RetrievalHit], k: int) -> list[Document]:
    """The ``k`` most relevant hits as ``Document``s (service order among equal scores)."""
    ranked = sorted(hits, key=lambda hit: -(hit.score if hit.score is not None else float("-inf")))
    return [_document(hit) for hit in ranked[:k]]


def _document(hit: RetrievalHit) -> Document:
    return Document(
        id=hit.url,
        page_content=hit.text,
        metadata={
            "source": hit.url,
            "url": hit.url,
            "title": hit.title,
            "author": hit.author,
            "resource_type": hit.resource_type,
            "data_source": hit.data_source,
            "score": hit.score,
            "sensitivity_label": hit.sensitivity_label.model_dump() if hit.sensitivity_label else None,
            "resource_metadata": dict(hit.metadata),
        },
    )
