"""Compose a reply: pick what kind of question this is and hand it to its answer writer.

The order mirrors what the request parameters mean to the service: files passed as
context ground the reply in those files alone; a follow-up ("who organises it?") is
about the meeting of the previous turn; calendar and directory questions go to the
calendar and the people list; everything else is a search over the tenant and the
caller's ``additionalContext``, and when nothing is relevant the reply says so.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from copilot_tools.emulator.corpus import Corpus, Document
from copilot_tools.emulator.draft import Draft, Reply, Source
from copilot_tools.emulator.ids import IdSource
from copilot_tools.emulator.people import answer_person, person_asked
from copilot_tools.emulator.questions import Question
from copilot_tools.emulator.ranking import Index, context_passages
from copilot_tools.emulator.schedule import (
    Occurrence,
    answer_calendar,
    answer_follow_up,
    is_calendar_question,
    is_follow_up,
)
from copilot_tools.emulator.search import (
    MIN_COVERAGE,
    answer_search,
    choose,
    nothing_found,
    nothing_in_files,
)
from copilot_tools.emulator.summary import answer_summary, wants_summary
from copilot_tools.emulator.text import terms, words

RAI_TEXT = "I'm sorry, but I can't help with that. Let's try a different topic."
_PRONOUNS = {"it", "this", "that", "them"}


def compose(
    question: Question,
    *,
    corpus: Corpus,
    index: Index,
    now: datetime,
    ids: IdSource,
    previous: Reply | None = None,
) -> Reply:
    """The reply to one turn; ``previous`` is the conversation's last reply (for follow-ups)."""
    draft = Draft(ids)
    text = question.text
    if question.files:
        if wants_summary(text) or not terms(text):
            return answer_summary(question.files, corpus, draft, grounding=True)
        files = set(question.files)
        return answer_search(
            text, corpus=corpus, index=index, draft=draft, grounding=True,
            allow=lambda passage: passage.document in files,
        ) or nothing_in_files(text, question.files, Draft(ids))
    local_now = now.astimezone(question.zone)
    last_event = next((e for e in reversed(previous.events) if isinstance(e, Occurrence)), None) if previous else None
    if last_event is not None and is_follow_up(text) and not is_calendar_question(text):
        return answer_follow_up(text, corpus, last_event, local_now, draft)
    if is_calendar_question(text):
        return answer_calendar(text, corpus, local_now, draft)
    person = person_asked(text, corpus)
    if person is not None and not question.context:
        return answer_person(text, person, corpus, draft)
    if wants_summary(text):
        documents = previous.documents[:1] if previous and set(words(text)) & _PRONOUNS else ()
        if not documents:
            chosen = choose(index.search(text), MIN_COVERAGE)
            documents = tuple(h.passage.document for h in chosen[:1] if h.passage.document is not None)
        if documents:
            return answer_summary(documents, corpus, draft, grounding=False)
    extra = context_passages(question.context, start=len(index.passages))
    reply = answer_search(text, corpus=corpus, index=index, draft=draft, extra=extra)
    return reply or nothing_found(text, Draft(ids), web_enabled=question.web_enabled)


def declined(ids: IdSource) -> Reply:
    """What a turn that Copilot declines for responsible-AI reasons says (the ``rai`` fault)."""
    return Draft(ids).finish(RAI_TEXT, state="disengagedForRai")


def misattributed(reply: Reply, corpus: Corpus) -> Reply:
    """The ``unsupported-citation`` fault: the reply's last numbered citation now points at
    the tenant file that shares the fewest terms with the lines it marks, so that checking
    the citation against its document (``client.verify``) must flag it. The text is unchanged."""
    if not reply.marked:
        return reply
    number = reply.marked
    claimed = set(terms(" ".join(line for line in reply.text.split("\n") if f"[^{number}^]" in line)))
    cited = {source.document for source in reply.citations if source.document is not None}

    def shared(document: Document) -> int:
        return len(claimed & set(terms(" ".join(u for section in document.sections for u in section.units))))

    candidates = [d for d in corpus.documents if d.is_file and not d.is_embedded and d not in cited]
    if not candidates:
        return reply
    planted = min(candidates, key=shared)  # min() keeps the first of equals: the same file every time
    original = reply.citations[number - 1]
    citations = (*reply.citations[: number - 1], Source.of_document(planted, grounding=original.grounding),
                 *reply.citations[number:])
    return replace(reply, citations=citations,
                   documents=tuple(source.document for source in citations if source.document is not None))
