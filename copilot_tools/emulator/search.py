"""Grounded answers: the best passages of the tenant (and of the caller's extra context),
quoted sentence by sentence with a marker each, and the "nothing found" answers.

A reply quotes *sentences* from the best passages, never whole documents, so its
citations are checkable: each bullet is a sentence of the cited file. Weak matches are
dropped (coverage below a threshold, or far below the best score), which is how a
box-office question ends up with "nothing in your tenant" rather than a random memo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from copilot_tools.emulator.corpus import Corpus, Document
from copilot_tools.emulator.draft import EXTERNAL, Draft, Reply, Source, echo, literal
from copilot_tools.emulator.mentions import tag_mentions, with_marker
from copilot_tools.emulator.ranking import Hit, Index, Passage

MIN_COVERAGE = 0.4  # share of the question's IDF weight a passage must contain
GROUNDED_COVERAGE = 0.2  # within files the user chose, weaker matches still count
RELATIVE_SCORE = 0.5  # passages far below the best one are left out
MAX_PASSAGES = 4
MAX_DOCUMENTS = 3
UNITS_PER_PASSAGE = 2
BULLETS_PER_DOCUMENT = 3


def choose(hits: Sequence[Hit], min_coverage: float) -> list[Hit]:
    """The passages worth quoting: relevant enough, close to the best, a few documents at most.

    Every passage after the best must also contain the best passage's rarest matching
    term (for "per diem in New York", *diem*): sharing only "New York" is not an answer.
    """
    relevant = [hit for hit in hits if hit.coverage >= min_coverage]
    if not relevant:
        return []
    best = relevant[0].relevance
    anchor = relevant[0].matched[0]
    relevant = [hit for hit in relevant if anchor in hit.matched]
    chosen: list[Hit] = []
    documents: set[object] = set()
    for hit in relevant:
        owner = hit.passage.document or ("context", hit.passage.context_index)
        if hit.relevance < RELATIVE_SCORE * best or len(chosen) >= MAX_PASSAGES:
            break
        if owner not in documents and len(documents) >= MAX_DOCUMENTS:
            continue
        documents.add(owner)
        chosen.append(hit)
    return chosen


def quoted_units(index: Index, passage: Passage, question: str) -> list[str]:
    """The passage's best sentences for the question, in reading order."""
    ranked = index.rank_units(passage.units, question)
    if not ranked:
        return list(passage.units[:1])
    best = ranked[0][1]
    keep = sorted(position for position, weight in ranked[:UNITS_PER_PASSAGE] if weight >= 0.5 * best)
    return [passage.units[position] for position in keep]


def _bold(sentence: str) -> str:
    body = sentence.rstrip(".")
    return body if "**" in body else f"**{body}**"


def _file_list(draft: Draft, documents: Sequence[Document]) -> str:
    names = [draft.file(d) if d.is_file else f"**{literal(d.title)}**" for d in documents]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def answer_search(
    question: str,
    *,
    corpus: Corpus,
    index: Index,
    draft: Draft,
    allow: Callable[[Passage], bool] | None = None,
    extra: Sequence[Passage] = (),
    grounding: bool = False,
) -> Reply | None:
    """A reply quoting the best passages, or None when nothing is relevant enough."""
    hits = index.search(question, allow=allow, extra=extra)
    chosen = choose(hits, GROUNDED_COVERAGE if grounding else MIN_COVERAGE)
    if not chosen:
        return None
    external: list[str] = []
    by_document: dict[Document, list[str]] = {}
    for hit in chosen:
        units = [tag_mentions(u, corpus, draft) for u in quoted_units(index, hit.passage, question)]
        document = hit.passage.document
        if document is None:
            external.extend(u for u in units if u not in external)
            continue
        bucket = by_document.setdefault(document, [])
        marker = draft.cite(Source.of_document(document, grounding=grounding))
        for unit in units:
            bullet = with_marker(unit, marker)
            if bullet not in bucket and len(bucket) < BULLETS_PER_DOCUMENT:
                bucket.append(bullet)
    parts = [f"You asked: **{echo(question)}**"]
    if len(external) == 1:
        parts.append(f"Based on the information available, {_bold(external[0])}{EXTERNAL}.")
    elif external:
        parts.append("Based on the information you provided:\n" + "\n".join(
            f"- {with_marker(u, EXTERNAL)}" for u in external))
    if by_document:
        parts.append(f"Here's what I found in {_file_list(draft, list(by_document))}:")
        for document, bullets in by_document.items():
            parts.append(f"### {literal(document.title)}\n" + "\n".join(f"- {b}" for b in bullets))
        parts.append("Let me know if you'd like more detail from any of these sources.")
    else:
        parts.append("If you need anything else about this, just let me know!")
    return draft.finish("\n\n".join(parts))


def nothing_in_files(question: str, files: Sequence[Document], draft: Draft) -> Reply:
    """The user's files were read but say nothing about the question: still grounded on them."""
    for document in files:
        draft.use(Source.of_document(document, grounding=True))
    return draft.finish(
        f"You asked: **{echo(question)}**\n\n"
        f"I read {_file_list(draft, files)}, but I couldn't find anything in "
        f"{'it' if len(files) == 1 else 'them'} about this.\n\n"
        "Would you like a summary of what the document covers instead?"
    )


def nothing_found(question: str, draft: Draft, *, web_enabled: bool) -> Reply:
    """No relevant enterprise data: say so, cite nothing (the reference's third example)."""
    asked = f"You asked: **{echo(question)}**\n\n"
    if web_enabled:
        body = (
            "I couldn't find anything in your organization's documents, meetings or people that answers "
            "this, and web results are not available in the Copilot emulator: it answers only from the "
            "documents it serves.\n\n"
            "If you have a specific internal report or file related to this, share it with me and I'll "
            "summarize the relevant details for you!"
        )
    else:
        body = (
            "Currently, I do not have access to web search, and there are no internal enterprise documents "
            "or files provided that contain this information. As a result, I cannot answer this from your "
            "organization's data.\n\n"
            "**How you can find this information:**\n"
            "- Turn web search back on for this question, or look it up on a public website you trust.\n\n"
            "If you have a specific internal report or file related to this, please let me know where to "
            "find it, and I'll be happy to summarize the relevant details for you!"
        )
    return draft.finish(asked + body)
