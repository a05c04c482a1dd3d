"""``Answer`` and the normalizer that turns Copilot's reply into it.

Copilot's reply text carries entity tags (``<Person>John Doe</Person>``) and citation
markers (``[^1^]``, ``[^external^]``) whose meaning lives in the ``attributions`` list:
the n-th ``citation`` attribution is marker ``[^n^]``; ``annotation`` attributions
belong to the entity tags, one per distinct entity in order of appearance. The
normalizer makes clean markdown (names instead of tags, ``[1]``, ``[2]`` numbered in
order of first use), and structured citations and entities a program can follow. In
streamed replies the adaptive card's TextBlock holds the same text with the links
written out; where it does, its ``[n](url)`` links confirm which attribution a marker
means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import SchemaValidator

from copilot_tools import _json
from copilot_tools._schema import array_of, object_of, prop
from copilot_tools._text import encodable, has_surrogate, is_encodable
from copilot_tools._wire import RESPONSE_MESSAGE_TYPE, Attribution, Conversation, PausedCollector, ResponseMessage
from copilot_tools._wire import SensitivityLabel as WireSensitivityLabel

if TYPE_CHECKING:
    from pydantic import TypeAdapter

# Every pattern here is linear: where a match may start, the text it then consumes cannot hold
# another start of the same pattern, so no character is scanned from more than one start.
# Tags never nest, so a name runs to the next '<': linear even on unclosed tags.
_TAG = re.compile(r"<(Person|Event|File)>([^<]*)</\1>")
# A marker's id excludes '^', the character every start needs after its '['.
_MARKER = re.compile(r"\[\^([^\^\]\s]+)\^\]")
# The label excludes '[' and the URL '[' too: on a run of '[' (or of '[x](http://') each attempt
# stops at the next start instead of scanning to the end of the run and back (quadratic).
# The URL's class spells out the characters ``\s`` means in a str pattern (every one for which
# str.isspace() is true): the engine tests a set of ranges faster than the Unicode category of each
# character (the reference stream's card, 1.2 kB with four links: 3.0 us instead of 4.9 us).
# tests/property/test_normalize_equivalence.py holds the set to ``\s`` over every code point.
_WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CARD_LINK = re.compile(r"\[([^\[\]\n]+)\]\((https?://[^" + _WHITESPACE + r")\[]+)\)")
# Pieces of the tail test in ``stable_prefix``; each is matched at one place, never searched.
_OPEN_TAG_TO_END = re.compile(r"<(Person|Event|File)>[^<]*")
_CLOSING_TAG_START = re.compile(r"<(/\w*)?")
_WORD_RUN = re.compile(r"\w*")
_MARKER_RUN = re.compile(r"[^\]\s]*")

EXTERNAL_MARKER = "external"
#: A citation marker of ``Answer.text``: ``[n]``, as the normaliser numbers the service's ``[^n^]``.
CITATION_MARKER = re.compile(r"\[(\d{1,4})\]")
EntityKind = Literal["person", "event", "file"]
CitationSource = Literal["model", "grounding", "external"] | str


class _Model(BaseModel):
    # defer_build: the validator is built on first use, not at import (benchmarks/import_time.py).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class SensitivityLabel(_Model):
    """The most sensitive label among the sources of an answer (or of a retrieval hit)."""

    id: str | None = Field(default=None, description="The Microsoft Purview sensitivity label's id.")
    name: str | None = Field(default=None, description="Its display name, e.g. 'Confidential'.")
    tooltip: str | None = Field(default=None, description="What the label means, as Office shows it.")
    priority: int | None = Field(default=None, description="Rank among the tenant's labels; higher is more sensitive.")
    color: str | None = Field(default=None, description="The colour Office shows it in, e.g. '#FF0000'.")
    is_encrypted: bool | None = Field(default=None, description="Whether the label protects (encrypts) the content.")

    @classmethod
    def from_wire(cls, label: WireSensitivityLabel | None) -> SensitivityLabel | None:
        if label is None or label.is_empty:
            return None
        return cls(
            id=_encodable_kept(label.sensitivity_label_id),
            name=_encodable_kept(label.display_name),
            tooltip=_encodable_kept(label.tooltip),
            priority=label.priority,
            color=_encodable_kept(label.color),
            is_encrypted=label.is_encrypted,
        )


class Citation(_Model):
    """One cited source, numbered as its ``[n]`` marker appears in ``Answer.text``."""

    index: int = Field(description="The number shown as [n] in the answer text.")
    title: str | None = None
    url: str | None = None
    source: CitationSource | None = Field(
        default=None,
        description="'model' (Copilot found it), 'grounding' (a file the caller passed), "
        "'external' (the caller's additional context).",
    )
    marker: str | None = Field(default=None, description="The service's original marker, e.g. '1'.")
    cited_in_text: bool = Field(default=True, description="False for a source the service lists that no [n] marks.")
    image_url: str | None = Field(default=None, description="A preview image of the source, when the service has one.")
    favicon_url: str | None = Field(default=None, description="The icon of the source's site.")
    image_width: int | None = Field(default=None, description="The preview image's width in pixels.")
    image_height: int | None = Field(default=None, description="The preview image's height in pixels.")


class Entity(_Model):
    """A person, meeting or file Copilot tagged in its reply."""

    kind: EntityKind
    name: str
    url: str | None = None


class Answer(_Model):
    """Copilot's reply to one turn, ready for people and for programs."""

    text: str = Field(description="Clean markdown with [n] citation markers.")
    raw_text: str = Field(description="The reply exactly as the service sent it.")
    citations: tuple[Citation, ...] = ()
    entities: tuple[Entity, ...] = ()
    conversation_id: str
    turn_count: int
    sensitivity_label: SensitivityLabel | None = None
    message_id: str | None = None
    state: str | None = None
    adaptive_cards: tuple[dict[str, Any], ...] = ()
    attributions: tuple[dict[str, Any], ...] = Field(default=(), description="Raw attributions.")
    request_id: str | None = Field(default=None, description="The service's request-id for this turn (for support).")

    def structured(self) -> dict[str, Any]:
        """The JSON every front end publishes (MCP ``structuredContent``, ``--json``, artifacts)."""
        return {
            "answer": self.text,
            "citations": [
                {"index": c.index, "title": c.title, "url": c.url, "source": c.source}
                for c in self.citations
            ],
            "entities": [e.model_dump() for e in self.entities],
            "conversation_id": self.conversation_id,
            "turn_count": self.turn_count,
            "sensitivity_label": self.sensitivity_label.model_dump() if self.sensitivity_label else None,
        }

    def render(self) -> str:
        """Markdown for a model or a person: the answer, numbered sources, then the label."""
        parts = [self.text.rstrip()]
        if self.citations:
            lines = ["Sources:"]
            for citation in self.citations:
                title = citation.title or citation.url or "Untitled source"
                if citation.source == "external":
                    lines.append(f"[{citation.index}] {title}")
                elif citation.url and citation.url != title:
                    lines.append(f"[{citation.index}] {title} — {citation.url}")
                else:
                    lines.append(f"[{citation.index}] {title}")
            parts.append("\n".join(lines))
        if self.sensitivity_label and self.sensitivity_label.name:
            parts.append(f"Sensitivity: {self.sensitivity_label.name}")
        return "\n\n".join(parts)


#: The JSON schema of ``Answer.structured()`` (``copilot_tools._schema`` notation).
STRUCTURED_ANSWER_SCHEMA: dict[str, Any] = object_of({
    "answer": prop("string", "The answer in markdown with [n] markers."),
    "citations": array_of(object_of({"index": "integer", "title": "string?", "url": "string?", "source": "string?"})),
    "entities": array_of(object_of({
        "kind": prop("string", enum=("person", "event", "file")), "name": "string", "url": "string?",
    })),
    "conversation_id": "string",
    "turn_count": "integer",
    "sensitivity_label": object_of({
        "id": "string?", "name": "string?", "tooltip": "string?", "priority": "integer?", "color": "string?",
        "is_encrypted": "boolean?",
    }, required=(), nullable=True),
})


@dataclass
class _Numbering:
    """Maps service markers to display numbers in order of first use.

    The package numbers markers with ``_numbered``; this and ``_number_markers`` are kept for
    tests/property/test_normalize_equivalence.py, which holds ``_numbered`` to the former ``sub``.
    """

    numbers: dict[str, int] = field(default_factory=dict)

    def number(self, marker: str) -> int:
        if marker not in self.numbers:
            self.numbers[marker] = len(self.numbers) + 1
        return self.numbers[marker]


def clean_text(raw: str) -> str:
    """Tags become names and markers become ``[n]`` (first use numbered first)."""
    return _numbered(_strip_tags(raw), {})


def _number_markers(text: str, numbering: _Numbering) -> str:
    """``text`` with each marker ``[^id^]`` made ``[n]``, ``numbering`` giving the numbers."""
    return _numbered(text, numbering.numbers)


def _numbered(text: str, numbers: dict[str, int]) -> str:
    """``text`` with each marker ``[^id^]`` made ``[n]``; ``numbers`` (changed) maps each id to its number.

    ``_MARKER.split`` puts the ids at the odd places of its list: a loop over them instead of a
    ``sub`` that called a Python function per marker, with its match object (the reference /chat
    reply fifty times over, 100 markers: 32 us against 51 us; alone, with two, the same 1.6 us).
    """
    if "[" not in text or "[^" not in text:  # (``_may_hold_marker`` inline)
        return text
    parts = _MARKER.split(text)
    for at in range(1, len(parts), 2):
        number = numbers.get(parts[at])
        if number is None:
            number = numbers[parts[at]] = len(numbers) + 1
        parts[at] = f"[{number}]"
    return "".join(parts)


class GrowingClean:
    """``clean_text`` of a text that grows (a streamed reply), cleaning only what was added.

    It remembers a prefix it cleaned (the checkpoint): the raw text, its tags stripped, its clean
    form and the marker numbers given so far. A text that extends the checkpoint is cleaned from
    there on: ``clean_text(a + t)`` is ``clean_text(a)`` followed by ``t`` cleaned on its own (with
    the numbering continued) whenever no tag and no marker could match across the end of ``a``.
    Neither pattern looks behind, and a match or a failed attempt that reads nothing past the end
    of ``a`` reads the same in ``a + t``; so the scans of ``a + t`` find in ``a`` what they found
    there, and start afresh at its end. A text becomes the checkpoint only when it so ends
    (``_tag_may_continue``, ``_marker_may_continue``); what ``stable_prefix`` shows nearly always
    does (figures in ``streaming._GrowingText``). tests/property/test_text_fast_paths.py holds it
    to ``clean_text``, on replies cut anywhere.
    """

    __slots__ = ("_source", "_stripped", "_cleaned", "_numbers")

    def __init__(self) -> None:
        self._source = self._stripped = self._cleaned = ""  # "" is its own clean form
        self._numbers: dict[str, int] = {}

    def __call__(self, text: str) -> str:
        source = self._source
        if text.startswith(source):
            added = text[len(source):]
            if "]" not in added and ">" not in added:
                # Every tag ends in '>' and every marker in ']': none can end in ``added``, so the
                # scans find what they found in ``source`` and nothing more (two memchr scans; the
                # checkpoint stays where it is).
                return self._cleaned + added
            numbers = dict(self._numbers)
            added = _strip_tags(added)
            stripped = self._stripped + added
            cleaned = self._cleaned + _numbered(added, numbers)
        else:
            numbers = {}
            stripped = _strip_tags(text)
            cleaned = _numbered(stripped, numbers)
        if not _tag_may_continue(text) and not _marker_may_continue(stripped):
            self._source, self._stripped, self._cleaned, self._numbers = text, stripped, cleaned, numbers
        return cleaned


_TAG_OPENINGS = ("<Person>", "<Event>", "<File>")
_ID_RUN = re.compile(r"[^\^\]\s]*")  # the characters of a marker's id


def _tag_may_continue(raw: str) -> bool:
    """Whether text appended to ``raw`` could complete an entity tag begun in it.

    Only an attempt from the last ``<`` (a tag begun, or an open tag's text) or from the one before
    it (an open tag whose closing tag is half-written) can read to the end: any other attempt
    stops at a ``<`` before them.
    """
    last = raw.rfind("<")
    if last == -1:
        return False
    if len(raw) - last <= 8 and any(opening.startswith(raw[last:]) for opening in _TAG_OPENINGS):
        return True
    if _OPEN_TAG_TO_END.fullmatch(raw, last):
        return True
    tail = len(raw) - last
    if tail > 8:  # longer than any closing tag begun and not finished ("</Person" is 8)
        return False
    previous = raw.rfind("<", 0, last)
    opened = _OPEN_TAG_TO_END.fullmatch(raw, previous, last) if previous != -1 else None
    return opened is not None and tail < len(opened.group(1)) + 3 and f"</{opened.group(1)}>".startswith(raw[last:])


def _marker_may_continue(text: str) -> bool:
    """Whether text appended to ``text`` could complete a marker begun in it.

    A marker begun is ``[``, or ``[^`` and an id (possibly empty), or ``[^``, an id and ``^``. An
    id holds no ``^``, so it is the whole run of id characters at the end (or before a last ``^``).
    """
    last = text.rfind("[")
    # Every marker begun holds the last '[' and then no ']' and no whitespace: most texts stop here.
    if last == -1 or not _MARKER_RUN.fullmatch(text, last + 1):
        return False
    end = len(text)
    if last == end - 1:
        return True
    start = end - _trailing_run(text, end, _ID_RUN) - 2
    if start >= 0 and text.startswith("[^", start):
        return True
    if not text.endswith("^"):
        return False
    run = _trailing_run(text, end - 1, _ID_RUN)
    start = end - 1 - run - 2
    return run > 0 and start >= 0 and text.startswith("[^", start)


def _strip_tags(raw: str) -> str:
    # ``in`` is a memchr-speed scan; the regex engine's own search for '<' is several times slower,
    # and most snapshots hold no tag at all.
    if "<" not in raw:
        return raw
    parts = _TAG.split(raw)  # (``_split_tags`` without the tags' list: the pieces between, and each name)
    del parts[1::3]
    return "".join(parts)


def _may_hold_marker(text: str) -> bool:
    # A one-character ``in`` is a memchr; the two-character test only runs when a '[' exists.
    return "[" in text and "[^" in text


def stable_prefix(raw: str) -> str:
    """The part of a growing reply that can be shown: no half-written tag or marker.

    What may still be growing at the end: an entity tag whose closing tag has not arrived
    (``<Person>John Do``, ``<Person>John Doe</Pers``), a half-written tag (``<Pers``), or a
    half-written marker (``[^1``). The text is cut where the earliest of them starts. As with a
    regular expression's ``$``, a construct followed only by a final newline counts as well.

    The search runs backwards from the end with ``rfind`` and anchored matches, so it is linear
    whatever the text holds; a ``re.search`` for an end-anchored pattern would try every start
    and rescan the rest of the text from each one (quadratic on a run of ``[``).
    """
    end = len(raw)
    cut = _incomplete_start(raw, end, end)
    if raw.endswith("\n"):
        cut = _incomplete_start(raw, end - 1, cut)
    return raw[:cut] if cut < end else raw


def _incomplete_start(raw: str, end: int, cut: int) -> int:
    """Where the earliest construct that runs up to ``end`` starts, if before ``cut``; else ``cut``.

    (The starts' minimum kept as it goes, not a list of them: 0.1 us of a snapshot's ~0.8.)
    """
    # A marker: the first '[' after the last ']' or whitespace character. There is one only when
    # the last '[' lies in that run, that is when nothing after it ends the run: one anchored match
    # from the last '[' settles most texts, and the run is measured only when it holds a '['.
    last_bracket = raw.rfind("[", 0, end)
    if last_bracket != -1 and _MARKER_RUN.fullmatch(raw, last_bracket + 1, end):
        run = _trailing_run(raw, end, _MARKER_RUN)
        cut = min(cut, raw.find("[", end - run, end))
    last = raw.rfind("<", 0, end)
    if last == -1:
        return cut
    # A half-written tag: '<' then word characters up to the end. Word characters hold no '<',
    # so its '<' can only be the last one. (These anchored matches replace measuring the trailing
    # runs backwards: stable_prefix went from 2.1 us to 0.9 us a snapshot on the benchmark's
    # captured and reference replies; tests/property/test_text_fast_paths.py holds it to the old
    # code.) Of the three shapes from the last '<', only an open tag holds a '>': one find tells
    # which to try (the usual tail, after a closed tag, is settled by it and one match).
    if raw.find(">", last, end) != -1:
        # An open entity tag, whose text may end in the beginning of its closing tag.
        return min(cut, last) if _OPEN_TAG_TO_END.fullmatch(raw, last, end) else cut
    if _WORD_RUN.fullmatch(raw, last + 1, end):
        cut = min(cut, last)
    if _CLOSING_TAG_START.fullmatch(raw, last, end):
        previous = raw.rfind("<", 0, last)
        if previous != -1 and _OPEN_TAG_TO_END.fullmatch(raw, previous, last):
            cut = min(cut, previous)
    return cut


def _trailing_run(raw: str, end: int, run: re.Pattern[str]) -> int:
    """How many characters before ``end`` all belong to ``run`` (a one-character-class pattern).

    Matched on the reversed tail, in windows that grow fourfold: the cost follows the run's
    length, not the text's, and stays linear even when the run is the whole text.
    """
    window = 256
    while True:
        low = max(0, end - window)
        tail = raw[low:end][::-1]
        length = run.match(tail).end()  # type: ignore[union-attr]  # a starred class always matches
        if length < len(tail) or low == 0:
            return length
        window *= 4


def _links_in(blocks: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(numbered links, named links) in the text of ``blocks``."""
    numbered: dict[str, str] = {}
    named: dict[str, str] = {}
    for block in blocks:
        for label, url in _CARD_LINK.findall(block):
            target = numbered if label.strip().isdigit() else named
            target.setdefault(label.strip(), encodable(url))
    return numbered, named


def _scan_cards(cards: list[Any], test: bool = True) -> tuple[list[str], bool]:
    """The text of every TextBlock in ``cards`` (in document order, at any depth), and whether
    ``_json.sanitize`` would return ``cards`` as it is: one walk. ``test=False``: the cards are known
    clean (``normalize_message``'s ``checked``), the walk only gathers the TextBlocks.

    The cards were walked twice, for their TextBlocks and for ``_json``'s test (every string
    encodable, no container ``MAX_DEPTH`` below the list): the reference stream's card took 10.7 us
    for both, 7.4 us for this one (best of 9, in turn, on a loaded machine). The test is
    ``_json._is_clean``'s, written into this walk, which goes on to the end (the TextBlocks are read
    at any depth). The depth of each node is kept on a stack of its own, beside
    the nodes: no (node, depth) tuple per node; no recursion, so a card nested thousands deep is
    walked like any other, and what is neither a dict nor a list (a card sent as a string) is
    skipped. A string that is not ASCII is tested by ``_text.has_surrogate`` (the reference stream's
    card: 4.7 us with ``SURROGATE.search``, 2.4 us now). tests/property/test_normalize_equivalence.py
    holds it to the two former walks.
    """
    found: list[str] = []
    clean = test  # (False when not tested: each test below is skipped)
    stack: list[Any] = [cards]
    depths = [0]
    while stack:
        node = stack.pop()
        depth = depths.pop()
        if depth >= _json.MAX_DEPTH:
            clean = False
        if isinstance(node, dict):
            text = node.get("text")
            if node.get("type") == "TextBlock" and isinstance(text, str):
                found.append(text)
            if clean:
                for key in node:
                    if isinstance(key, str) and not key.isascii() and has_surrogate(key):
                        clean = False
            children: Any = reversed(node.values())
        elif isinstance(node, list):
            children = reversed(node)
        else:
            continue
        depth += 1
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append(child)
                depths.append(depth)
            elif clean and isinstance(child, str) and not child.isascii() and has_surrogate(child):
                clean = False
    return found, clean or not test


# The citations and entities of an answer are gathered as the fields of each (``_Fields``), and the
# ``Answer`` is validated with them nested, in one call: pydantic builds the ``Citation`` and
# ``Entity`` objects as ``Citation(**fields)`` would (the same values, the same fields set), without
# a Python ``__init__`` per object (0.7 us each: 7.3 us to 5.1 us for the captured reply's one
# citation and two entities). ``model_construct`` is no shortcut: it is a Python loop over the
# fields, slower than the validation it skips (Citation 2.6 us against 1.6 us).
_Fields = dict[str, Any]


def _citation_for(
    marker: str,
    index: int,
    citations: list[Attribution],
    card_numbered: dict[str, str],
    first_by_url: dict[str | None, int],
    external_title: str,
) -> tuple[_Fields, int | None]:
    """The fields of the citation for ``marker``, and the position of its attribution if it has one.

    ``first_by_url``: the position of the first citation with each URL (``_first_by_url``).
    """
    if marker == EXTERNAL_MARKER:
        return {"index": index, "title": external_title, "source": "external", "marker": marker}, None
    position: int | None = None
    card_url = card_numbered.get(marker)
    if card_url is not None:
        position = first_by_url.get(card_url)
    # isdecimal, not isdigit: int() refuses "²", and a marker of 4,300 digits or more (reply text).
    if position is None and marker.isdecimal() and len(marker) <= 18 and 0 < int(marker) <= len(citations):
        position = int(marker) - 1
    if position is None:
        return {"index": index, "url": card_url, "marker": marker}, None
    return _from_attribution(citations[position], index, marker, cited=True), position


def _first_by_url(citations: list[Attribution]) -> dict[str | None, int]:
    """The position of the first of ``citations`` with each ``see_more_web_url``."""
    first: dict[str | None, int] = {}
    for position, attribution in enumerate(citations):
        first.setdefault(attribution.see_more_web_url, position)
    return first


def _from_attribution(attribution: Attribution, index: int, marker: str | None, *, cited: bool) -> _Fields:
    return {
        "index": index,
        "title": _encodable_or_none(attribution.provider_display_name),
        "url": _encodable_or_none(attribution.see_more_web_url),
        "source": _encodable_or_none(attribution.attribution_source),
        "marker": marker,
        "cited_in_text": cited,
        "image_url": _encodable_or_none(attribution.image_web_url),
        "favicon_url": _encodable_or_none(attribution.image_fav_icon),
        "image_width": attribution.image_width or None,
        "image_height": attribution.image_height or None,
    }


def _entities(tags: list[tuple[str, str]], annotations: list[Attribution], card_named: dict[str, str]) -> list[_Fields]:
    """The entities of ``tags`` (each tag's kind and name, in order), each once."""
    entities: dict[tuple[str, str], _Fields] = {}
    remaining = iter(annotations)
    for tag_kind, tag_name in tags:
        kind, name = tag_kind.lower(), tag_name.strip()
        if (kind, name) in entities:
            continue
        annotation = next(remaining, None)
        url = _encodable_or_none(annotation.see_more_web_url) if annotation is not None else None
        url = card_named.get(name) or url
        entities[(kind, name)] = {"kind": kind, "name": name, "url": url}
    return list(entities.values())


def _split_tags(raw: str) -> tuple[str, list[tuple[str, str]]]:
    """``_strip_tags(raw)``, and the kind and name of each tag, in order.

    One ``_TAG.split``, which returns the text between the tags and both groups of each: the text
    is its pieces without the kinds. (A ``sub`` for the text and a ``finditer`` for the entities
    were two scans and a Python call per tag: with the entities built, 4.5 us against 3.1 us on the
    reference stream's reply.)
    """
    parts = _TAG.split(raw)
    tags = list(zip(parts[1::3], parts[2::3], strict=True))
    del parts[1::3]
    return "".join(parts), tags


def normalize_message(
    message: ResponseMessage,
    *,
    conversation_id: str,
    turn_count: int,
    state: str | None = None,
    external_title: str = "Additional context supplied with the question",
    request_id: str | None = None,
    checked: bool = False,
) -> Answer:
    """Build the ``Answer`` for one reply message.

    This is the boundary where reply text becomes ours: every string the ``Answer`` carries is
    made encodable here (``_text.encodable``), so no front end meets a lone surrogate.

    ``checked``: ``message`` was validated from JSON that ``_json`` or pydantic's parser read from
    bytes (``_wire.validate_json_fast``), so its strings are encodable already and its containers no
    deeper than ``_json.MAX_DEPTH``: the cards and attributions are not tested again for what they
    cannot hold (``_json.sanitize``'s test, the one walk of ``_scan_cards`` and ``_clean_wire``'s
    join): the reference /chat reply 16.0 us to 14.6 us, the stream fixtures' final replies 21.9 us to
    19.3 us (benchmarks/final_answer.py, main's and this in turn). The ``Answer`` is the same either way
    (tests/property/test_normalize_equivalence.py, tests/property/test_stream_checked_answer.py).
    """
    if len(message.attributions) > _MANY_ATTRIBUTIONS:
        # Built with the garbage collector paused (``_wire.PausedCollector``): the dump of the
        # attributions makes a dict each, and the collections they set off walked the models of the
        # reply again (the 16 MB multi-line event of benchmarks/parser_scaling.py, 100,000 of them:
        # the dump 150 ms with the collector on, 48 ms paused; the whole read, the reply ``checked``,
        # 417 ms against 315 ms paused, median of 5 in turn).
        with PausedCollector():
            return _normalized(message, conversation_id, turn_count, state, external_title, request_id, checked)
    return _normalized(message, conversation_id, turn_count, state, external_title, request_id, checked)


_MANY_ATTRIBUTIONS = 1000  # below, too few objects are made for the collector to matter


def _normalized(message: ResponseMessage, conversation_id: str, turn_count: int, state: str | None,
                external_title: str, request_id: str | None, checked: bool) -> Answer:
    """``normalize_message``'s work."""
    raw = encodable(message.text or "")
    citation_attrs = [a for a in message.attributions if a.attribution_type == "citation"]
    annotation_attrs = [a for a in message.attributions if a.attribution_type == "annotation"]
    tagged = "<" in raw  # (one memchr for the three places that ask: 0.2 ms each on a 16 MB reply)
    text, tags = _split_tags(raw) if tagged else (raw, [])
    marked = _may_hold_marker(text)
    # The cards' links are read only where a marker or a tag may use them (8 us on the captured
    # reply's card): a reply with neither would only throw them away. Where they are read, the same
    # walk tells whether the cards are clean.
    cards = list(message.adaptive_cards)
    cards_clean = checked
    if marked or tagged:
        blocks, cards_clean = _scan_cards(cards, test=not checked)
        card_numbered, card_named = _links_in(blocks)
    else:
        card_numbered, card_named = {}, {}

    citations: dict[int, _Fields] = {}
    used_positions: set[int] = set()
    # A card's numbered link is matched to the first citation with its URL, looked up rather than
    # searched for each marker (quadratic: 8,000 markers and sources took 2.4 s).
    first_by_url = _first_by_url(citation_attrs) if card_numbered else {}

    if marked:
        # Each marker's citation is made at its first use, in the order the numbers were given.
        numbers: dict[str, int] = {}
        text = _numbered(text, numbers)
        for marker, index in numbers.items():
            citation, position = _citation_for(marker, index, citation_attrs, card_numbered, first_by_url,
                                               external_title)
            citations[index] = citation
            if position is not None:
                used_positions.add(position)
    # Sources the reply used without a marker (a grounding file it summarised) still count.
    # One already cited (by a non-empty URL) is not listed again. The URLs are kept in a set: testing
    # each source against every citation so far was quadratic (8,000 sources: 2.3 s).
    next_index = len(citations) + 1
    cited_urls = {c.get("url") for c in citations.values() if c.get("url")}
    for position, attribution in enumerate(citation_attrs):
        if position in used_positions or attribution.see_more_web_url in cited_urls:
            continue
        citations[next_index] = uncited = _from_attribution(attribution, next_index, None, cited=False)
        if uncited["url"]:
            cited_urls.add(uncited["url"])
        next_index += 1

    fields: _Fields = {
        "text": text,
        "raw_text": raw,
        "citations": tuple(citations[i] for i in sorted(citations)),
        "entities": tuple(_entities(tags, annotation_attrs, card_named)),
        "conversation_id": encodable(conversation_id),
        "turn_count": turn_count,
        "sensitivity_label": SensitivityLabel.from_wire(message.sensitivity_label),
        "message_id": _encodable_kept(message.id),
        "state": _encodable_kept(state),
        # Raw structures leave as the wire sent them, but encodable and bounded like the rest
        # (free when they came through _json already; a copy only when something needed fixing).
        "adaptive_cards": tuple(cards if cards_clean else _json.sanitize(cards)),
        "attributions": tuple(_attributions_wire(message.attributions) if checked
                              else _clean_wire(message.attributions)),
    }
    # Only when there is one, so that the fields set are as they were (an Answer without a request
    # id has not set it).
    if request_id:
        fields["request_id"] = request_id
    validator = _ANSWER_VALIDATOR or _answer_validator()
    answer: Answer = validator.validate_python(fields)
    return answer


_ANSWER_VALIDATOR: SchemaValidator | None = None  # built on first use, as Answer's own (defer_build)


def _answer_validator() -> SchemaValidator:
    """``Answer``'s validator, but for the items of ``attributions``, which it takes as they are.

    ``normalize_message`` gives that field a tuple of fresh dicts with string keys, held by nothing
    else: the JSON-mode dump of the attributions (``_attributions_wire``) or ``_json.sanitize``'s copy
    of it. Validating each as ``dict[str, Any]`` only made an equal copy of it: the 16 MB
    multi-line event of benchmarks/parser_scaling.py, 100,000 attributions, took 39 ms of copies, and
    as many new objects counted by the garbage collector. The same ``Answer`` results, its tuple
    holding those dicts (tests/property/test_normalize_equivalence.py). A schema of another shape
    than this one knows (another pydantic) gets ``Answer``'s own validator.
    """
    global _ANSWER_VALIDATOR
    Answer.model_rebuild()  # a built model returns at once
    model = dict(Answer.__pydantic_core_schema__)
    try:
        fields_schema = dict(model["schema"])
        fields = dict(fields_schema["fields"])
        field = dict(fields["attributions"])
        default = dict(field["schema"])
        items = dict(default["schema"])
        known = model["type"] == "model" and default["type"] == "default" and items["type"] == "tuple"
    except (KeyError, TypeError):
        known = False
    validator: Any = Answer.__pydantic_validator__
    if known:
        items["items_schema"] = [{"type": "any"}]
        default["schema"], field["schema"], fields["attributions"] = items, default, field
        fields_schema["fields"], model["schema"] = fields, fields_schema
        try:
            # Not the prebuilt one: given a model schema, pydantic-core reuses the class's own validator
            # (its items copied again) unless told not to, as pydantic tells it when it rebuilds.
            validator = SchemaValidator(model, model.get("config"), _use_prebuilt=False)
        except TypeError:  # a pydantic-core without the argument: Answer's own validator, as before
            pass
    _ANSWER_VALIDATOR = validator
    return _ANSWER_VALIDATOR


def _clean_wire(attributions: list[Attribution]) -> list[dict[str, Any]]:
    """``_json.sanitize(_attributions_wire(attributions))``, its test made at C speed when it can be.

    When no attribution holds an unknown field, the dump is a list of flat dicts: the aliases (ASCII)
    and the values of the fields, of which only the text fields' can be text. So it is clean exactly
    when those texts are: joined (``map``, ``chain``, ``filter`` and ``join`` step through them in C),
    they are one string to test, where ``_json._is_clean`` walked the dump in Python. Dump and test:
    4.6 us walked, 3.3 us joined for the reference /chat reply's three; the walk of the 100,000 of
    benchmarks/parser_scaling.py's multi-line event 75 ms, the join 66 ms (in turn, on a loaded
    machine). tests/property/test_normalize_equivalence.py holds the two tests to each other.
    """
    dumped = _attributions_wire(attributions)
    try:
        if not any(map(_UNKNOWN_FIELDS, attributions)):
            texts = "".join(filter(None, chain.from_iterable(map(_TEXT_FIELDS, attributions))))
            if is_encodable(texts):
                return dumped
    except (AttributeError, TypeError):  # not an Attribution, or a text field that holds no text
        pass
    cleaned: list[dict[str, Any]] = _json.sanitize(dumped)  # (the dump itself when its walk finds it clean)
    return cleaned


#: The fields of ``Attribution`` that hold text (the others hold numbers).
_TEXT_FIELD_NAMES = ("attribution_type", "attribution_source", "provider_display_name", "see_more_web_url",
                     "image_web_url", "image_fav_icon")
_TEXT_FIELDS = attrgetter(*_TEXT_FIELD_NAMES)
_UNKNOWN_FIELDS = attrgetter("__pydantic_extra__")


_ATTRIBUTION_LIST: TypeAdapter[list[Attribution]] | None = None  # built on first use, not at import


def _attributions_wire(attributions: list[Attribution]) -> list[dict[str, Any]]:
    """Each attribution as ``to_wire()`` gives it, the whole list in one serializer call: 2.1 us
    instead of 3.5 us for the reference reply's three (one pass of Python around the Rust dump,
    not three).

    A key with a lone surrogate (an unknown field of a dict a caller passed, never one read from
    bytes) makes the JSON-mode dump raise: that attribution is dumped as Python values and left
    to ``_json.sanitize`` like any other string.
    """
    global _ATTRIBUTION_LIST
    if _ATTRIBUTION_LIST is None:
        from pydantic import TypeAdapter  # (imported here: its module is not needed before, 0.25 ms at import)

        _ATTRIBUTION_LIST = TypeAdapter(list[Attribution])
    try:
        dumped: list[dict[str, Any]] = _ATTRIBUTION_LIST.dump_python(attributions, mode="json", by_alias=True,
                                                                      exclude_none=True)
    except UnicodeEncodeError:
        return [_attribution_wire(attribution) for attribution in attributions]
    return dumped


def _attribution_wire(attribution: Attribution) -> dict[str, Any]:
    try:
        return attribution.to_wire()
    except UnicodeEncodeError:
        return attribution.model_dump(by_alias=True, exclude_none=True)


def find_reply(conversation: Conversation, prompt: str | None, locked_id: str | None = None) -> ResponseMessage | None:
    """The reply message in a conversation snapshot, or None when it holds none yet.

    Once a reply's id is known (``locked_id``), that message is followed. Otherwise the reply is
    chosen by what it is, never by where it stands (the service may list messages in any
    order): not the echo of the prompt, a response message by its ``@odata.type`` rather than
    one of another type, one with citations or cards rather than bare text, and only then the
    later one.
    """
    messages = conversation.messages
    if not messages:
        return None
    if locked_id is not None:
        for message in messages:
            if message.id == locked_id:
                return message
    if len(messages) == 1:  # (the one candidate, or none: what the ranking below picks, without it)
        return None if _is_echo(messages[0], prompt) else messages[0]
    candidates = [m for m in messages if not _is_echo(m, prompt)]
    if not candidates:
        return None
    return max(enumerate(candidates), key=lambda pair: (_reply_rank(pair[1]), pair[0]))[1]


def _is_echo(message: ResponseMessage, prompt: str | None) -> bool:
    text = message.text or ""
    if prompt is None or message.attributions or message.adaptive_cards or len(text) > 2 * len(prompt) + 64:
        return False  # (the length test spares stripping a long reply just to compare it)
    return text.strip() == prompt.strip()


def _reply_rank(message: ResponseMessage) -> tuple[bool, bool]:
    typed = message.odata_type is None or message.odata_type == RESPONSE_MESSAGE_TYPE
    return typed, bool(message.attributions or message.adaptive_cards)


def _encodable_or_none(value: str | None) -> str | None:
    return encodable(value) if value else None


def _encodable_kept(value: str | None) -> str | None:
    """``value`` made encodable, an empty string kept as it is (unlike ``_encodable_or_none``)."""
    return None if value is None else encodable(value)
