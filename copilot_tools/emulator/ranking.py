"""BM25 over passages, deterministic, with a coverage measure for "does this really match".

BM25 alone always ranks *something* first; an assistant that cites the office-move memo
for a box-office question looks broken. So each hit also reports its *coverage*: the
share of the question's term weight (IDF) that the passage contains, where a term the
tenant has never seen weighs the most. The composer and the retrieval endpoint set their
own coverage thresholds. Ties break on passage order, so the same question always gets
the same passages.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from copilot_tools.emulator.corpus import Corpus, Document
from copilot_tools.emulator.text import length, split_sentences, terms

K1 = 1.2
B = 0.75
PASSAGE_WORDS = 120


@dataclass(frozen=True, slots=True, eq=False)
class Passage:
    """A run of units under one heading; ``document`` is None for the caller's extra context."""

    ordinal: int
    units: tuple[str, ...]
    heading: str = ""
    document: Document | None = None
    context_index: int | None = None

    @property
    def text(self) -> str:
        return " ".join(self.units)


@dataclass(frozen=True, slots=True)
class Hit:
    passage: Passage
    score: float
    coverage: float
    matched: tuple[str, ...] = ()  # the question's terms found here, rarest first

    @property
    def relevance(self) -> float:
        """BM25 weighted by coverage: a passage that answers all of the question beats one
        that repeats half of it."""
        return self.score * self.coverage


def _chunks(units: Sequence[str]) -> Iterable[tuple[str, ...]]:
    chunk: list[str] = []
    size = 0
    for unit in units:
        words = length(unit)
        if chunk and size + words > PASSAGE_WORDS:
            yield tuple(chunk)
            chunk, size = [], 0
        chunk.append(unit)
        size += words
    if chunk:
        yield tuple(chunk)


def document_passages(documents: Iterable[Document]) -> list[Passage]:
    passages: list[Passage] = []
    for document in documents:
        for section in document.sections:
            for chunk in _chunks(section.units):
                passages.append(Passage(len(passages), chunk, section.heading, document))
    return passages


def context_passages(texts: Sequence[str], start: int) -> list[Passage]:
    """The request's ``additionalContext`` entries, ranked together with the tenant."""
    return [
        Passage(start + i, tuple(split_sentences(text)) or (text,), context_index=i)
        for i, text in enumerate(texts)
        if text.strip()
    ]


class Index:
    """An inverted index over passages; scoring uses the indexed passages' statistics."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = list(passages)
        self._tf: list[Counter[str]] = []
        self._length: list[int] = []
        self._postings: dict[str, list[int]] = {}
        for position, passage in enumerate(self.passages):
            counts = Counter(self._passage_terms(passage))
            self._tf.append(counts)
            self._length.append(sum(counts.values()))
            for term in counts:
                self._postings.setdefault(term, []).append(position)
        self._avgdl = (sum(self._length) / len(self._length)) if self._length else 1.0

    @staticmethod
    def _passage_terms(passage: Passage) -> list[str]:
        # Title and heading are searchable: "travel policy" should find the Travel Policy.
        label = f"{passage.document.title} {passage.heading}" if passage.document is not None else ""
        return terms(f"{label} {passage.text}")

    def idf(self, term: str) -> float:
        """Robertson–Spärck Jones IDF; a term in no passage gets the highest weight."""
        total = len(self.passages)
        found = len(self._postings.get(term, ()))
        return math.log(1 + (total - found + 0.5) / (found + 0.5))

    def _hit(self, passage: Passage, counts: Counter[str], length: int, query: Sequence[str]) -> Hit:
        score = 0.0
        found = 0.0
        weight = 0.0
        matched: list[tuple[float, str]] = []
        for term in query:
            idf = self.idf(term)
            weight += idf
            tf = counts.get(term, 0)
            if tf:
                found += idf
                matched.append((idf, term))
                score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / self._avgdl))
        matched.sort(key=lambda item: (-item[0], item[1]))
        return Hit(passage, score, found / weight if weight else 0.0, tuple(term for _, term in matched))

    def search(
        self,
        question: str,
        *,
        allow: Callable[[Passage], bool] | None = None,
        extra: Sequence[Passage] = (),
        limit: int = 20,
    ) -> list[Hit]:
        """Passages that share a term with ``question``, most relevant first (ties: passage order)."""
        query = list(dict.fromkeys(terms(question)))
        if not query:
            return []
        candidates = sorted({p for term in query for p in self._postings.get(term, ())})
        hits: list[Hit] = []
        for position in candidates:
            passage = self.passages[position]
            if allow is not None and not allow(passage):
                continue
            hits.append(self._hit(passage, self._tf[position], self._length[position], query))
        for passage in extra:
            counts = Counter(self._passage_terms(passage))
            hit = self._hit(passage, counts, sum(counts.values()), query)
            if hit.score > 0:
                hits.append(hit)
        hits.sort(key=lambda hit: (-hit.relevance, hit.passage.ordinal))
        return hits[:limit]

    def rank_units(self, units: Sequence[str], question: str) -> list[tuple[int, float]]:
        """(position, weight) of the units that share terms with ``question``, best first."""
        query = set(terms(question))
        scored = []
        for position, unit in enumerate(units):
            weight = sum(self.idf(term) for term in set(terms(unit)) & query)
            if weight > 0:
                scored.append((position, weight))
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored


@lru_cache(maxsize=16)
def index_for(corpus: Corpus, *, embedded: bool = False) -> Index:
    """The corpus's index, built once per corpus (corpora are cached per folder).

    SharePoint Embedded files have an index of their own (``embedded=True``): only the
    Retrieval API reaches them, with their container type, as on the service, where
    Copilot chat does not ground on an application's containers.
    """
    return Index(document_passages(d for d in corpus.documents if d.is_embedded == embedded))
