"""Hostile inputs for the property suite: random text, random JSON, and mutations of real bodies.

Random inputs find what nobody thought of; mutated reference bodies reach deep into the parsers
(a random string is rarely a stream with a final snapshot). Text strategies include lone
surrogates, control characters and the runs that once made the regexes quadratic.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from copilot_tools import CopilotError
from copilot_tools._protocol import parse_conversation
from copilot_tools.answer import Answer, find_reply
from copilot_tools.streaming import build_answer
from tests import reference

#: Every property test uses this: enough examples to find the classes of input, few enough that
#: the whole suite stays well under 30 seconds on a busy two-core machine.
FAST = settings(max_examples=100, deadline=None)

FRAGMENTS = [
    "[", "[^", "^]", "[^1^]", "[^external^]", "]", "(", ")", "<", "<Person>", "</Person>", "<Event>", "<File>",
    "</", "^", "*", "**", "`", "```", "\\ud83d", "\\udcc5", "\\\\", "\\u0000", "\ud83d", "\udcc5", "\x00", "\r",
    "\n", "\r\n", "\n\n", "data:", "data: ", "id:", "id: 7", "event: x", "retry: 5", ":", "{", "}", '"', "null",
    "[1](https://a/b)", "[x](http://", "\u202e", "\ufeff", "📅", "é", "x" * 50, "[" * 40, "<" * 40, "^" * 40,
]

#: Text from anywhere: any code point, surrogates included (hypothesis leaves those out by default).
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)
hostile_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), any_text), max_size=12).map("".join)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), hostile_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=20,
)


def json_text(value: Any) -> str:
    """JSON text that json.loads would accept; lone surrogates come out as \\udXXX escapes."""
    return json.dumps(value)


def nested(depth: int, *, opener: str = "[", closer: str = "]", inner: str = "1") -> str:
    return opener * depth + inner + closer * depth


deep_json = st.builds(
    lambda depth, kind: nested(depth, opener=kind[0], closer=kind[1], inner="1" if kind[0] == "[" else '"x"'),
    st.integers(min_value=0, max_value=3000),
    st.sampled_from([("[", "]"), ('{"a":', "}")]),
)


@st.composite
def mutated(draw: st.DrawFn, bodies: list[bytes]) -> bytes:
    """One of ``bodies`` with a few random edits: fragments inserted, ranges cut or repeated, truncated."""
    data = bytearray(draw(st.sampled_from(bodies)))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["insert", "cut", "repeat", "truncate", "byte"]))
        if action == "insert":
            piece = draw(st.one_of(st.sampled_from(FRAGMENTS), hostile_text))
            data[at:at] = piece.encode("utf-8", "surrogatepass")
        elif action == "cut":
            del data[at : at + draw(st.integers(min_value=1, max_value=200))]
        elif action == "repeat":
            data[at:at] = data[at : at + draw(st.integers(min_value=1, max_value=200))]
        elif action == "truncate":
            del data[at:]
        else:
            data[at:at] = bytes([draw(st.integers(min_value=0, max_value=255))])
    return bytes(data)


def stream_bodies() -> list[bytes]:
    return [body for _, body in reference.stream_examples()] + [reference.captured_stream()]


def chat_bodies() -> list[bytes]:
    return [json.dumps(response).encode() for _, response in reference.chat_examples()]


def retrieval_bodies() -> list[bytes]:
    return [json.dumps(response).encode() for path, _, response in reference.retrieval_examples()
            if not path.endswith("$batch")]


def batch_bodies() -> list[bytes]:
    """The reference's $batch answers, with the ids a client sends for two queries ("0", "1")."""
    bodies = []
    for path, _, response in reference.retrieval_examples():
        if path.endswith("$batch"):
            responses = [{**item, "id": str(number)} for number, item in enumerate(response["responses"])]
            bodies.append(json.dumps({"responses": responses}).encode())
    return bodies


GRAPH_ERROR = json.dumps({"error": {"code": "forbidden", "message": "No licence \\ud83d for Copilot",
                                    "innerError": {"request-id": "r-1", "date": "2025-01-01"}}}).encode()


@st.composite
def chunkings(draw: st.DrawFn, body: bytes) -> list[bytes]:
    """``body`` cut at random places (at most 40 cuts)."""
    cuts = sorted(set(draw(st.lists(st.integers(min_value=0, max_value=max(len(body), 1)), max_size=40))))
    points = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(points) if b > a]


def encodable_everywhere(value: Any) -> None:
    """Assert every string in ``value`` (nested dicts, lists, tuples, models) encodes as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            item.encode("utf-8")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif hasattr(item, "model_dump"):
            stack.append(item.model_dump())


def answer_or_error(body: bytes | object, prompt: str) -> Answer | None:
    """The answer a reply body gives, checked to encode; ``None`` when it is a ``CopilotError`` (whose
    text is checked to encode). Any other exception escapes, and fails the property."""
    try:
        conversation = parse_conversation(body)
        answer = build_answer(conversation, find_reply(conversation, prompt))
    except CopilotError as error:
        str(error).encode("utf-8")
        return None
    encodable_everywhere(answer)
    answer.model_dump_json()
    return answer
