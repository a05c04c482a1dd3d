"""``POST /copilot/retrieval``: the passages Copilot would ground on, with their metadata.

The body is checked as the reference documents it (``queryString`` of 1 to 1,500
characters, one ``dataSource``, connections only with ``externalItem``, at most 25
results, given as a number or a numeric string), then the same BM25 index as the chat
ranks the chosen source. Unlike the chat, which quotes only strong matches, retrieval
returns every document that shares a term with the query, best first, the way a search
API does; ``relevanceScore`` (the share of the query a passage covers, scaled by the
sentence's weight) lets the caller judge. Hits have the shape of the reference's examples, down to the
retrieval example's spelling ``toolTip``. A filter outside the emulator's KQL subset runs
unscoped, as on the service, with an ``x-emulator-warning`` header saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from copilot_tools._wire import RetrievalExtract, RetrievalHit, RetrievalRequest, RetrievalResponse
from copilot_tools.emulator.corpus import EMBEDDED, SOURCES, Corpus, Document
from copilot_tools.emulator.errors import bad_request, validated
from copilot_tools.emulator.kql import KqlError, Predicate, parse_filter
from copilot_tools.emulator.payloads import dump, sensitivity_label
from copilot_tools.emulator.ranking import Hit, Index, index_for
from copilot_tools.emulator.text import split_sentences, terms, whole_number

DATA_SOURCES = SOURCES  # every source a corpus file may have is one the API takes
MAX_QUERY = 1500
MAX_RESULTS = 25
EXTRACTS_PER_HIT = 3


@dataclass(frozen=True, slots=True)
class RetrievalResult:
    body: dict[str, Any]
    warning: str | None = None


def _metadata(document: Document) -> dict[str, Any]:
    """Every field a caller may ask for in ``resourceMetadata``, by lower-cased name."""
    label = document.label.sensitivity_label_id if document.label else None
    values: dict[str, Any] = {
        "title": document.title,
        "author": document.author,
        "filename": document.filename,
        "fileextension": document.extension,
        "filetype": document.extension,
        "lastmodifiedby": document.modified_by,
        "modifiedby": document.modified_by,
        "lastmodifieddatetime": document.modified.isoformat().replace("+00:00", "Z") if document.modified else None,
        "lastmodifiedtime": document.modified.isoformat().replace("+00:00", "Z") if document.modified else None,
        "createddatetime": document.created.isoformat().replace("+00:00", "Z") if document.created else None,
        "created": document.created.isoformat().replace("+00:00", "Z") if document.created else None,
        "siteid": document.site_id,
        "sitename": document.site,
        "weburl": document.web_url,
        "path": document.web_url,
        "informationprotectionlabelid": label,
        "sensitivitylabelid": label,
        "connectionid": document.connection_id,
        "containertypeid": document.container_type_id,
    }
    return {key: value for key, value in values.items() if value}


def container_type(body: dict[str, Any]) -> str | None:
    """``dataSourceConfiguration.sharePointEmbedded.containerTypeId``, if the body has one."""
    config = body.get("dataSourceConfiguration")
    embedded = config.get("sharePointEmbedded") if isinstance(config, dict) else None
    value = embedded.get("containerTypeId") if isinstance(embedded, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _check_configuration(body: dict[str, Any], source: str, base: str) -> None:
    """A configuration fits its data source: connections for connectors (optional), a
    container type for SharePoint Embedded (required, and beta only, as documented)."""
    config = body.get("dataSourceConfiguration")
    if source == EMBEDDED:
        if base.endswith("/v1.0"):
            raise bad_request("The sharePointEmbedded dataSource is only available on /beta.")
        if container_type(body) is None:
            raise bad_request("The sharePointEmbedded dataSource needs dataSourceConfiguration: "
                              '{"sharePointEmbedded": {"containerTypeId": "<container type id>"}}.')
        if isinstance(config, dict) and config.get("externalItem") is not None:
            raise bad_request(
                "dataSourceConfiguration.externalItem cannot be used with the sharePointEmbedded dataSource."
            )
    elif config is not None and source != "externalItem":
        raise bad_request("dataSourceConfiguration can only be used with the externalItem or sharePointEmbedded "
                          "dataSource.")
    elif isinstance(config, dict) and config.get("sharePointEmbedded") is not None:
        raise bad_request("dataSourceConfiguration.sharePointEmbedded can only be used with the sharePointEmbedded "
                          "dataSource.")


def _check(body: Any, base: str) -> RetrievalRequest:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    query = body.get("queryString")
    if not isinstance(query, str) or not query.strip():
        raise bad_request("queryString is required and cannot be empty.")
    if len(query) > MAX_QUERY:
        raise bad_request(f"queryString is {len(query)} characters long; the limit is {MAX_QUERY}.")
    source = body.get("dataSource")
    if source is None:
        raise bad_request(f"dataSource is required: {', '.join(DATA_SOURCES)}.")
    if source not in DATA_SOURCES:
        raise bad_request(f"dataSource '{source}' is not one of {', '.join(DATA_SOURCES)}.")
    _check_configuration(body, source, base)
    maximum = body.get("maximumNumberOfResults")
    if maximum is not None:
        number = whole_number(maximum.strip()) if isinstance(maximum, str) else maximum
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_RESULTS:
            raise bad_request(f"maximumNumberOfResults must be a whole number from 1 to {MAX_RESULTS}.")
    metadata = body.get("resourceMetadata")
    if metadata is not None and (not isinstance(metadata, list) or not all(isinstance(m, str) for m in metadata)):
        raise bad_request("resourceMetadata must be a list of field names, such as [\"title\", \"author\"].")
    return validated(RetrievalRequest, body, "retrieval request")


def _scope(request: RetrievalRequest, container: str | None) -> tuple[Predicate, str | None]:
    """Which documents the request may see, and a warning when its filter was ignored."""
    connections: set[str] = set()
    config = request.data_source_configuration
    if config is not None and config.external_item is not None:
        connections = {c.connection_id.casefold() for c in config.external_item.connections}
    source = request.data_source
    kql: Predicate | None = None
    warning = None
    if request.filter_expression and request.filter_expression.strip():
        try:
            kql = parse_filter(request.filter_expression)
        except KqlError as exc:
            warning = (
                f"filterExpression ignored ({exc}); like the service, the query ran unscoped across the whole source"
            )

    def allowed(document: Document) -> bool:
        if document.source != source:
            return False
        if connections and (document.connection_id or "").casefold() not in connections:
            return False
        if container is not None and (document.container_type_id or "").casefold() != container.casefold():
            return False
        return kql is None or kql(document)

    return allowed, warning


def query_sentences(index: Index, query: str) -> list[tuple[frozenset[str], float]]:
    """Each sentence of ``query`` as its terms and their total weight (IDF), weighed once per
    request; a sentence without weight is left out."""
    weighed = []
    for sentence in split_sentences(query) or [query]:
        wanted = frozenset(terms(sentence))
        total = sum(index.idf(term) for term in wanted)
        if total:
            weighed.append((wanted, total))
    return weighed


def unit_relevance(index: Index, unit: str, sentences: list[tuple[frozenset[str], float]]) -> float:
    """``relevanceScore`` of one extract: the share of the query's term weight (IDF) it holds,
    against the query sentence (``query_sentences``) it matches best, so that a sentence quoted
    from the document scores 1.0 whatever else the query holds (the service's score is a cosine in 0..1)."""
    have = set(terms(unit))
    best = max((sum(index.idf(term) for term in wanted & have) / total for wanted, total in sentences), default=0.0)
    return round(best, 4)


def _hit(document: Document, hits: list[Hit], index: Index, request: RetrievalRequest,
         sentences: list[tuple[frozenset[str], float]]) -> RetrievalHit:
    # The document's best sentences wherever they are, not the best passage's first three:
    # a query made of sentences the chat quoted from this file finds each of them.
    scored: dict[str, float] = {}
    for hit in hits:
        for unit in hit.passage.units:
            if unit in scored:
                continue  # the same text scores the same
            score = unit_relevance(index, unit, sentences)
            if score > 0:
                scored[unit] = score
    top = sorted(scored.items(), key=lambda item: -item[1])[:EXTRACTS_PER_HIT]
    extracts = [RetrievalExtract(text=text, relevance_score=score) for text, score in top]
    fields = _metadata(document)
    metadata = {name: fields[name.casefold()] for name in request.resource_metadata or () if name.casefold() in fields}
    labelled = {"sensitivity_label": sensitivity_label(document.label)} if document.is_file else {}
    return RetrievalHit(
        web_url=document.web_url,
        extracts=extracts,
        resource_type="listItem" if document.is_file else "externalItem",
        resource_metadata=metadata,
        **labelled,
    )


def run_retrieval(body: Any, corpus: Corpus, base: str) -> RetrievalResult:
    """The retrieval answer for ``body``; raises ``ApiError`` (400) for a body the API refuses."""
    request = _check(body, base)
    allowed, warning = _scope(request, container_type(body))
    index = index_for(corpus, embedded=request.data_source == EMBEDDED)
    limit = request.maximum_number_of_results or MAX_RESULTS
    ranked = index.search(request.query_string, allow=lambda p: p.document is not None and allowed(p.document),
                          limit=len(index.passages))
    by_document: dict[Document, list[Hit]] = {}
    for hit in ranked:
        document = hit.passage.document
        if document is None:
            continue
        if document in by_document or len(by_document) < limit:
            by_document.setdefault(document, []).append(hit)
    sentences = query_sentences(index, request.query_string)
    response = RetrievalResponse(
        retrieval_hits=[_hit(document, hits, index, request, sentences) for document, hits in by_document.items()],
        **{"@odata.context": f"{base}/$metadata#microsoft.graph.retrievalResponse"},  # an extra field
    )
    data = dump(response)
    for hit in data["retrievalHits"]:
        label = hit.get("sensitivityLabel")
        if label is not None:  # the retrieval reference spells it toolTip (the model reads both)
            hit["sensitivityLabel"] = {("toolTip" if k == "tooltip" else k): v for k, v in label.items()}
    return RetrievalResult(data, warning)
