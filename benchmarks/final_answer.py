"""The final answer's cost against ``json.loads`` of the same JSON, on the reference and captured replies.

    .venv/bin/python benchmarks/final_answer.py [--rounds 7]

Not a tracked figure (no ``BENCH`` line): the detail behind two that are, "chat turn vs bare httpx"
(``benchmarks/client_overhead.py``: a turn reads its reply with ``parse_conversation`` and builds its
answer with ``normalize_message``) and the stream throughput rows of ``benchmarks/parser_scaling.py``
(a stream ends with ``build_answer`` on its final snapshot, which ``streaming._read_final`` read with
``_wire.validate_json_fast``: the "finals" rows, every event of the stream that it reads). Each row is
the best of ``--rounds`` rounds, in microseconds, with its ratio to ``json.loads`` of the JSON it
reads, timed in turn with it.
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.reference and the copilot_tools next to this
from copilot_tools._protocol import parse_conversation  # noqa: E402
from copilot_tools._sse import SSEDecoder  # noqa: E402
from copilot_tools.answer import find_reply, normalize_message  # noqa: E402
from copilot_tools.streaming import StreamAssembler, _read_final, build_answer  # noqa: E402
from tests import reference  # noqa: E402


def best_pair(function: Callable[[], object], baseline: Callable[[], object], rounds: int,
              number: int = 1000) -> tuple[float, float]:
    """Seconds per call of each: the best of ``rounds`` rounds, the two interleaved so that a burst of
    load on a shared machine falls on both alike."""
    function(), baseline()
    ours, base = [], []
    for _ in range(rounds):
        ours.append(timeit.timeit(function, number=number))
        base.append(timeit.timeit(baseline, number=number))
    return min(ours) / number, min(base) / number


def chat_rows() -> list[tuple[str, Callable[[], object], str | list[str]]]:
    request, response = reference.chat_examples()[0]
    body = json.dumps(response).encode()
    prompt = request["message"]["text"]
    conversation = parse_conversation(body)
    reply = find_reply(conversation, prompt)
    assert reply is not None

    def normalize() -> object:
        return normalize_message(reply, conversation_id=conversation.id, turn_count=conversation.turn_count,
                                 state=conversation.state, request_id="r", checked=True)  # (as a turn reads it)

    text = body.decode()
    return [("/chat: parse_conversation", lambda: parse_conversation(body), text),
            ("/chat: normalize_message", normalize, text)]


def stream_rows() -> list[tuple[str, Callable[[], object], str | list[str]]]:
    rows: list[tuple[str, Callable[[], object], str | list[str]]] = []
    for name, body, prompt in (
        ("reference stream", reference.stream_examples()[0][1], reference.stream_examples()[0][0]["message"]["text"]),
        ("captured stream", reference.captured_stream(), reference.CAPTURE_PROMPT),
    ):
        decoder = SSEDecoder()
        events = decoder.feed(body) + decoder.close()
        assembler = StreamAssembler(prompt)
        for event in events:
            assembler.feed(event)
        final = assembler._final  # (the snapshot, reply and checked flag finish() builds the answer of)
        assert final is not None
        snapshot, reply, checked = final
        rows.append((f"{name}: build_answer",
                     lambda s=snapshot, r=reply, c=checked: build_answer(s, r, request_id="r", checked=c),
                     events[-1].data))
        finals = [event.data for event in events if _read_final(event.data) is not None]
        rows.append((f"{name}: _read_final of its {len(finals)} final event(s)",
                     lambda finals=finals: [_read_final(text) for text in finals], finals))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print("| step | us | json.loads of its JSON, us | ratio |")
    print("|---|---|---|---|")
    for label, function, text in chat_rows() + stream_rows():
        texts = [text] if isinstance(text, str) else text
        ours, baseline = best_pair(function, lambda texts=texts: [json.loads(t) for t in texts], args.rounds)
        print(f"| {label} | {ours * 1e6:.1f} | {baseline * 1e6:.1f} | {ours / baseline:.2f} |", flush=True)


if __name__ == "__main__":
    main()
