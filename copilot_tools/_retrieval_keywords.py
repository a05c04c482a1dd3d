"""The Retrieval API's options as the clients take them, without the API's machinery.

The clients name ``RetrievalKeywords`` (the options of ``retrieve``) and check each query with
``build_query`` when a program retrieves. The rest of ``_retrieval`` (its models, the ``$batch``
plan, the KQL checker) loads with that first call: ~1 ms of every
``from copilot_tools import CopilotClient`` otherwise, for programs that mostly never retrieve
(benchmarks/import_time.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypedDict

from typing_extensions import Unpack

if TYPE_CHECKING:
    from copilot_tools._retrieval import RetrievalQuery


class RetrievalKeywords(TypedDict, total=False):
    """The options of ``retrieve`` and ``retrieve_many``, checked by ``build_query``.

    ``filter``: a KQL expression over the documents' properties; ``metadata``: the
    properties each hit returns (``title`` and ``author`` when not given);
    ``max_results``: 1 to 25 hits per query; ``connections``: connector ids, for
    ``externalItem`` only; ``container_type_id``: for ``sharePointEmbedded`` only.
    """

    filter: str | None
    metadata: Sequence[str] | None
    max_results: int | None
    connections: Sequence[str] | None
    container_type_id: str | None


def build_query(query: str, *, data_source: str = "sharePoint",
                **keywords: Unpack[RetrievalKeywords]) -> RetrievalQuery:
    """``_retrieval.build_query``, which this imports on the first call."""
    from copilot_tools._retrieval import build_query as build

    return build(query, data_source=data_source, **keywords)
