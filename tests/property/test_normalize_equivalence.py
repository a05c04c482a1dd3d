"""Property: ``normalize_message`` builds the very ``Answer`` its former version built.

It now gathers citations and entities as plain fields and validates the ``Answer`` once, and reads
the cards' links only when a marker or a tag may use them. The former code is kept below as the
oracle; replies are built from the pieces those paths turn on (markers, tags, card links, URLs
shared between cards and attributions), and the answers must match in values and in the fields
each model has set.

The pieces made faster since are held to their former code here too: the one walk of the cards
(``_scan_cards``) to the TextBlock walk and ``_json._is_clean``, the card-link pattern to its
former ``\\s`` class, the attributions' C-speed cleanliness test (``_clean_wire``) to
``_json.sanitize``, one ``_TAG.split`` to ``sub`` and ``finditer``, and the markers' split to ``sub``. A message
read from bytes (``checked``: none of those tests) builds the former answer too.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from copilot_tools import _json
from copilot_tools._text import encodable
from copilot_tools._wire import Attribution, ResponseMessage, validate_json_fast
from copilot_tools.answer import (
    _CARD_LINK,
    _MARKER,
    _TAG,
    EXTERNAL_MARKER,
    Answer,
    Citation,
    Entity,
    SensitivityLabel,
    _attributions_wire,
    _clean_wire,
    _may_hold_marker,
    _number_markers,
    _Numbering,
    _scan_cards,
    _split_tags,
    _strip_tags,
    _TEXT_FIELD_NAMES,
    _WHITESPACE,
    normalize_message,
)


FORMER_CARD_LINK = re.compile(r"\[([^\[\]\n]+)\]\((https?://[^\s)\[]+)\)")


def _text_blocks(root: Any) -> list[str]:
    """The former walk for the cards' TextBlocks (now one walk with the cleanliness test, ``_scan_cards``)."""
    found: list[str] = []
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            text = node.get("text")
            if node.get("type") == "TextBlock" and isinstance(text, str):
                found.append(text)
            stack.extend(value for value in reversed(node.values()) if isinstance(value, (dict, list)))
        elif isinstance(node, list):
            stack.extend(item for item in reversed(node) if isinstance(item, (dict, list)))
    return found


def _card_links(message: ResponseMessage) -> tuple[dict[str, str], dict[str, str]]:
    numbered: dict[str, str] = {}
    named: dict[str, str] = {}
    for block in _text_blocks(message.adaptive_cards):
        for label, url in FORMER_CARD_LINK.findall(block):
            target = numbered if label.strip().isdigit() else named
            target.setdefault(label.strip(), encodable(url))
    return numbered, named


def _or_none(value: str | None) -> str | None:
    return encodable(value) if value else None


def _old_from_attribution(attribution: Attribution, index: int, marker: str | None, *, cited: bool) -> Citation:
    return Citation(
        index=index, title=_or_none(attribution.provider_display_name), url=_or_none(attribution.see_more_web_url),
        source=_or_none(attribution.attribution_source), marker=marker, cited_in_text=cited,
        image_url=_or_none(attribution.image_web_url), favicon_url=_or_none(attribution.image_fav_icon),
        image_width=attribution.image_width or None, image_height=attribution.image_height or None,
    )


def _old_citation_for(marker: str, index: int, citations: list[Attribution], card_numbered: dict[str, str],
                      external_title: str) -> tuple[Citation, int | None]:
    if marker == EXTERNAL_MARKER:
        return Citation(index=index, title=external_title, source="external", marker=marker), None
    position: int | None = None
    card_url = card_numbered.get(marker)
    if card_url is not None:
        position = next((i for i, a in enumerate(citations) if a.see_more_web_url == card_url), None)
    if position is None and marker.isdecimal() and len(marker) <= 18 and 0 < int(marker) <= len(citations):
        position = int(marker) - 1
    if position is None:
        return Citation(index=index, url=card_url, marker=marker), None
    return _old_from_attribution(citations[position], index, marker, cited=True), position


def _old_entities(raw: str, annotations: list[Attribution], card_named: dict[str, str]) -> list[Entity]:
    entities: dict[tuple[str, str], Entity] = {}
    remaining = iter(annotations)
    for match in _TAG.finditer(raw) if "<" in raw else ():
        kind, name = match.group(1).lower(), match.group(2).strip()
        if (kind, name) in entities:
            continue
        annotation = next(remaining, None)
        url = _or_none(annotation.see_more_web_url) if annotation is not None else None
        url = card_named.get(name) or url
        entities[(kind, name)] = Entity(kind=kind, name=name, url=url)  # type: ignore[arg-type]
    return list(entities.values())


def _old_normalize(message: ResponseMessage, *, conversation_id: str, turn_count: int, state: str | None = None,
                   external_title: str = "Additional context supplied with the question",
                   request_id: str | None = None) -> Answer:
    raw = encodable(message.text or "")
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
            citation, position = _old_citation_for(marker, index, citation_attrs, card_numbered, external_title)
            citations[index] = citation
            if position is not None:
                used_positions.add(position)
        return f"[{index}]"

    text = _strip_tags(raw)
    if _may_hold_marker(text):
        text = _MARKER.sub(replace, text)
    next_index = len(citations) + 1
    for position, attribution in enumerate(citation_attrs):
        if position in used_positions:
            continue
        if any(c.url and c.url == attribution.see_more_web_url for c in citations.values()):
            continue
        citations[next_index] = _old_from_attribution(attribution, next_index, None, cited=False)
        next_index += 1
    return Answer(
        text=text, raw_text=raw, citations=tuple(citations[i] for i in sorted(citations)),
        entities=tuple(_old_entities(raw, annotation_attrs, card_named)), conversation_id=conversation_id,
        turn_count=turn_count, sensitivity_label=SensitivityLabel.from_wire(message.sensitivity_label),
        message_id=message.id, state=state,
        adaptive_cards=tuple(_json.sanitize(list(message.adaptive_cards))),
        attributions=tuple(_json.sanitize(_attributions_wire(message.attributions))),
        **({"request_id": request_id} if request_id else {}),
    )


URLS = ["https://a.example/1", "https://b.example/2", "", "https://p.example/ann", "http://x.example/\ud83d"]
TEXT_PIECES = ["[^1^]", "[^2^]", "[^3^]", "[^external^]", "[^x^]", "[^0^]", "[^²^]", "<Person>Ann</Person>",
               "<Person> Ann </Person>", "<File>Doc</File>", "<Event>Standup</Event>", "<Pers", "[^", "word ", "\n",
               "é", "\ud83d"]
CARD_PIECES = ["[1](https://a.example/1)", "[2](https://b.example/2)", "[ 3 ](https://c.example/3)",
               "[Ann](https://p.example/ann)", "[Doc](https://d.example/doc)", "text ", "\n"]
attribution = st.fixed_dictionaries({
    "attributionType": st.sampled_from(["citation", "annotation", "other"]),
}, optional={
    "attributionSource": st.sampled_from(["model", "grounding"]),
    "providerDisplayName": st.sampled_from(["Doc", "", "\udc00"]),
    "seeMoreWebUrl": st.sampled_from(URLS),
    "imageWebUrl": st.sampled_from(URLS),
    "imageWidth": st.sampled_from([0, 64]),
})
text_block = st.lists(st.sampled_from(CARD_PIECES), max_size=6).map("".join).map(
    lambda text: {"type": "TextBlock", "text": text})
card = st.fixed_dictionaries({"type": st.just("AdaptiveCard"), "body": st.lists(text_block, max_size=3)})
message = st.fixed_dictionaries({
    "id": st.sampled_from(["r", None]),
    "text": st.lists(st.sampled_from(TEXT_PIECES), max_size=12).map("".join),
    "attributions": st.lists(attribution, max_size=5),
    "adaptiveCards": st.lists(card, max_size=2),
})


def _nest(value: Any, depth: int) -> Any:
    """``value`` ``depth`` levels down in cards' containers and lists, alternately."""
    for level in range(depth):
        value = [value] if level % 2 else {"type": "Container", "items": value}
    return value


def _fields_set(value: Any) -> Any:
    """The fields set of every model in ``value``, nested as the models are."""
    if isinstance(value, BaseModel):
        nested = {name: _fields_set(getattr(value, name)) for name in type(value).model_fields}
        return sorted(value.model_fields_set), nested
    if isinstance(value, tuple):
        return [_fields_set(item) for item in value]
    return None


@settings(max_examples=300, deadline=None)
@given(data=message, request_id=st.sampled_from([None, "", "req-1"]), title=st.sampled_from([None, "Context: x"]))
def test_normalize_message_builds_the_former_answer(data: dict[str, Any], request_id: str | None,
                                                    title: str | None) -> None:
    reply = ResponseMessage.model_validate(data)
    keywords: dict[str, Any] = {"external_title": title} if title else {}
    new = normalize_message(reply, conversation_id="c", turn_count=1, state="s", request_id=request_id, **keywords)
    old = _old_normalize(reply, conversation_id="c", turn_count=1, state="s", request_id=request_id, **keywords)
    assert new == old
    assert new.model_dump() == old.model_dump()
    assert _fields_set(new) == _fields_set(old)


@settings(max_examples=300, deadline=None)
@given(data=message, cards=st.lists(st.builds(_nest, st.none() | st.sampled_from(
    ["x", "\ud83d", "é"]), st.integers(min_value=0, max_value=70)), max_size=2),
    extras=st.dictionaries(st.sampled_from(["extra", "k\udc00"]), st.sampled_from(["v", "\ud800", None]), max_size=2),
    request_id=st.sampled_from([None, "req-1"]))
def test_a_message_read_from_bytes_builds_the_same_answer_checked(data: dict[str, Any], cards: list[Any],
                                                                  extras: dict[str, Any],
                                                                  request_id: str | None) -> None:
    # ``checked``: the message came through _json or pydantic's parser (strings encodable, bounded), so
    # normalize_message skips the tests of its cards and attributions; the answer is the former one.
    data = {**data, "adaptiveCards": [*data["adaptiveCards"], *cards],
            "attributions": [{**item, **extras} for item in data["attributions"]]}
    body = json.dumps(data).encode()
    readings = [ResponseMessage.model_validate(_json.loads(body))]
    fast = validate_json_fast(ResponseMessage, body)
    if fast is not None:
        readings.append(fast)
    for reply in readings:
        new = normalize_message(reply, conversation_id="c", turn_count=1, state="s", request_id=request_id,
                                checked=True)
        old = _old_normalize(reply, conversation_id="c", turn_count=1, state="s", request_id=request_id)
        assert new == old
        assert new.model_dump() == old.model_dump()
        assert _fields_set(new) == _fields_set(old)


text_blocks = st.builds(lambda text: {"type": "TextBlock", "text": text},
                        st.sampled_from(["[1](https://a/1)", "\ud83d", "é"]))
card_trees = st.recursive(
    st.one_of(st.none(), st.integers(), st.sampled_from(["x", "\udc00", "📅"]), text_blocks),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["a", "k\ud800", "type"]),
                                                                     children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(cards=st.lists(st.builds(_nest, card_trees, st.integers(min_value=0, max_value=70)), max_size=3))
def test_one_walk_of_the_cards_tells_what_the_two_told(cards: list[Any]) -> None:
    # normalize_message reads the cards' TextBlocks and _json's cleanliness test in one walk (_scan_cards).
    assert _scan_cards(cards) == (_text_blocks(cards), _json._is_clean(cards, _json.MAX_DEPTH))


def test_the_card_links_whitespace_is_what_backslash_s_means() -> None:
    spelled = re.compile(f"[{_WHITESPACE}]")
    space = re.compile(r"\s")
    assert [c for c in range(0x110000) if spelled.match(chr(c))] == [c for c in range(0x110000) if space.match(chr(c))]


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from([*CARD_PIECES, "[", "](", "https://", "\u3000", "\u2028", "\x1c", "\xa0", " ",
                                      ")", "\x1b", "\u200b"]), max_size=16).map("".join))
def test_card_links_are_found_as_the_former_pattern_found_them(text: str) -> None:
    assert _CARD_LINK.findall(text) == FORMER_CARD_LINK.findall(text)


def test_the_text_fields_are_every_field_of_an_attribution_but_the_numbers() -> None:
    assert set(_TEXT_FIELD_NAMES) == set(Attribution.model_fields) - {"image_width", "image_height"}


extra_values = st.recursive(st.one_of(st.none(), st.integers(), st.sampled_from(["x", "\ud800", "é"])),
                            lambda children: st.lists(children, max_size=2) | st.dictionaries(
                                st.sampled_from(["k", "\udc00"]), children, max_size=2), max_leaves=6)
attribution_with_extras = st.builds(
    lambda fields, extras, depth: {**fields, **{key: _nest(value, depth) for key, value in extras.items()}},
    attribution, st.dictionaries(st.sampled_from(["extra", "other"]), extra_values, max_size=2),
    st.sampled_from([0, 1, 70]),
)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(st.one_of(attribution, attribution_with_extras), max_size=5))
def test_the_attributions_are_cleaned_as_sanitize_cleaned_them(items: list[dict[str, Any]]) -> None:
    attributions = [Attribution.model_validate(item) for item in items]
    cleaned = _clean_wire(attributions)
    assert cleaned == _json.sanitize(_attributions_wire(attributions))
    assert _json._is_clean(cleaned, _json.MAX_DEPTH)


@settings(max_examples=300, deadline=None)
@given(raw=st.lists(st.sampled_from([*TEXT_PIECES, "</Person>", "<File>", "</File>", "<Event>", "</Event>", "<", ">",
                                     "<Person></Person>", "<File>a<b</File>"]), max_size=16).map("".join))
def test_one_split_finds_what_sub_and_finditer_found(raw: str) -> None:
    text, tags = _split_tags(raw)
    assert text == _TAG.sub(lambda match: match.group(2), raw) == _strip_tags(raw)
    assert tags == [(match.group(1), match.group(2)) for match in _TAG.finditer(raw)]


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from([*TEXT_PIECES, "[^1^][^1^]", "[^ ^]", "[^^]", "[^1", "^]", "[^a b^]"]),
                     max_size=16).map("".join), seen=st.sampled_from([{}, {"1": 1}, {"2": 1, "x": 2}]))
def test_markers_are_numbered_as_the_former_sub_numbered_them(text: str, seen: dict[str, int]) -> None:
    former = _Numbering(dict(seen))
    expected = _MARKER.sub(lambda match: f"[{former.number(match.group(1))}]", text)
    numbering = _Numbering(dict(seen))
    assert _number_markers(text, numbering) == expected
    assert numbering.numbers == former.numbers
