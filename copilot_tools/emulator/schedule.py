"""Calendar questions: when the user means, which meetings fall then, and the answer.

The sample calendar is relative (``day_offset`` from today, ``HH:MM`` in the caller's
zone), so "tomorrow" is computed in the request's ``locationHint.timeZone``: the same
question asked from Tokyo and New York can name different dates, as with the service.
Recurring series are expanded (``weekdays`` = Monday to Friday, ``weekly`` = every 7
days from ``day_offset``). The answer follows the reference's first example: the event
and organizer tagged, the organizer and status lines cited with the meeting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from copilot_tools.emulator.corpus import Corpus, Event
from copilot_tools.emulator.draft import Draft, Reply, Source
from copilot_tools.emulator.text import split_sentences, terms, word_set, words

CALENDAR_WORDS = word_set(
    "meeting meetings calendar schedule scheduled appointment appointments agenda busy invite invites"
)
_PERSONAL = word_set("i my me next upcoming today tomorrow tonight yesterday this week")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ORGANIZE_WORDS = word_set(
    "organises organizes organised organized organiser organizer organising organizing runs"
)
FOLLOW_UP_WORDS = _ORGANIZE_WORDS | word_set(
    "invited invitees attendees attending attend join where location link when time start"
)
_PRONOUNS = word_set("it that this them they")
_CLOCK_12 = re.compile(r"\b(\d{1,2})(?::([0-5]\d))?\s*([ap])\.?\s?m\b\.?", re.IGNORECASE)
_CLOCK_24 = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_AT_HOUR = re.compile(r"\bat (\d{1,2})\b(?!:)", re.IGNORECASE)
_PARTS = {
    "morning": (time(5), time(12)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), time(23, 59)),
    "tonight": (time(17), time(23, 59)),
}
_HORIZON_DAYS = 14


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One meeting on one day, in the caller's zone."""

    event: Event
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class When:
    """The time a question is about: a day range, and optionally a clock time or part of day."""

    first: date
    last: date
    at: time | None = None
    window: tuple[time, time] | None = None
    label: str = ""
    upcoming: bool = False
    single: bool = False  # "my next meeting": one answer wanted


def is_calendar_question(question: str) -> bool:
    """Only questions about *my* meetings go to the calendar; "the meeting notes of ..." do not."""
    found = set(words(question))
    timed = bool(_CLOCK_12.search(question) or _CLOCK_24.search(question))
    return bool(found & CALENDAR_WORDS) and bool(found & _PERSONAL or found & set(WEEKDAYS) or timed)


def is_follow_up(question: str) -> bool:
    """"Who organises it?": a pronoun and a meeting detail, answered from the last meeting."""
    found = set(words(question))
    return bool(found & _PRONOUNS) and bool(found & FOLLOW_UP_WORDS or "who else" in question.lower())


def clock(moment: time, *, short: bool = False) -> str:
    """``9:00 AM``, or ``9 AM`` when short and on the hour."""
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    if short and moment.minute == 0:
        return f"{hour} {suffix}"
    return f"{hour}:{moment.minute:02d} {suffix}"


def day_name(day: date, today: date) -> str:
    offset = (day - today).days
    names = {0: "Today", 1: "Tomorrow", -1: "Yesterday"}
    return names.get(offset) or f"{day:%A}, {day:%B} {day.day}"


def _clock_time(question: str) -> tuple[time | None, str]:
    match = _CLOCK_12.search(question)
    if match:
        hour = int(match.group(1)) % 12 + (12 if match.group(3).lower() == "p" else 0)
        if hour < 24:
            moment = time(hour, int(match.group(2) or 0))
            return moment, clock(moment, short=True)
    match = _CLOCK_24.search(question)
    if match:
        moment = time(int(match.group(1)), int(match.group(2)))
        return moment, clock(moment, short=True)
    if re.search(r"\b(noon|midday)\b", question, re.IGNORECASE):
        return time(12), "noon"
    match = _AT_HOUR.search(question)
    if match and 1 <= int(match.group(1)) <= 12:
        hour = int(match.group(1))
        moment = time(hour + 12 if hour <= 7 else hour % 12 + (12 if hour == 12 else 0))
        return moment, clock(moment, short=True)
    return None, ""


def parse_when(question: str, now: datetime) -> When:
    """Read today/tomorrow/yesterday, weekday names, this/next week, parts of day and times."""
    today = now.date()
    text = question.lower()
    found = words(question)
    at, at_label = _clock_time(question)
    part = next((name for name in _PARTS if name in found), None)
    first = last = today
    day_label = ""
    dated = True
    if "day after tomorrow" in text:
        first = last = today + timedelta(days=2)
        day_label = "the day after tomorrow"
    elif "tomorrow" in found:
        first = last = today + timedelta(days=1)
        day_label = "tomorrow"
    elif "yesterday" in found:
        first = last = today - timedelta(days=1)
        day_label = "yesterday"
    elif "next week" in text:
        first = today + timedelta(days=7 - today.weekday())
        last = first + timedelta(days=6)
        day_label = "next week"
    elif "this week" in text:
        last = today + timedelta(days=6 - today.weekday())
        day_label = "this week"
    elif any(day in found for day in WEEKDAYS):
        weekday = next(i for i, day in enumerate(WEEKDAYS) if day in found)
        ahead = (weekday - today.weekday()) % 7
        if ahead == 0 and "next" in found:
            ahead = 7
        first = last = today + timedelta(days=ahead)
        day_label = f"on {WEEKDAYS[weekday].title()}"
    elif "today" in found or "tonight" in found or (part and "this" in found):
        day_label = "today"
    else:
        dated = False
    if at is not None:  # "9 AM tomorrow", as the reference says it, even if "morning" follows
        label = f"{at_label} {day_label}".strip()
    elif part and day_label == "today":
        label = "tonight" if part == "tonight" else f"this {part}"
    elif part and dated:
        label = f"{day_label} {part}"
    else:
        label = day_label
    if not dated and at is None and part is None:
        single = "next" in found and not re.search(r"\bmeetings\b", text)
        return When(today, today + timedelta(days=7), label="coming up", upcoming=True, single=single)
    return When(first, last, at, _PARTS.get(part) if part and at is None else None, label or "today")


def _occurs(event: Event, day: date, today: date) -> bool:
    base = today + timedelta(days=event.day_offset)
    if event.recurrence == "weekdays":
        return day.weekday() < 5
    if event.recurrence == "daily":
        return True
    if event.recurrence == "weekly":
        return (day - base).days % 7 == 0
    return day == base


def occurrences(events: Iterable[Event], first: date, last: date, today: date, zone: object) -> list[Occurrence]:
    """Every meeting between two days (inclusive), in start order."""
    found: list[Occurrence] = []
    day = first
    while day <= last:
        for event in events:
            if _occurs(event, day, today):
                start = datetime.combine(day, event.start, tzinfo=zone)  # type: ignore[arg-type]
                end = datetime.combine(day, event.end, tzinfo=zone)  # type: ignore[arg-type]
                found.append(Occurrence(event, start, end))
        day += timedelta(days=1)
    found.sort(key=lambda o: (o.start, o.event.subject))
    return found


def _select(found: list[Occurrence], when: When, now: datetime) -> list[Occurrence]:
    if when.upcoming:
        upcoming = [o for o in found if o.end > now]
        return upcoming[: 1 if when.single else 3]
    if when.at is not None:
        at = when.at
        return [o for o in found if o.start.time() <= at < o.end.time() or o.start.time() == at]
    if when.window is not None:
        begin, end = when.window
        return [o for o in found if o.start.time() < end and o.end.time() > begin]
    return found


#: Words of calendar questions that say nothing about *which* meeting.
_GENERIC = frozenset(terms(
    " ".join(CALENDAR_WORDS | _PERSONAL) + " " + " ".join(WEEKDAYS) + " " + " ".join(_PARTS)
    + " have got do any morning afternoon evening noon midday day week am pm at on"
))


def _about(question: str, events: Iterable[Event]) -> list[Event]:
    """The events a question names ("my dentist appointment"), or all when it names none."""
    events = list(events)
    wanted = set(terms(question)) - _GENERIC
    named = [e for e in events if wanted & set(terms(e.subject))]
    return named or events


def _status(event: Event) -> str:
    for sentence in split_sentences(event.body):
        if re.search(r"\b(accept|declin|respond)", sentence, re.IGNORECASE):
            return sentence.rstrip(".").replace("this invite", "the invite")
    return {
        "accepted": "You accepted this invite",
        "tentative": "You tentatively accepted this invite",
        "declined": "You declined this invite",
        "organizer": "You organized this meeting",
    }.get(event.response_status, "You haven't responded to this invite yet")


def _person(draft: Draft, corpus: Corpus, name: str) -> str:
    me = corpus.me
    tag = draft.person(name)
    return f"{tag} (you)" if me is not None and me.display_name == name else tag


def meeting_block(draft: Draft, corpus: Corpus, occurrence: Occurrence, heading: str) -> str:
    event = occurrence.event
    marker = draft.cite(Source.of_event(event))
    draft.remember(occurrence)
    lines = [
        f"### 📅 {heading}",
        f"- **Meeting**: {draft.event(event)}",
        f"- **Organizer**: {_person(draft, corpus, event.organizer)}{marker}" if event.organizer else "",
        f"- **Time**: {clock(event.start)} – {clock(event.end)}",
        f"- **Location**: {event.location}" if event.location else "",
        f"- **Status**: {_status(event)}{marker}",
    ]
    return "\n".join(line for line in lines if line)


def _heading(occurrence: Occurrence, today: date) -> str:
    return f"{day_name(occurrence.start.date(), today)} at {clock(occurrence.start.time(), short=True)}"


def _next_after(corpus: Corpus, moment: datetime, today: date) -> Occurrence | None:
    horizon = moment.date() + timedelta(days=_HORIZON_DAYS)
    later = [o for o in occurrences(corpus.events, moment.date(), horizon, today, moment.tzinfo) if o.start > moment]
    return later[0] if later else None


def answer_calendar(question: str, corpus: Corpus, now: datetime, draft: Draft) -> Reply:
    """``now`` is aware and already in the caller's zone."""
    today = now.date()
    when = parse_when(question, now)
    if not corpus.events:
        return draft.finish(
            "You asked about your calendar, but there is no calendar in this tenant: the emulator's "
            "folder has no `calendar.json`.\n\nAsk me about its documents instead, and I'll find what they say."
        )
    events = _about(question, corpus.events)
    if when.upcoming and len(events) < len(corpus.events):  # a named meeting: look further ahead
        when = replace(when, last=today + timedelta(days=_HORIZON_DAYS))
    found = _select(occurrences(events, when.first, when.last, today, now.tzinfo), when, now)
    asked = f"your meeting scheduled for **{when.label}**" if when.at else f"your meetings **{when.label}**"
    if when.upcoming:
        asked = "your next meeting" if when.single else "your upcoming meetings"
    if found:
        count = f"**{len(found)} meeting{'s' if len(found) > 1 else ''}**"
        blocks = [meeting_block(draft, corpus, o, _heading(o, today)) for o in found]
        these = "this meeting" if len(found) == 1 else "these meetings"
        text = (
            f"You asked about {asked}, and I found {count} on your calendar.\n\n"
            + "\n\n".join(blocks)
            + f"\n\nLet me know if you'd like help preparing for {these} or checking who else was invited."
        )
        return draft.finish(text)
    after = datetime.combine(when.first, when.at or (when.window or (time(0), time(0)))[0], tzinfo=now.tzinfo)
    following = _next_after(corpus, max(after, now) if when.first == today else after, today)
    text = f"You asked about {asked}, but I found **no meeting** then on your calendar."
    if following is not None:
        block = meeting_block(draft, corpus, following, _heading(following, today))
        text += f"\n\nYour next meeting after that is:\n\n{block}"
    else:
        text += f"\n\nI don't see anything else on your calendar in the next {_HORIZON_DAYS} days."
    return draft.finish(text + "\n\nLet me know if you'd like me to check another day.")


def answer_follow_up(question: str, corpus: Corpus, occurrence: Occurrence, now: datetime, draft: Draft) -> Reply:
    """Details of the meeting the previous turn was about."""
    event = occurrence.event
    marker = draft.cite(Source.of_event(event))
    draft.remember(occurrence)
    asked = set(words(question))
    lines: list[str] = []
    if asked & _ORGANIZE_WORDS and event.organizer:
        lines.append(f"{draft.event(event)} is organized by {_person(draft, corpus, event.organizer)}{marker}.")
    if asked & {"invited", "invitees", "attendees", "attending", "attend"} or "who else" in question.lower():
        people = ", ".join(_person(draft, corpus, name) for name in event.attendees) or "no one else"
        lines.append(f"The invitees of {draft.event(event)} are {people}{marker}.")
    if asked & {"where", "location", "join", "link"} and event.location:
        lines.append(f"{draft.event(event)} takes place at **{event.location}**{marker}.")
    if asked & {"when", "time", "start"}:
        day = day_name(occurrence.start.date(), now.date()).lower()
        lines.append(
            f"{draft.event(event)} is {day} from **{clock(event.start)} to {clock(event.end)}**{marker}."
        )
    if not lines:
        lines.append(meeting_block(draft, corpus, occurrence, _heading(occurrence, now.date())))
    return draft.finish(
        f"You asked about {draft.event(event)}.\n\n" + "\n".join(lines)
        + "\n\nLet me know if there's anything else you'd like to know about this meeting."
    )
