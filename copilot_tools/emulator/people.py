"""Questions about a person of the directory: "Who is John Doe?", "Who is my manager?"."""

from __future__ import annotations

import re

from copilot_tools.emulator.corpus import Corpus, Person
from copilot_tools.emulator.draft import Draft, Reply, Source
from copilot_tools.emulator.text import terms

#: What people ask about a colleague; a question with other topic words is a search.
_PROFILE_TERMS = frozenset(
    terms(
        "email mail address phone number title role job position manager boss report reports department "
        "team office contact works located location desk profile who person"
    )
)


def person_asked(question: str, corpus: Corpus) -> Person | None:
    """The person a profile question is about, or None when the question is about something else."""
    folded = question.casefold()
    person: Person | None = None
    for candidate in sorted(corpus.people, key=lambda p: len(p.display_name), reverse=True):
        if re.search(rf"(?<!\w){re.escape(candidate.display_name.casefold())}(?!\w)", folded):
            person = candidate
            break
    me = corpus.me
    if person is None and me is not None:
        if re.search(r"\bmy (manager|boss)\b", folded):
            person = corpus.person(me.manager)
        elif re.search(r"\bwho am i\b", folded):
            person = me
    if person is None:
        return None
    leftover = set(terms(question)) - set(terms(person.display_name)) - _PROFILE_TERMS
    return person if not leftover else None


def source_of(person: Person) -> Source:
    url = f"https://www.office.com/search?q={person.display_name.replace(' ', '+')}"
    return Source(f"person:{person.id or person.display_name}", person.display_name, url)


def answer_person(question: str, person: Person, corpus: Corpus, draft: Draft) -> Reply:
    marker = draft.cite(source_of(person))
    me = corpus.me
    name = draft.person(person.display_name)
    asks_for_manager = re.search(r"\bmy (manager|boss)\b", question, re.IGNORECASE)
    if me is not None and person.display_name == me.manager and asks_for_manager:
        opening = f"Your manager is {name}{marker}."
    else:
        opening = f"You asked about {name}."
    details = [
        ("Title", person.job_title, True),
        ("Department", person.department, False),
        ("Email", person.mail, False),
        ("Phone", person.phone, False),
        ("Office", person.office_location, False),
    ]
    lines = [f"- **{label}**: {value}{marker if cite else ''}" for label, value, cite in details if value]
    if person.manager:
        lines.append(f"- **Manager**: {draft.person(person.manager)}{marker}")
    return draft.finish(
        f"{opening}\n\n" + "\n".join(lines)
        + f"\n\nLet me know if you'd like to find documents or meetings with {name}."
    )
