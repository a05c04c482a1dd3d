"""Evidence for citations: each ``[n]`` checked against the document it cites.

Sans-IO, like ``_retrieval``. ``plan_verification(answer)`` finds, for every citation of
an ``Answer``, the sentences of the answer that cite it and, when the citation links a
SharePoint or OneDrive file, one Retrieval API query scoped to that file by a KQL
``path:"<url>"`` filter and built from those sentences. The client runs all the queries
in one ``$batch`` (``_retrieval.batch_flow``: throttled items are retried alone) and
``VerificationPlan.judge(hits)`` turns the extracts that came back into a
``Verification``. The Retrieval API answers within the user's own permissions and needs
no Graph permission beyond the ones retrieval already has.

The support measure (``docs/verify.md``), deliberately simple and explainable:

- the *key terms* of a text are its words of three letters or more and its numbers,
  case-folded, without common English stop words and with a plural ``s``/``ies`` undone;
- an extract *supports* a sentence when its relevance score is at least
  ``min_relevance`` (or the service gave none) and it contains at least ``min_overlap``
  of the sentence's key terms, and at least two of them (all of them for a sentence
  with fewer than two);
- a citation is ``supported`` when every sentence citing it has a supporting extract,
  ``partly_supported`` when some have, ``unsupported`` when none has (or nothing came
  back from the document), and ``not_checked`` with a reason when it is not a
  SharePoint/OneDrive file or no sentence cites it;
- the overall figure is the share of checked claims (sentence, citation) that are
  supported. No claim is ever marked supported without the extract that shows it.

Term overlap cannot tell a negation or a changed number in an otherwise identical
sentence; a ``supported`` citation says the document holds passages about the same
things, with the passage to read, not that a reader would agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from copilot_tools import _retrieval as retrieval
from copilot_tools._protocol import Endpoint, validate_file_uri
from copilot_tools._retrieval import BatchFlow, RetrievalHit, RetrievalQuery, build_query
from copilot_tools._retry import RetryPolicy
from copilot_tools._schema import Property, array_of, object_of, prop
from copilot_tools._text import encodable
from copilot_tools.answer import CITATION_MARKER, Answer, Citation
from copilot_tools.errors import InvalidInputError
from copilot_tools.settings import DEFAULT_FILE_HOSTS

MIN_RELEVANCE = 0.5
MIN_OVERLAP = 0.5
MIN_SHARED_TERMS = 2
#: Extracts asked for per cited document (the API returns up to this many hits; ours is one file).
MAX_RESULTS = 3

Status = Literal["supported", "partly_supported", "unsupported", "not_checked"]


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """An extract of the cited document, and how it bears on one sentence."""

    text: str
    relevance_score: float | None
    shared_terms: tuple[str, ...] = ()
    term_overlap: float = 0.0

    def structured(self) -> dict[str, Any]:
        return {"text": self.text, "relevance_score": self.relevance_score,
                "shared_terms": list(self.shared_terms), "term_overlap": round(self.term_overlap, 3)}


@dataclass(frozen=True, slots=True)
class ClaimCheck:
    """One sentence of the answer that cites the document, and the extract that supports it.

    ``evidence`` is the best extract for the sentence; ``supported`` says whether it
    passes the measure. An unsupported claim may still show its closest extract.
    """

    sentence: str
    supported: bool
    evidence: Evidence | None = None

    def structured(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "supported": self.supported,
                "evidence": self.evidence.structured() if self.evidence else None}


@dataclass(frozen=True, slots=True)
class CitationCheck:
    """What the cited document says about the sentences that cite it."""

    index: int
    title: str | None
    url: str | None
    status: Status
    reason: str | None = None
    query: str | None = None
    filter: str | None = None
    data_source: str | None = None
    claims: tuple[ClaimCheck, ...] = ()
    extracts: tuple[Evidence, ...] = ()

    @property
    def support(self) -> float | None:
        """The share of this citation's claims that are supported; None when not checked."""
        if self.status == "not_checked" or not self.claims:
            return None
        return sum(c.supported for c in self.claims) / len(self.claims)

    @property
    def supporting_extract(self) -> Evidence | None:
        """The first extract that supports a claim (what a person reads to check)."""
        return next((c.evidence for c in self.claims if c.supported), None)

    def structured(self) -> dict[str, Any]:
        return {
            "index": self.index, "title": self.title, "url": self.url, "status": self.status,
            "reason": self.reason, "support": self.support, "query": self.query, "filter": self.filter,
            "data_source": self.data_source, "claims": [c.structured() for c in self.claims],
            "extracts": [e.structured() for e in self.extracts],
        }


@dataclass(frozen=True, slots=True)
class Verification:
    """Every citation of one answer, checked or not, and the overall figure."""

    conversation_id: str
    turn_count: int
    citations: tuple[CitationCheck, ...]
    min_relevance: float = MIN_RELEVANCE
    min_overlap: float = MIN_OVERLAP

    @property
    def claims_checked(self) -> int:
        return sum(len(c.claims) for c in self.citations if c.status != "not_checked")

    @property
    def claims_supported(self) -> int:
        return sum(claim.supported for c in self.citations if c.status != "not_checked" for claim in c.claims)

    @property
    def support(self) -> float | None:
        """Supported claims / checked claims; None when nothing could be checked."""
        return self.claims_supported / self.claims_checked if self.claims_checked else None

    @property
    def unsupported(self) -> tuple[CitationCheck, ...]:
        return tuple(c for c in self.citations if c.status in ("unsupported", "partly_supported"))

    def structured(self) -> dict[str, Any]:
        """The JSON every front end publishes (``VERIFICATION_SCHEMA`` describes it)."""
        return {
            "conversation_id": self.conversation_id,
            "turn_count": self.turn_count,
            "support": self.support,
            "claims_checked": self.claims_checked,
            "claims_supported": self.claims_supported,
            "measure": {"min_relevance": self.min_relevance, "min_overlap": self.min_overlap,
                        "min_shared_terms": MIN_SHARED_TERMS},
            "citations": [c.structured() for c in self.citations],
        }

    def render(self) -> str:
        """Plain text for a person or a model: each source, its status and its supporting extract."""
        lines = [f"Citations checked against their documents: {self._summary()}"]
        for check in self.citations:
            title = check.title or check.url or "Untitled source"
            lines.append(f"[{check.index}] {title}: {check.status.replace('_', ' ')}")
            if check.status in ("not_checked", "unsupported"):
                lines.append(f"    {check.reason}")
            shown: set[str] = set()
            for claim in check.claims:
                if claim.supported and claim.evidence is not None and claim.evidence.text not in shown:
                    shown.add(claim.evidence.text)
                    lines.append(f"    > {_one_line(claim.evidence.text)}")
                elif not claim.supported and check.status != "not_checked":
                    lines.append(f"    no extract supports: {_one_line(claim.sentence)}")
        return "\n".join(lines)

    def _summary(self) -> str:
        if self.support is None:
            return "none could be checked."
        return f"{self.claims_supported} of {self.claims_checked} claims supported ({self.support:.0%})."


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


#: An extract of a cited document and how it matches a sentence (``Evidence.structured()``).
_EVIDENCE: dict[str, Property] = {
    "text": "string", "relevance_score": "number?", "shared_terms": array_of("string"), "term_overlap": "number",
}

#: The JSON schema of ``Verification.structured()`` (``copilot_tools._schema`` notation).
VERIFICATION_SCHEMA: dict[str, Any] = object_of({
    "conversation_id": "string",
    "turn_count": prop("integer", "The turn of the conversation whose answer was checked."),
    "support": prop("number?", "Supported claims / checked claims."),
    "claims_checked": "integer",
    "claims_supported": "integer",
    "measure": object_of({"min_relevance": "number", "min_overlap": "number", "min_shared_terms": "integer"},
                         required=()),
    "citations": array_of(object_of({
        "index": prop("integer", "The [n] of the answer."),
        "title": "string?",
        "url": "string?",
        "status": prop("string", enum=get_args(Status)),
        "reason": "string?",
        "support": "number?",
        "query": "string?",
        "filter": "string?",
        "data_source": "string?",
        "claims": array_of(object_of({
            "sentence": "string", "supported": "boolean", "evidence": object_of(_EVIDENCE, nullable=True),
        })),
        "extracts": array_of(object_of(_EVIDENCE)),
    }, required=("index", "title", "url", "status", "reason", "support", "claims", "extracts"))),
}, required=("conversation_id", "turn_count", "support", "claims_checked", "claims_supported", "citations"))


# --- the answer's claims ----------------------------------------------------------------------

_TERM = re.compile(r"[^\W_]+")
_STOP_WORDS = frozenset(
    [
        "the", "and", "for", "are", "but", "not", "you", "your", "yours", "with", "from", "this", "that", "these",
        "those", "was", "were", "has", "have", "had", "its", "our", "ours", "their", "they", "them", "can", "could",
        "will", "would", "shall", "should", "may", "might", "must", "all", "any", "each", "every", "which", "who",
        "whom", "whose", "what", "when", "where", "why", "how", "than", "then", "there", "here", "also", "into",
        "onto", "upon", "about", "over", "under", "after", "before", "between", "only", "just", "very", "more",
        "most", "less", "least", "such", "same", "other", "some", "been", "being", "does", "did", "doing", "per",
        "via", "out", "off", "one",
    ]
)


def key_terms(text: str) -> tuple[str, ...]:
    """The words (3+ letters) and numbers of ``text``, folded, without stop words, in order."""
    seen: dict[str, None] = {}
    for match in _TERM.finditer(text.casefold()):
        word = match.group(0)
        if not any(ch.isdigit() for ch in word):
            if len(word) < 3 or word in _STOP_WORDS:
                continue
            if len(word) > 4 and word.endswith("ies"):
                word = word[:-3] + "y"
            elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
                word = word[:-1]
        seen.setdefault(word, None)
    return tuple(seen)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LEADING_MARKERS = re.compile(rf"^((?:{CITATION_MARKER.pattern}\s*)+)")
_LINK = re.compile(r"\[([^\[\]\n]*)\]\([^()\s]*\)")
_DECORATION = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d{1,3}[.)]\s+|>\s*)+|[*_`]+")
_SPACE_BEFORE_STOP = re.compile(r"\s+([.,;:!?])")


def plain(sentence: str) -> str:
    """A sentence without its markers, links' targets and markdown decoration."""
    text = CITATION_MARKER.sub("", sentence)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _DECORATION.sub("", text)
    return _SPACE_BEFORE_STOP.sub(r"\1", " ".join(text.split())).strip(" |")


def _sentences(line: str) -> list[str]:
    """The sentences of one line; markers that open a sentence belong to the one before."""
    pieces = _SENTENCE_END.split(line)
    sentences: list[str] = []
    for piece in pieces:
        lead = _LEADING_MARKERS.match(piece)
        if lead and sentences:
            sentences[-1] += " " + lead.group(1).strip()
            piece = piece[lead.end():]
        if piece.strip():
            sentences.append(piece)
    return sentences


def citing_sentences(text: str) -> dict[int, list[str]]:
    """For each ``[n]`` in ``text``: the sentences (plain text, first appearance order) that cite it."""
    found: dict[int, dict[str, None]] = {}  # a dict per citation: ordered, and linear to deduplicate
    for line in text.split("\n"):
        for sentence in _sentences(line):
            numbers = {int(n) for n in CITATION_MARKER.findall(sentence)}
            if not numbers:
                continue
            cleaned = plain(sentence)
            if not cleaned:
                continue
            for number in sorted(numbers):
                found.setdefault(number, {})[cleaned] = None
    return {number: list(sentences) for number, sentences in found.items()}


# --- which citations can be checked, and how ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """How one document is named to the Retrieval API: a path prefix, maybe a file name."""

    path: str
    filename: str | None = None
    data_source: str = "sharePoint"

    def kql(self) -> str:
        path = f'path:"{self.path}"'
        return f'{path} AND Filename:"{self.filename}"' if self.filename else path

    def matches(self, url: str) -> bool:
        """Whether a retrieval hit's URL is this document."""
        target = _comparable(url)
        if not target.startswith(_comparable(self.path)):
            return False
        return self.filename is None or target.rsplit("/", 1)[-1] == self.filename.casefold()


def _comparable(url: str) -> str:
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), unquote(parts.path).rstrip("/"), "", "")).casefold()


def scope_of(url: str, file_hosts: Sequence[str] = DEFAULT_FILE_HOSTS) -> Scope | str:
    """The document's ``Scope``, or why the citation's URL cannot be checked by retrieval.

    A direct file URL is scoped by its path (query and fragment dropped). SharePoint's
    ``_layouts/15/Doc.aspx?sourcedoc=…&file=Name.docx`` viewer links do not hold the
    folder, so they are scoped by site and file name. ``*-my.sharepoint.*`` hosts are
    OneDrive (the ``oneDriveBusiness`` data source).
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if host == "teams.microsoft.com" or host.endswith((".teams.microsoft.com", "outlook.office.com",
                                                       "outlook.office365.com")):
        return "a meeting or calendar item: the Retrieval API reaches only SharePoint, OneDrive and connector content"
    if host.endswith("office.com") and parts.path.lower().startswith("/search"):
        return "a person or a search, not a document"
    try:
        validate_file_uri(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), file_hosts)
    except InvalidInputError:
        return ("not a SharePoint or OneDrive file (a web page or a connector item): the Retrieval API "
                "cannot be scoped to it by path")
    source = "oneDriveBusiness" if host.split(".", 1)[0].endswith("-my") else "sharePoint"
    layouts = re.search(r"/_layouts/\d+/", parts.path, re.IGNORECASE)
    if layouts:
        names = parse_qs(parts.query).get("file")
        if not names or not names[0].strip() or '"' in names[0]:
            return "a SharePoint viewer link without a file name: its document cannot be named to the Retrieval API"
        site = urlunsplit((parts.scheme, parts.netloc, parts.path[: layouts.start()], "", ""))
        return Scope(site, names[0].strip(), source)
    path = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    if '"' in path:
        return "a URL with a quote in it cannot be put in a KQL path filter"
    return Scope(path, None, source)


@dataclass(frozen=True, slots=True)
class _Target:
    citation: Citation
    sentences: tuple[str, ...]
    scope: Scope | None = None
    reason: str | None = None
    query: RetrievalQuery | None = None


def _query_text(sentences: Sequence[str]) -> str:
    text = " ".join(sentences)
    if len(text) <= retrieval.MAX_QUERY_LENGTH:
        return text
    cut = text[: retrieval.MAX_QUERY_LENGTH]
    return cut.rsplit(" ", 1)[0] or cut


def _target(citation: Citation, sentences: Sequence[str], file_hosts: Sequence[str]) -> _Target:
    if citation.source == "external":
        return _Target(citation, tuple(sentences), reason="context supplied with the question: there is no "
                       "document to fetch")
    if not citation.url:
        return _Target(citation, tuple(sentences), reason="the citation has no link")
    scope = scope_of(citation.url, file_hosts)
    if isinstance(scope, str):
        return _Target(citation, tuple(sentences), reason=scope)
    if not sentences:
        return _Target(citation, (), scope, reason="no sentence of the answer cites it (a source used "
                       "without a marker), so there is no claim to check")
    try:
        query = build_query(_query_text(sentences), data_source=scope.data_source, filter=scope.kql(),
                            metadata=["title"], max_results=MAX_RESULTS)
    except InvalidInputError as exc:  # text or a link the API would refuse: say so, check the rest
        return _Target(citation, tuple(sentences), reason=f"no valid retrieval query could be built ({exc.message})")
    return _Target(citation, tuple(sentences), scope, query=query)


@dataclass(frozen=True, slots=True)
class VerificationPlan:
    """The queries that check an answer's citations, and how to judge what comes back."""

    answer: Answer
    targets: tuple[_Target, ...]
    min_relevance: float = MIN_RELEVANCE
    min_overlap: float = MIN_OVERLAP

    @property
    def queries(self) -> list[RetrievalQuery]:
        """The queries to send: one per citation that can be checked."""
        return [t.query for t in self.targets if t.query is not None]

    def batch(self, endpoint: Endpoint, policy: RetryPolicy) -> BatchFlow:
        """Every query in one ``$batch`` (20 per request), throttled items retried alone."""
        return retrieval.batch_flow(endpoint, self.queries, policy)

    def judge(self, hits: Iterable[RetrievalHit]) -> Verification:
        """The verification from the hits of ``batch`` (hits of other documents are ignored)."""
        hits = list(hits)
        checks = []
        for target in self.targets:
            if target.query is None or target.scope is None:
                checks.append(CitationCheck(
                    index=target.citation.index, title=target.citation.title, url=target.citation.url,
                    status="not_checked", reason=target.reason, claims=tuple(
                        ClaimCheck(sentence, False) for sentence in target.sentences)))
                continue
            scope = target.scope
            found = [h for h in hits if target.query.query in h.queries and scope.matches(h.url)]
            checks.append(self._check(target, [e for h in found for e in h.extracts]))
        return Verification(self.answer.conversation_id, self.answer.turn_count, tuple(checks), self.min_relevance,
                            self.min_overlap)

    def _check(self, target: _Target, extracts: Sequence[retrieval.Extract]) -> CitationCheck:
        assert target.query is not None and target.scope is not None
        # Each extract's terms once, not once per sentence that cites the document.
        extract_terms = [(extract, frozenset(key_terms(extract.text))) for extract in extracts]
        claims = tuple(self._claim(sentence, extract_terms) for sentence in target.sentences)
        supported = sum(c.supported for c in claims)
        if supported == len(claims):
            status: Status = "supported"
            reason = None
        elif supported:
            status, reason = "partly_supported", "some sentences citing it have no supporting extract"
        elif not extracts:
            status, reason = "unsupported", "no extract of the cited document came back for these sentences"
        else:
            status, reason = "unsupported", "no extract of the cited document shares enough of the sentences' key terms"
        return CitationCheck(
            index=target.citation.index, title=target.citation.title, url=target.citation.url, status=status,
            reason=reason, query=target.query.query, filter=target.scope.kql(), data_source=target.scope.data_source,
            claims=claims, extracts=tuple(Evidence(encodable(e.text), e.relevance_score) for e in extracts),
        )

    def _claim(self, sentence: str, extracts: Sequence[tuple[retrieval.Extract, frozenset[str]]]) -> ClaimCheck:
        wanted = key_terms(sentence)
        best: Evidence | None = None
        for extract, have in extracts:
            shared = tuple(term for term in wanted if term in have)
            overlap = len(shared) / len(wanted) if wanted else 0.0
            if best is None or overlap > best.term_overlap:
                best = Evidence(encodable(extract.text), extract.relevance_score, shared, overlap)
        return ClaimCheck(sentence, best is not None and self._supports(best, len(wanted)), best)

    def _supports(self, evidence: Evidence, wanted: int) -> bool:
        relevant = evidence.relevance_score is None or evidence.relevance_score >= self.min_relevance
        enough = len(evidence.shared_terms) >= min(MIN_SHARED_TERMS, wanted) > 0
        return relevant and enough and evidence.term_overlap >= self.min_overlap


def plan_verification(
    answer: Answer,
    *,
    file_hosts: Sequence[str] = DEFAULT_FILE_HOSTS,
    min_relevance: float = MIN_RELEVANCE,
    min_overlap: float = MIN_OVERLAP,
) -> VerificationPlan:
    """What to ask the Retrieval API to check ``answer``'s citations (nothing is sent here)."""
    if not 0 <= min_relevance <= 1 or not 0 < min_overlap <= 1:
        raise InvalidInputError("verification thresholds", "min_relevance must be in [0, 1] and min_overlap in (0, 1]")
    sentences = citing_sentences(answer.text)
    targets = tuple(_target(c, sentences.get(c.index, []), file_hosts) for c in answer.citations)
    return VerificationPlan(answer, targets, min_relevance, min_overlap)
