"""A reply being written: its sources, entity tags and the numbering rules of the service.

Answer writers (calendar, people, search, summaries) never number anything themselves.
They call ``cite(source)`` where a marker belongs and get a placeholder back; ``finish``
then numbers the markers in order of first appearance (a source cited twice keeps its
number), lists one ``citation`` attribution per source in that order, one ``annotation``
per distinct entity tag in order of first appearance, and picks the most sensitive
label among the sources. That is exactly how the reference's examples line up, and
what the client's normalizer relies on.

Only a ``Draft`` writes markup. Text from elsewhere (the question echoed back, sentences
quoted from the caller's context or from a document) goes through ``literal`` first, so a
``[^7^]`` or ``<Person>Eve</Person>`` typed by the user shows as typed and never becomes a
citation or an entity, and the placeholders ``cite`` hands out carry a per-draft secret,
so no text can forge one.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from copilot_tools._wire import Attribution
from copilot_tools.emulator.corpus import Document, Event, Label
from copilot_tools.emulator.ids import IdSource
from copilot_tools.emulator.text import CONTROL, whole_number

# Tags never nest and markers hold no brackets: each match runs to the next '<' or '[',
# so scanning stays linear even on a question made of thousands of unclosed ones.
ENTITY_TAG = re.compile(r"<(Person|Event|File)>([^<]*)</\1>")
MARKER = re.compile(r"\[\^([^\[\]\s]+)\^\]")
_PLACEHOLDER = re.compile("\ue000([0-9a-f]{32}):([0-9]{1,9})\ue001")
EXTERNAL = "[^external^]"
#: What the client would read as markup: a marker's "[^", an entity tag's "<", a link's "](".
_MARKUP = re.compile(r"\[(?=\^)|<(?=/?(?:Person|Event|File)>)|\](?=\()", re.IGNORECASE)
_WORD_JOINER = "\u2060"  # invisible, and no line break: the text reads as typed
ECHO_LIMIT = 300


def literal(text: str) -> str:
    """``text`` as plain text inside a reply: control characters dropped, and every
    ``[^``, ``<Person>``-like tag and ``](`` broken by an invisible word joiner, so
    neither the emulator nor a client's normalizer reads them as markup."""
    return _MARKUP.sub(lambda match: match.group(0) + _WORD_JOINER, CONTROL.sub("", text))


def echo(question: str) -> str:
    """The question as a reply repeats it: one line, literal, at most ``ECHO_LIMIT`` characters."""
    line = " ".join(CONTROL.sub("", question).split())
    if len(line) > ECHO_LIMIT:
        line = line[:ECHO_LIMIT].rsplit(" ", 1)[0].rstrip() or line[:ECHO_LIMIT]
        line += "…"
    return literal(line)


@dataclass(frozen=True, slots=True)
class Source:
    """Something a reply can cite: a document, a meeting or a person's profile."""

    key: str
    title: str
    url: str
    grounding: bool = False
    label: Label | None = None
    document: Document | None = None

    @classmethod
    def of_document(cls, document: Document, *, grounding: bool = False) -> Source:
        return cls(f"doc:{document.key}", document.title, document.web_url, grounding, document.label, document)

    @classmethod
    def of_event(cls, event: Event) -> Source:
        return cls(f"event:{event.id}", event.subject, event.web_url)


def _attribution(kind: str, title: str, url: str, source: str = "model") -> Attribution:
    return Attribution(
        attribution_type=kind,
        provider_display_name=title,
        attribution_source=source,
        see_more_web_url=url,
        image_web_url="",
        image_fav_icon="",
        image_width=0,
        image_height=0,
    )


@dataclass(frozen=True, slots=True)
class Reply:
    """A finished reply: raw text (tags, markers), attributions in the service's order."""

    text: str
    citations: tuple[Source, ...] = ()
    marked: int = 0  # citations[:marked] have markers [^1^]..[^marked^]; the rest are unmarked
    entities: tuple[tuple[str, str, str], ...] = ()  # (kind, name, url), first appearance order
    label: Label | None = None
    documents: tuple[Document, ...] = ()
    events: tuple[object, ...] = ()  # calendar occurrences the reply is about (for follow-ups)
    state: str = "active"

    def attributions(self, text: str | None = None) -> list[Attribution]:
        """Annotations then citations, for the whole reply or for a prefix of it (streaming)."""
        partial = self.text if text is None else text
        names = {(kind, name) for kind, name in ENTITY_TAG.findall(partial)}
        annotations = [
            _attribution("annotation", "", url) for kind, name, url in self.entities if (kind, name) in names
        ]
        numbers = [number for m in MARKER.findall(partial) if (number := whole_number(m)) is not None]
        shown = max(numbers, default=0) if text is not None else self.marked
        cited = list(self.citations[:shown]) + list(self.citations[self.marked :])
        citations = [
            _attribution("citation", s.title, s.url, "grounding" if s.grounding else "model") for s in cited
        ]
        return annotations + citations

    def card_text(self, text: str | None = None) -> str:
        """The TextBlock markdown of a streamed reply: entities and markers become links."""
        links = {(kind, name): url for kind, name, url in self.entities}

        def entity(match: re.Match[str]) -> str:
            url = links.get((match.group(1), match.group(2)))
            return f"[{match.group(2)}]({url})" if url else match.group(2)

        def marker(match: re.Match[str]) -> str:
            value = match.group(1)
            number = whole_number(value)  # None for "²" or 5,000 digits, which int() refuses
            if number is not None and 0 < number <= len(self.citations):
                return f" [{value}]({self.citations[number - 1].url})"
            return match.group(0)

        return MARKER.sub(marker, ENTITY_TAG.sub(entity, self.text if text is None else text))


@dataclass
class Draft:
    """Collects sources and entity links while an answer is written; ``finish`` numbers them."""

    ids: IdSource
    _sources: dict[str, Source] = field(default_factory=dict)
    _cited: list[str] = field(default_factory=list)  # source keys, by placeholder number
    _secret: str = field(default_factory=lambda: secrets.token_hex(16))
    _unmarked: list[str] = field(default_factory=list)
    _links: dict[tuple[str, str], str] = field(default_factory=dict)
    _events: list[object] = field(default_factory=list)

    def cite(self, source: Source) -> str:
        """The marker for ``source`` (numbered by ``finish``); a placeholder until then."""
        self._sources.setdefault(source.key, source)
        if source.key not in self._cited:
            self._cited.append(source.key)
        return f"\ue000{self._secret}:{self._cited.index(source.key)}\ue001"

    def use(self, source: Source) -> None:
        """A source the reply rests on without a marker (a file it summarises)."""
        self._sources.setdefault(source.key, source)
        if source.key not in self._unmarked:
            self._unmarked.append(source.key)

    def remember(self, occurrence: object) -> None:
        self._events.append(occurrence)

    def _entity(self, kind: str, name: str, url: str) -> str:
        self._links.setdefault((kind, name), url)
        return f"<{kind}>{name}</{kind}>"

    def _representation(self, url: str) -> str:
        """An entity link as the service writes it: the target plus a fresh representation id."""
        return f"{url}{'&' if '?' in url else '?'}EntityRepresentationId={self.ids.new()}"

    def _search_link(self, name: str) -> str:
        return self._representation(f"https://www.office.com/search?q={quote_plus(name)}")

    def person(self, name: str) -> str:
        url = self._links.get(("Person", name)) or self._search_link(name)
        return self._entity("Person", name, url)

    def event(self, event: Event) -> str:
        url = self._links.get(("Event", event.subject)) or self._representation(event.web_url)
        return self._entity("Event", event.subject, url)

    def file(self, document: Document) -> str:
        return self._entity("File", document.filename, document.web_url)

    def finish(self, text: str, *, state: str = "active") -> Reply:
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) != self._secret or int(match.group(2)) >= len(self._cited):
                return match.group(0)  # not ours: text, whatever it looks like
            key = self._cited[int(match.group(2))]
            if key not in order:
                order.append(key)
            return f"[^{order.index(key) + 1}^]"

        text = _PLACEHOLDER.sub(number, text)
        marked = len(order)
        order += [key for key in self._unmarked if key not in order]
        citations = tuple(self._sources[key] for key in order)
        entities: list[tuple[str, str, str]] = []
        for kind, name in ENTITY_TAG.findall(text):
            if not any(kind == k and name == n for k, n, _ in entities):
                url = self._links.get((kind, name)) or self._search_link(name)
                entities.append((kind, name, url))
        labels = [s.label for s in citations if s.label is not None]
        return Reply(
            text=text,
            citations=citations,
            marked=marked,
            entities=tuple(entities),
            label=max(labels, key=lambda label: label.priority, default=None),
            documents=tuple(s.document for s in citations if s.document is not None),
            events=tuple(self._events),
            state=state,
        )
