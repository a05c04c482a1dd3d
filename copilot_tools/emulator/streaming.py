"""``chatOverStream``: the sequence of snapshots and how each one is framed.

The service sends whole conversation snapshots, not deltas: intermediate ones
("Intermediate Conversation Update", ``turnCount`` 0) with the reply as far as it has
grown, keep-alives with no messages, then the final one with the prompt and the whole
reply. The reply grows by ``words_per_event`` words, and never inside an entity tag or a
citation marker, so every intermediate text is one a client can render.

Two framings: ``pretty`` is the reference's printed layout (``data: `` then the JSON
indented over many lines, ``id:N``, a blank line, and no blank line after the last
event); ``compact`` is standard SSE, one ``data:`` line per event.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from copilot_tools.emulator.conversations import Turn
from copilot_tools.emulator.draft import ENTITY_TAG, MARKER
from copilot_tools.emulator.faults import FaultPlan
from copilot_tools.emulator.payloads import stream_final, stream_snapshot

# Tags hold no '<' and markers no '[': linear even on thousands of unclosed ones.
_ATOM = re.compile(r"<(Person|Event|File)>[^<]*</\1>|\[\^[^\[\]\s]+\^\]|\s+|[^\s<\[]+|.", re.DOTALL)


class StreamCut(Exception):
    """Raised by the event generator to abort the connection (the ``cut`` fault)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One event to send: a partial reply, a keep-alive (``text`` None), or the final snapshot."""

    kind: Literal["partial", "keep-alive", "final"]
    text: str | None = None


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


def steps(text: str, words_per_event: int, faults: FaultPlan) -> list[Step]:
    """The events of one streamed turn, faults applied (``cut`` aside, which the sender does)."""
    prefixes = growth(text, words_per_event)
    if faults.has("rewrite") and prefixes:
        # One snapshot, halfway, that the next one does not extend.
        middle = min(len(prefixes) // 2, len(prefixes) - 1)
        prefixes.insert(middle, draft_of(prefixes[middle]))
        if middle + 1 < len(prefixes) - 1:
            del prefixes[middle + 1]
    plan = [Step("partial", prefix) for prefix in prefixes]
    plan.append(Step("keep-alive"))
    if not faults.has("no-final"):
        plan.append(Step("final"))
    return plan


def frame(payload: str, event_id: int, layout: str, *, last: bool) -> bytes:
    """One event in the chosen layout: data, ``id:N``, and the blank line that ends it."""
    ending = "" if last and layout == "pretty" else "\n"
    return f"data: {payload}\nid:{event_id}\n{ending}".encode()


def _payload(step: Step, turn: Turn, layout: str) -> str:
    data = stream_final(turn) if step.kind == "final" else stream_snapshot(turn, step.text)
    if layout == "pretty":
        return json.dumps(data, indent=2, ensure_ascii=False)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


async def event_stream(
    turn: Turn, *, layout: str, words_per_event: int, delay: float, faults: FaultPlan
) -> AsyncIterator[bytes]:
    """The response body, event by event, paced by ``delay``; raises ``StreamCut`` to cut."""
    plan = steps(turn.reply.text, words_per_event, faults)
    cut_after = faults.after("cut", 1)
    if cut_after is not None:
        cut_after = min(cut_after, len(plan) - 1)  # a cut never lets the stream end cleanly
    malformed = faults.after("malformed", 1)
    for number, step in enumerate(plan, start=1):
        if cut_after is not None and number > cut_after:
            raise StreamCut()
        if number > 1:
            await asyncio.sleep(delay)
        payload = _payload(step, turn, layout)
        if malformed is not None and number == malformed + 1:
            payload = payload[: len(payload) // 2]  # broken JSON; the next event is whole again
        yield frame(payload, number, layout, last=number == len(plan))
