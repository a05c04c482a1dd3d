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
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from copilot_tools._wire import Attribution, Conversation, ResponseMessage
from copilot_tools._wire import SensitivityLabel as WireSensitivityLabel

# Tags never nest, so a name runs to the next '<': linear even on unclosed tags.
_TAG = re.compile(r"<(Person|Event|File)>([^<]*)</\1>")
_MARKER = re.compile(r"\[\^([^\^\]\s]+)\^\]")
_CARD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")
# A construct that may still be growing at the end of a streamed snapshot.
_INCOMPLETE_TAIL = re.compile(r"(<(Person|Event|File)>[^<]*(<(/\w*)?)?|<\w*|\[\^?[^\]\s]*\^?)$")

EXTERNAL_MARKER = "external"
EntityKind = Literal["person", "event", "file"]
CitationSource = Literal["model", "grounding", "external"] | str


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SensitivityLabel(_Model):
    """The most sensitive label among the sources of an answer (or of a retrieval hit)."""

    id: str | None = None
    name: str | None = None
    tooltip: str | None = None
    priority: int | None = None
    color: str | None = None
    is_encrypted: bool | None = None

    @classmethod
    def from_wire(cls, label: WireSensitivityLabel | None) -> SensitivityLabel | None:
        if label is None or label.is_empty:
            return None
        return cls(
            id=label.sensitivity_label_id,
            name=label.display_name,
            tooltip=label.tooltip,
            priority=label.priority,
            color=label.color,
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
    cited_in_text: bool = True
    image_url: str | None = None
    favicon_url: str | None = None
    image_width: int | None = None
    image_height: int | None = None


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


#: The JSON schema of ``Answer.structured()``, published as the MCP tools' outputSchema.
STRUCTURED_ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "description": "The answer in markdown with [n] markers."},
        "citations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "title": {"type": ["string", "null"]},
                    "url": {"type": ["string", "null"]},
                    "source": {"type": ["string", "null"]},
                },
                "required": ["index", "title", "url", "source"],
            },
        },
        "entities": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["person", "event", "file"]},
                    "name": {"type": "string"},
                    "url": {"type": ["string", "null"]},
                },
                "required": ["kind", "name", "url"],
            },
        },
        "conversation_id": {"type": "string"},
        "turn_count": {"type": "integer"},
        "sensitivity_label": {
            "type": ["object", "null"],
            "properties": {
                "id": {"type": ["string", "null"]},
                "name": {"type": ["string", "null"]},
                "tooltip": {"type": ["string", "null"]},
                "priority": {"type": ["integer", "null"]},
                "color": {"type": ["string", "null"]},
                "is_encrypted": {"type": ["boolean", "null"]},
            },
        },
    },
    "required": ["answer", "citations", "entities", "conversation_id", "turn_count", "sensitivity_label"],
}


@dataclass
class _Numbering:
    """Maps service markers to display numbers in order of first use."""

    numbers: dict[str, int] = field(default_factory=dict)

    def number(self, marker: str) -> int:
        if marker not in self.numbers:
            self.numbers[marker] = len(self.numbers) + 1
        return self.numbers[marker]


def clean_text(raw: str) -> str:
    """Tags become names and markers become ``[n]`` (first use numbered first)."""
    numbering = _Numbering()
    text = _TAG.sub(lambda m: m.group(2), raw)
    return _MARKER.sub(lambda m: f"[{numbering.number(m.group(1))}]", text)


def stable_prefix(raw: str) -> str:
    """The part of a growing reply that can be shown: no half-written tag or marker."""
    match = _INCOMPLETE_TAIL.search(raw)
    return raw[: match.start()] if match else raw


def _card_links(message: ResponseMessage) -> tuple[dict[str, str], dict[str, str]]:
    """(numbered links, named links) from the adaptive cards' TextBlocks."""
    numbered: dict[str, str] = {}
    named: dict[str, str] = {}
    for card in message.adaptive_cards:
        for block in _text_blocks(card):
            for label, url in _CARD_LINK.findall(block):
                target = numbered if label.strip().isdigit() else named
                target.setdefault(label.strip(), url)
    return numbered, named


def _text_blocks(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "TextBlock" and isinstance(node.get("text"), str) else []
        for value in node.values():
            if isinstance(value, (dict, list)):
                found.extend(_text_blocks(value))
        return found
    if isinstance(node, list):
        return [text for item in node for text in _text_blocks(item)]
    return []


def _citation_for(
    marker: str,
    index: int,
    citations: list[Attribution],
    card_numbered: dict[str, str],
    external_title: str,
) -> tuple[Citation, int | None]:
    if marker == EXTERNAL_MARKER:
        return Citation(index=index, title=external_title, source="external", marker=marker), None
    position: int | None = None
    card_url = card_numbered.get(marker)
    if card_url is not None:
        position = next((i for i, a in enumerate(citations) if a.see_more_web_url == card_url), None)
    if position is None and marker.isdigit() and 0 < int(marker) <= len(citations):
        position = int(marker) - 1
    if position is None:
        return Citation(index=index, url=card_url, marker=marker), None
    return _from_attribution(citations[position], index, marker, cited=True), position


def _from_attribution(attribution: Attribution, index: int, marker: str | None, *, cited: bool) -> Citation:
    return Citation(
        index=index,
        title=attribution.provider_display_name or None,
        url=attribution.see_more_web_url or None,
        source=attribution.attribution_source,
        marker=marker,
        cited_in_text=cited,
        image_url=attribution.image_web_url or None,
        favicon_url=attribution.image_fav_icon or None,
        image_width=attribution.image_width or None,
        image_height=attribution.image_height or None,
    )


def _entities(raw: str, annotations: list[Attribution], card_named: dict[str, str]) -> list[Entity]:
    entities: dict[tuple[str, str], Entity] = {}
    remaining = iter(annotations)
    for match in _TAG.finditer(raw):
        kind, name = match.group(1).lower(), match.group(2).strip()
        if (kind, name) in entities:
            continue
        annotation = next(remaining, None)
        url = annotation.see_more_web_url if annotation is not None else None
        url = card_named.get(name) or url or None
        entities[(kind, name)] = Entity(kind=kind, name=name, url=url)  # type: ignore[arg-type]
    return list(entities.values())


def normalize_message(
    message: ResponseMessage,
    *,
    conversation_id: str,
    turn_count: int,
    state: str | None = None,
    external_title: str = "Additional context supplied with the question",
) -> Answer:
    """Build the ``Answer`` for one reply message."""
    raw = message.text or ""
    citation_attrs = [a for a in message.attributions if a.attribution_type == "citation"]
    annotation_attrs = [a for a in message.attributions if a.attribution_type == "annotation"]
    card_numbered, card_named = _card_links(message)

    numbering = _Numbering()
    citations: dict[int, Citation] = {}
    used_positions: set[int] = set()

    def replace(match: re.Match[str]) -> str:
        marker = match.group(1)
        index = numbering.number(marker)
        if index not in citations:
            citation, position = _citation_for(marker, index, citation_attrs, card_numbered, external_title)
            citations[index] = citation
            if position is not None:
                used_positions.add(position)
        return f"[{index}]"

    text = _MARKER.sub(replace, _TAG.sub(lambda m: m.group(2), raw))
    # Sources the reply used without a marker (a grounding file it summarised) still count.
    next_index = len(citations) + 1
    for position, attribution in enumerate(citation_attrs):
        if position in used_positions:
            continue
        if any(c.url and c.url == attribution.see_more_web_url for c in citations.values()):
            continue
        citations[next_index] = _from_attribution(attribution, next_index, None, cited=False)
        next_index += 1

    return Answer(
        text=text,
        raw_text=raw,
        citations=tuple(citations[i] for i in sorted(citations)),
        entities=tuple(_entities(raw, annotation_attrs, card_named)),
        conversation_id=conversation_id,
        turn_count=turn_count,
        sensitivity_label=SensitivityLabel.from_wire(message.sensitivity_label),
        message_id=message.id,
        state=state,
        adaptive_cards=tuple(message.adaptive_cards),
        attributions=tuple(a.to_wire() for a in message.attributions),
    )


def find_reply(conversation: Conversation, prompt: str | None, locked_id: str | None = None) -> ResponseMessage | None:
    """The reply message in a conversation snapshot, or None when it holds none yet.

    Once a reply's id is known (``locked_id``), that message is followed; otherwise the
    last message is the reply, unless it is only the echo of the prompt.
    """
    messages = conversation.messages
    if not messages:
        return None
    if locked_id is not None:
        for message in messages:
            if message.id == locked_id:
                return message
    last = messages[-1]
    if len(messages) == 1 and prompt is not None and (last.text or "") == prompt and not last.attributions:
        return None
    return last
