"""``chatOverStream``: the sequence of snapshots and how each one is framed.

The service sends whole conversation snapshots, not deltas: intermediate ones
("Intermediate Conversation Update", ``turnCount`` 0) with the reply as far as it has
grown, keep-alives with no messages, then the final one with the prompt and the whole
reply. The reply grows by ``words_per_event`` words, and never inside an entity tag or a
citation marker, so every intermediate text is one a client can render.

Three layouts (``docs/emulator.md`` shows each):

- ``captured`` (the default) is the wire as Microsoft's raw capture shows it
  (``shared/captures``): two leading keep-alives (the second with ``turnCount`` 1 although
  no reply exists yet), the growing reply, four trailing keep-alives, then the final
  snapshot; ``@odata.context`` and ``agentId: null`` on every Graph event; one compact
  ``data:`` line per event and ``id:N`` with a trailing space (except on the second
  event, as captured); the final event's adaptive card breaks over several lines and no
  blank line follows it, so a spec-conforming SSE parser never dispatches it.
- ``strict``: the same events, framed as the SSE specification wants (one ``data:``
  line, ``id:N``, a blank line after every event). ``compact`` is its old name.
- ``pretty``: the reference's printed layout (``data: `` then the JSON indented over many
  lines, ``id:N``, a blank line, no blank line after the last event), without the
  leading and trailing keep-alives of the capture.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from copilot_tools.emulator.conversations import Turn
from copilot_tools.emulator.draft import ENTITY_TAG, MARKER
from copilot_tools.emulator.faults import FaultPlan
from copilot_tools.emulator.payloads import ADAPTIVE_CARDS, stream_final, stream_snapshot

# Tags hold no '<' and markers no '[': linear even on thousands of unclosed ones.
_ATOM = re.compile(r"<(Person|Event|File)>[^<]*</\1>|\[\^[^\[\]\s]+\^\]|\s+|[^\s<\[]+|.", re.DOTALL)
#: The capture's keep-alives: ``turnCount`` of each leading one, and how many trail the reply.
LEADING_TURN_COUNTS = (0, 1)
TRAILING_KEEP_ALIVES = 4
#: Event numbers whose ``id:`` line has no trailing space in the capture.
_NO_TRAILING_SPACE = frozenset({2})


class StreamCut(Exception):
    """Raised by the event generator to abort the connection (the ``cut`` fault)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One event to send: a partial reply, a keep-alive (``text`` None), or the final snapshot."""

    kind: Literal["partial", "keep-alive", "final"]
    text: str | None = None
    turn_count: int = 0


def growth(text: str, words_per_event: int) -> list[str]:
    """Prefixes of ``text`` that grow by ``words_per_event`` words and end with ``text``."""
    prefixes: list[str] = []
    position = 0
    counted = 0
    for match in _ATOM.finditer(text):
        position = match.end()
        if not match.group(0).isspace():
            counted += 1
            if counted % words_per_event == 0:
                prefixes.append(text[:position])
    if text and (not prefixes or prefixes[-1] != text):
        prefixes.append(text)
    return prefixes


def draft_of(prefix: str) -> str:
    """What a ``rewrite`` shows first: the line being written still without its tags and
    markers, and a trailing "…" the next snapshot drops.

    As with the service, the rewrite touches the text being written, not lines finished
    long ago, so a renderer that can only revise its last line still ends exact.
    """
    head, newline, tail = prefix.rpartition("\n")
    plain = MARKER.sub("", ENTITY_TAG.sub(lambda m: m.group(2), tail)).rstrip()
    return f"{head}{newline}{plain}…"


def leading(layout: str) -> list[Step]:
    """The keep-alives before the reply: the capture's in ``captured``/``strict``, none in ``pretty``."""
    return [] if layout == "pretty" else [Step("keep-alive", turn_count=n) for n in LEADING_TURN_COUNTS]


def steps(text: str, words_per_event: int, faults: FaultPlan, layout: str = "captured") -> list[Step]:
    """The events of one streamed turn, faults applied (``cut`` aside, which the sender does)."""
    prefixes = growth(text, words_per_event)
    if faults.has("rewrite") and prefixes:
        # One snapshot, halfway, that the next one does not extend.
        middle = min(len(prefixes) // 2, len(prefixes) - 1)
        prefixes.insert(middle, draft_of(prefixes[middle]))
        if middle + 1 < len(prefixes) - 1:
            del prefixes[middle + 1]
    plan = leading(layout) + [Step("partial", prefix) for prefix in prefixes]
    plan += [Step("keep-alive")] * (1 if layout == "pretty" else TRAILING_KEEP_ALIVES)
    if not faults.has("no-final"):
        plan.append(Step("final"))
    return plan


def frame(payload: str, event_id: int, layout: str, *, last: bool) -> bytes:
    """One event in the chosen layout: data, ``id:N``, and the blank line that ends it."""
    if layout == "strict":
        return f"data: {payload}\nid:{event_id}\n\n".encode()
    space = " " if layout == "captured" and event_id not in _NO_TRAILING_SPACE else ""
    ending = "" if last else "\n"
    return f"data: {payload}\nid:{event_id}{space}\n{ending}".encode()


def compact(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def hybrid(data: dict[str, Any]) -> str:
    """Compact JSON whose adaptive cards are indented over several lines, as in the capture's
    final event (still valid JSON: the line breaks fall between tokens)."""
    cards: dict[str, str] = {}
    nonce = secrets.token_hex(8)

    def mark(message: object) -> object:
        if not isinstance(message, dict) or not message.get(ADAPTIVE_CARDS):
            return message
        marked = []
        for card in message[ADAPTIVE_CARDS]:
            key = f"card-{nonce}-{len(cards)}"
            cards[f'"{key}"'] = json.dumps(card, indent=2, ensure_ascii=False)
            marked.append(key)
        return {**message, ADAPTIVE_CARDS: marked}

    text = compact({**data, "messages": [mark(m) for m in data.get("messages") or []]})
    for key, card in cards.items():
        text = text.replace(key, card, 1)
    return text


def _payload(step: Step, turn: Turn, layout: str, context: str | None) -> str:
    if step.kind == "final":
        data = stream_final(turn, context=context if layout != "pretty" else None)
    else:
        data = stream_snapshot(turn, step.text, turn_count=step.turn_count,
                               context=context if layout != "pretty" else None)
    if layout == "pretty":
        return json.dumps(data, indent=2, ensure_ascii=False)
    if layout == "captured" and step.kind == "final":
        return hybrid(data)
    return compact(data)


async def event_stream(
    turn: Turn,
    *,
    layout: str,
    words_per_event: int,
    delay: float,
    faults: FaultPlan,
    context: str | None = None,
) -> AsyncIterator[bytes]:
    """The response body, event by event, paced by ``delay``; raises ``StreamCut`` to cut.

    ``context`` is the ``@odata.context`` of a Graph stream (None on Work IQ). The ``after``
    of ``cut`` and ``malformed`` counts events from the first one after the leading
    keep-alives, so ``cut;after=2`` leaves some reply text in every layout.
    """
    plan = steps(turn.reply.text, words_per_event, faults, layout)
    lead = len(leading(layout))
    cut_after = faults.after("cut", 1)
    if cut_after is not None:
        cut_after = min(cut_after + lead, len(plan) - 1)  # a cut never lets the stream end cleanly
    malformed = faults.after("malformed", 1)
    if malformed is not None:
        malformed += lead
    for number, step in enumerate(plan, start=1):
        if cut_after is not None and number > cut_after:
            raise StreamCut()
        if number > 1:
            await asyncio.sleep(delay)
        payload = _payload(step, turn, layout, context)
        if malformed is not None and number == malformed + 1:
            payload = payload[: len(payload) // 2]  # broken JSON; the next event is whole again
        yield frame(payload, number, layout, last=number == len(plan))
