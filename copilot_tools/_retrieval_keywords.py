"""The Retrieval API's options as the clients take them, without the API's machinery.

The clients name ``RetrievalKeywords`` (the options of ``retrieve``); ``_retrieval`` itself
(its models, ``build_query``, the ``$batch`` plan, the KQL checker) loads with the first
retrieval: ~1 ms of every ``from copilot_tools import CopilotClient`` otherwise, for programs
that mostly never retrieve (benchmarks/import_time.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict


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

