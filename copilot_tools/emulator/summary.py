"""Summaries of whole documents: "Summarize this document for me." with a file as context.

A summary walks the document's sections (heading, then its first sentences), as the
reference's second example does for Business-Model.docx. A single grounding file is
cited without a marker, exactly like that example; several files get a marker each so
the reader can tell them apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from copilot_tools.emulator.corpus import Corpus, Document
from copilot_tools.emulator.draft import Draft, Reply, Source, literal
from copilot_tools.emulator.mentions import tag_mentions
from copilot_tools.emulator.text import word_set, words

SUMMARY_WORDS = word_set("summarize summarise summary summarizing summarising overview tldr recap gist outline")
MAX_SECTIONS = 8
UNITS_PER_SECTION = 2
_ABOUT = re.compile(r"\b(what is|what's) (this|it|that)( document| file)? about\b|\b(key|main) points\b", re.IGNORECASE)


def wants_summary(question: str) -> bool:
    return bool(set(words(question)) & SUMMARY_WORDS or _ABOUT.search(question))


def _title(document: Document) -> str:
    top = next((s.heading for s in document.sections if s.level == 1 and s.heading), None)
    return literal(top or document.title)


def _sections(document: Document, corpus: Corpus, draft: Draft) -> str:
    blocks: list[str] = []
    skipped: list[str] = []
    for section in document.sections:
        if not section.units:
            continue
        heading = "Overview" if section.level <= 1 else literal(section.heading)
        if len(blocks) >= MAX_SECTIONS:
            skipped.append(heading)
            continue
        bullets = "\n".join(f"- {tag_mentions(u, corpus, draft)}" for u in section.units[:UNITS_PER_SECTION])
        blocks.append(f"### **{heading}**\n{bullets}")
    if skipped:
        blocks.append(f"The document also covers: {', '.join(skipped)}.")
    return "\n\n".join(blocks)


def answer_summary(documents: Sequence[Document], corpus: Corpus, draft: Draft, *, grounding: bool) -> Reply:
    """Summaries of ``documents``; ``grounding`` when the caller passed them as files."""
    names = [draft.file(d) for d in documents]
    parts: list[str] = []
    if len(documents) == 1 and grounding:
        draft.use(Source.of_document(documents[0], grounding=True))
        parts.append(
            f'You asked for a summary of the document "{names[0]}". Here\'s a concise overview based on its content:'
        )
        parts.append(f"---\n\n## **Summary: {_title(documents[0])}**\n\n{_sections(documents[0], corpus, draft)}")
    else:
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"
        noun = "document" if len(names) == 1 else "documents"
        parts.append(f"You asked for a summary of the {noun} {listed}. Here's a concise overview based on the content:")
        for document in documents:
            marker = draft.cite(Source.of_document(document, grounding=grounding))
            parts.append(f"---\n\n## **Summary: {_title(document)}**{marker}\n\n{_sections(document, corpus, draft)}")
    parts.append("---")
    parts.append("If you'd like a deeper dive into any specific section of the document, just let me know!")
    return draft.finish("\n\n".join(parts))
