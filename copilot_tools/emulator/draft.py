"""A reply being written: its sources, entity tags and the numbering rules of the service.

Answer writers (calendar, people, search, summaries) never number anything themselves.
They call ``cite(source)`` where a marker belongs and get a placeholder back; ``finish``
then numbers the markers in order of first appearance (a source cited twice keeps its
number), lists one ``citation`` attribution per source in that order, one ``annotation``
per distinct entity tag in order of first appearance, and picks the most sensitive
label among the sources. That is exactly how the reference's examples line up, and
what the client's normalizer relies on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from copilot_tools.emulator.corpus import Document, Event, Label
from copilot_tools.emulator.ids import IdSource
from copilot_tools.wire import Attribution

ENTITY_TAG = re.compile(r"<(Person|Event|File)>(.*?)</\1>", re.DOTALL)
MARKER = re.compile(r"\[\^([^\]\s]+)\^\]")
_PLACEHOLDER = re.compile("\x00([^\x00]+)\x00")
EXTERNAL = "[^external^]"


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
        numbers = [int(m) for m in MARKER.findall(partial) if m.isdigit()]
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
            if value.isdigit() and 0 < int(value) <= len(self.citations):
                return f" [{value}]({self.citations[int(value) - 1].url})"
            return match.group(0)

        return MARKER.sub(marker, ENTITY_TAG.sub(entity, self.text if text is None else text))


@dataclass
class Draft:
    """Collects sources and entity links while an answer is written; ``finish`` numbers them."""

    ids: IdSource
    _sources: dict[str, Source] = field(default_factory=dict)
    _unmarked: list[str] = field(default_factory=list)
    _links: dict[tuple[str, str], str] = field(default_factory=dict)
    _events: list[object] = field(default_factory=list)

    def cite(self, source: Source) -> str:
        """The marker for ``source`` (numbered by ``finish``)."""
        self._sources.setdefault(source.key, source)
        return f"\x00{source.key}\x00"

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
            key = match.group(1)
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
