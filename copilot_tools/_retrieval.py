"""The Copilot Retrieval API: the passages Copilot would ground on, for your own model.

Sans-IO like ``protocol``: validation, request bodies, the ``$batch`` plan with
per-item retries, parsing, merging, and the text and JSON every front end shows. The
clients only run the flows.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from copilot_tools import _json
from copilot_tools.answer import SensitivityLabel
from copilot_tools.errors import CopilotError, InvalidInputError, ServiceError
from copilot_tools._exchange import Flow, Received, RunFlow, Sleep, exchange
from copilot_tools._protocol import (
    CONNECTION_ID,
    PROPERTY_NAME,
    Endpoint,
    HttpRequest,
    as_list,
    error_from_response,
    parse_retry_after,
    shown,
    validate_names,
    validate_text,
)
from copilot_tools._retrieval_keywords import RetrievalKeywords as RetrievalKeywords  # the options, named here too
from copilot_tools._retry import RetryPolicy
from copilot_tools._schema import array_of, object_of
from copilot_tools._wire import (
    BatchRequest,
    BatchRequestItem,
    BatchResponse,
    DataSourceConfiguration,
    ExternalConnection,
    ExternalItemConfiguration,
    RetrievalRequest,
    RetrievalResponse,
    SharePointEmbeddedConfiguration,
)

#: ``sharePointEmbedded`` is beta-only; its ``container_type_id`` picks the container type.
DATA_SOURCES = ("sharePoint", "oneDriveBusiness", "externalItem", "sharePointEmbedded")
MAX_QUERY_LENGTH = 1500
MAX_RESULTS = 25
MAX_BATCH = 20
DEFAULT_METADATA = ("title", "author")


class Extract(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)  # validator built on first use, not at import

    text: str
    relevance_score: float | None = None


class RetrievalHit(BaseModel):
    """One document (or connector item) with the extracts that matched."""

    model_config = ConfigDict(frozen=True, defer_build=True)  # validator built on first use, not at import

    url: str
    extracts: tuple[Extract, ...] = ()
    resource_type: str | None = None
    metadata: dict[str, Any] = {}
    sensitivity_label: SensitivityLabel | None = None
    data_source: str
    queries: tuple[str, ...] = ()
    request_id: str | None = None

    @property
    def title(self) -> str | None:
        value = self.metadata.get("title")
        return str(value) if value else None

    @property
    def author(self) -> str | None:
        value = self.metadata.get("author")
        return str(value) if value else None

    @property
    def text(self) -> str:
        return "\n\n".join(extract.text for extract in self.extracts)

    @property
    def score(self) -> float | None:
        scores = [e.relevance_score for e in self.extracts if e.relevance_score is not None]
        return max(scores) if scores else None


@dataclass(frozen=True, slots=True)
class RetrievalQuery:
    """One validated request: a query against one data source."""

    query: str
    data_source: str
    body: RetrievalRequest


def build_query(
    query: str,
    *,
    data_source: str = "sharePoint",
    filter: str | None = None,
    metadata: Sequence[str] | None = None,
    max_results: int | None = None,
    connections: Sequence[str] | None = None,
    container_type_id: str | None = None,
) -> RetrievalQuery:
    """Validate every argument before anything is sent."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError("query", "the query is empty")
    validate_text("query", query)
    metadata = None if metadata is None else as_list(metadata)
    connections = as_list(connections)
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInputError("query", f"{len(query):,} characters; the service takes at most {MAX_QUERY_LENGTH:,}")
    if data_source not in DATA_SOURCES:
        raise InvalidInputError("data_source", f"{shown(data_source)} is not one of {', '.join(DATA_SOURCES)}")
    if max_results is not None and (isinstance(max_results, bool) or not isinstance(max_results, int)
                                    or not 1 <= max_results <= MAX_RESULTS):
        raise InvalidInputError("max_results", f"{max_results!r} is not a whole number from 1 to {MAX_RESULTS}")
    if connections and data_source != "externalItem":
        raise InvalidInputError("connections", "connection ids only apply to the externalItem data source")
    if container_type_id is not None:
        if data_source != "sharePointEmbedded":
            raise InvalidInputError(
                "container_type_id", "a container type only applies to the sharePointEmbedded data source"
            )
        if not isinstance(container_type_id, str) or not container_type_id.strip():
            raise InvalidInputError("container_type_id", "the container type id is empty")
        validate_text("container_type_id", container_type_id)
    if filter is not None:
        # The KQL checker (0.6 ms of compiled patterns and classes) loads with the first filter.
        from copilot_tools._kql import check_filter

        check_filter(filter, allow_any_property=data_source == "externalItem")
    validate_names("connections", connections, CONNECTION_ID)
    if metadata is not None:
        validate_names("metadata", metadata, PROPERTY_NAME)
    configuration = None
    if connections:
        configuration = DataSourceConfiguration(external_item=ExternalItemConfiguration(
            connections=[ExternalConnection(connection_id=c) for c in connections]))
    elif container_type_id is not None:
        configuration = DataSourceConfiguration(share_point_embedded=SharePointEmbeddedConfiguration(
            container_type_id=container_type_id))
    body = RetrievalRequest(
        query_string=query,
        data_source=data_source,
        data_source_configuration=configuration,
        filter_expression=filter,
        resource_metadata=list(metadata) if metadata is not None else list(DEFAULT_METADATA),
        maximum_number_of_results=max_results,
    )
    return RetrievalQuery(query, data_source, body)


def require_graph(endpoint: Endpoint) -> None:
    if endpoint.is_workiq:
        raise InvalidInputError("endpoint", "the Retrieval API is on Microsoft Graph, not Work IQ",
                                hint="Use --endpoint graph (or a Graph-compatible base URL) for retrieval.")


def single_flow(endpoint: Endpoint, query: RetrievalQuery, policy: RetryPolicy) -> Flow:
    require_graph(endpoint)
    request = HttpRequest("POST", endpoint.retrieval_url(), json=query.body.to_wire())
    return exchange(request, operation="read", policy=policy, endpoint=endpoint)


def parse_hits(body: bytes | Any, query: RetrievalQuery, request_id: str | None = None) -> list[RetrievalHit]:
    try:
        data = _json.loads(body) if isinstance(body, (bytes, str)) else body
        response = RetrievalResponse.model_validate(data)
    except (ValueError, ValidationError):
        raise ServiceError("The retrieval answer is not in the API's shape.", request_id=request_id) from None
    return [
        RetrievalHit(
            url=hit.web_url or "",  # a hit without webUrl keeps its extracts
            extracts=tuple(Extract(text=e.text, relevance_score=e.relevance_score) for e in hit.extracts),
            resource_type=hit.resource_type,
            metadata=dict(hit.resource_metadata),
            sensitivity_label=SensitivityLabel.from_wire(hit.sensitivity_label),
            data_source=query.data_source,
            queries=(query.query,),
            request_id=request_id,
        )
        for hit in response.retrieval_hits
    ]


# --- $batch ---------------------------------------------------------------------------------


BatchFlow = Generator[RunFlow | Sleep, Received | None, list[RetrievalHit]]


def batch_flow(endpoint: Endpoint, queries: Sequence[RetrievalQuery], policy: RetryPolicy) -> BatchFlow:
    """Send ``queries`` through ``$batch`` in groups of 20, retrying throttled items alone.

    Each sub-response is checked on its own. A 429/503/504 item is sent again (alone
    with the others that failed the same way) after the longest ``Retry-After`` among
    them; any other failure raises its typed error naming the query.
    """
    require_graph(endpoint)
    results: dict[int, list[RetrievalHit]] = {}
    pending = list(range(len(queries)))
    attempt = 0
    while pending:
        retry: list[int] = []
        waits: list[float] = []
        last: CopilotError | None = None
        for start in range(0, len(pending), MAX_BATCH):
            group = pending[start : start + MAX_BATCH]
            received = yield RunFlow(exchange(
                _batch_request(endpoint, queries, group), operation="read", policy=policy, endpoint=endpoint,
            ))
            assert received is not None
            sent = {str(index): index for index in group}
            answered: set[int] = set()
            for item in _batch_items(received):
                index = sent.get(str(item.id))
                if index is None or index in answered:
                    raise ServiceError(
                        f"The $batch answer holds a response with id {str(item.id)[:40]!r}, which this request "
                        "did not send (or answers one twice).",
                        hint="This may be a proxy or an outage; try again, and report the request id if it persists.",
                        request_id=received.request_id,
                    )
                answered.add(index)
                if 200 <= item.status < 300:
                    results[index] = parse_hits(item.body, queries[index], received.request_id)
                    continue
                headers = {k.lower(): str(v) for k, v in item.headers.items()}
                body = json.dumps(item.body).encode() if item.body is not None else b""
                error = error_from_response(item.status, headers, body, endpoint_name=endpoint.name, operation="read")
                retry_after = parse_retry_after(headers.get("retry-after"))
                delay = policy.delay_for_status("read", item.status, attempt, retry_after)
                if delay is None:
                    raise _named(error, queries[index])
                retry.append(index)
                waits.append(delay)
                last = _named(error, queries[index])
        missing = [i for i in pending if i not in results and i not in retry]
        if missing:
            raise ServiceError(f"The batch answer left out {len(missing)} of its requests.")
        pending = retry
        if pending:
            attempt += 1
            yield Sleep(max(waits), last, attempt)
    return merge_hits(hit for index in range(len(queries)) for hit in results[index])


def _batch_request(endpoint: Endpoint, queries: Sequence[RetrievalQuery], group: Sequence[int]) -> HttpRequest:
    batch = BatchRequest(requests=[
        BatchRequestItem(id=str(index), method="POST", url="/copilot/retrieval",
                         body=queries[index].body.to_wire(), headers={"Content-Type": "application/json"})
        for index in group
    ])
    return HttpRequest("POST", endpoint.batch_url(), json=batch.to_wire())


def _batch_items(received: Received) -> list[Any]:
    try:
        return list(BatchResponse.model_validate(_json.loads(received.body or b"")).responses)
    except (ValueError, ValidationError):
        raise ServiceError("The $batch answer is not in the API's shape.", request_id=received.request_id) from None


def _named(error: CopilotError, query: RetrievalQuery) -> CopilotError:
    """The error with the query it belongs to named in its message."""
    return error.replace(message=f"{error.message} [query {query.query!r} on {query.data_source}]")


def merge_hits(hits: Iterable[RetrievalHit]) -> list[RetrievalHit]:
    """One hit per URL, in first-seen order; extracts and queries of duplicates are kept."""
    merged: dict[str, RetrievalHit] = {}
    for hit in hits:
        if not hit.url:  # nothing says two hits without a URL are the same document
            merged[f"\0{len(merged)}"] = hit
            continue
        seen = merged.get(hit.url)
        if seen is None:
            merged[hit.url] = hit
            continue
        texts = {e.text for e in seen.extracts}
        merged[hit.url] = seen.model_copy(update={
            "extracts": seen.extracts + tuple(e for e in hit.extracts if e.text not in texts),
            "queries": seen.queries + tuple(q for q in hit.queries if q not in seen.queries),
        })
    return list(merged.values())


# --- presentation -----------------------------------------------------------------------------


def render_hits(hits: Sequence[RetrievalHit]) -> str:
    """Numbered extracts with their sources, for a model or a person."""
    if not hits:
        return "No matching documents were found."
    blocks = []
    for number, hit in enumerate(hits, 1):
        heading = f"[{number}] {hit.title or hit.url or 'Untitled document'}"
        details = [hit.url] if hit.url else []
        if hit.author:
            details.append(f"by {hit.author}")
        if hit.sensitivity_label and hit.sensitivity_label.name:
            details.append(f"sensitivity: {hit.sensitivity_label.name}")
        extracts = "\n".join(f"> {e.text.strip()}" for e in hit.extracts if e.text.strip())
        blocks.append(f"{heading}\n{' · '.join(details)}\n{extracts}".rstrip())
    return "\n\n".join(blocks)


def hits_structured(hits: Sequence[RetrievalHit]) -> dict[str, Any]:
    return {
        "hits": [
            {
                "index": number,
                "url": hit.url,
                "title": hit.title,
                "extracts": [e.model_dump() for e in hit.extracts],
                "score": hit.score,
                "resource_type": hit.resource_type,
                "data_source": hit.data_source,
                "metadata": hit.metadata,
                "sensitivity_label": hit.sensitivity_label.model_dump() if hit.sensitivity_label else None,
            }
            for number, hit in enumerate(hits, 1)
        ]
    }


RETRIEVAL_SCHEMA: dict[str, Any] = object_of({
    "hits": array_of(object_of({
        "index": "integer",
        "url": "string",
        "title": "string?",
        "extracts": array_of(object_of({"text": "string", "relevance_score": "number?"}, required=("text",))),
        "score": "number?",
        "resource_type": "string?",
        "data_source": "string",
        "metadata": "object",
        "sensitivity_label": "object?",
    }, required=("index", "url", "title", "extracts", "data_source"))),
})
