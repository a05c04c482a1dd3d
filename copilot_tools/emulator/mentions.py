"""Entity tags in quoted text: people of the directory and files of the tenant.

The service tags the people and files it names (``<Person>John Doe</Person>``,
``<File>Business-Model.docx</File>``) and adds an annotation with a link for each. The
quoted sentences of the tenant name people in plain text; this finds them, longest
name first. Whatever looked like markup in the quoted text is made literal first: only
the draft's own tags and markers mean something.
"""

from __future__ import annotations

import re
from functools import lru_cache

from copilot_tools.emulator.corpus import Corpus, Document
from copilot_tools.emulator.draft import Draft, literal


@lru_cache(maxsize=16)
def _pattern(corpus: Corpus) -> re.Pattern[str] | None:
    names = [p.display_name for p in corpus.people] + [d.filename for d in corpus.documents if d.is_file]
    names = sorted({n for n in names if len(n) > 3}, key=len, reverse=True)
    if not names:
        return None
    return re.compile(r"(?<![\w.-])(" + "|".join(re.escape(n) for n in names) + r")(?![\w-])")


@lru_cache(maxsize=16)
def _files(corpus: Corpus) -> dict[str, Document]:
    return {d.filename: d for d in corpus.documents if d.is_file}


def tag_mentions(text: str, corpus: Corpus, draft: Draft) -> str:
    """``text`` (quoted from a document or the caller's context) as literal text, with the
    directory's people and the tenant's file names tagged."""
    text = literal(text)
    pattern = _pattern(corpus)
    if pattern is None:
        return text
    files = _files(corpus)

    def tag(match: re.Match[str]) -> str:
        name = match.group(1)
        document = files.get(name)
        return draft.file(document) if document is not None else draft.person(name)

    return pattern.sub(tag, text)


def with_marker(sentence: str, marker: str) -> str:
    """``… per diem[^1^].``: the marker goes before the closing full stop, as Copilot writes it."""
    sentence = sentence.rstrip()
    if sentence.endswith(".") and not sentence.endswith(".."):
        return f"{sentence[:-1]}{marker}."
    return f"{sentence}{marker}"
