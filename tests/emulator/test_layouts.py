"""The three stream layouts, and the default one compared with Microsoft's raw capture.

``tests/fixtures/captures/graph-chatOverStream-capture-1.sse`` is the body of a real
``chatOverStream`` response as Microsoft published it (see ``shared/captures``). The
emulator's default stream must be framed exactly like it: the same lines, spaces and
blank lines, event by event, with only the JSON inside each event and the number of
repeated snapshots allowed to differ.
"""

from __future__ import annotations

import json
import re
from itertools import groupby
from pathlib import Path

import httpx
import pytest

from copilot_tools.emulator import EmulatorConfig

from .conftest import MEETING, ZONE, Api, parse_events

CAPTURE = Path(__file__).parents[1] / "fixtures" / "captures" / "graph-chatOverStream-capture-1.sse"
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_ID = re.compile(r"id:(\d+)( ?)")


def _kind(data: str) -> str:
    event = json.loads(data)
    if not event["messages"]:
        return f"keep-alive turnCount={event['turnCount']}"
    return "final" if event["turnCount"] > 0 else "reply"


def _skeleton(line: str) -> str:
    """A line with its content abstracted and its framing kept byte for byte."""
    if line.startswith("data: "):
        return "data: {" + ("…[{" if line.endswith("[{") else "…}")
    if (match := _ID.fullmatch(line)) is not None:
        return f"id:N{match.group(2)}"
    return _STRING.sub('"…"', line)  # a continuation line of the final event's card


def framing(body: bytes) -> list[tuple[str, str]]:
    """(kind, framing) per event, runs of identical events collapsed to one.

    The framing is the event's bytes with every JSON value abstracted: ``data: {…}``, the
    continuation lines of a multi-line card, ``id:N`` with or without its trailing space,
    and the blank line that ends the event, or its absence at the end of the body.
    """
    *complete, rest = body.decode().split("\n")
    assert rest == "", f"the body ends inside a line: {rest!r}"
    events: list[tuple[str, str]] = []
    lines: list[str] = []
    for line in complete:
        lines.append(line)
        if _ID.fullmatch(line):
            data = "\n".join(lines)[len("data: "):].rsplit("\nid:", 1)[0]
            events.append((_kind(data), "\n".join(_skeleton(x) for x in lines)))
            lines = []
        elif line == "" and lines == [""]:
            events[-1] = (events[-1][0], events[-1][1] + "\n")  # the blank line after an event
            lines = []
    assert not lines, f"lines after the last event: {lines!r}"
    return [key for key, _ in groupby(events)]


def _ids(body: bytes) -> list[int]:
    return [int(m.group(1)) for m in _ID.finditer(body.decode()) if m.group(0)]


def test_the_capture_shows_what_the_emulator_copies() -> None:
    """The fixture itself: leading empties (one with turnCount 1), the reply, trailing
    empties, and the final event over several lines with no blank line after it."""
    shape = framing(CAPTURE.read_bytes())
    assert [kind for kind, _ in shape] == [
        "keep-alive turnCount=0", "keep-alive turnCount=1", "reply", "keep-alive turnCount=0", "final"]
    assert CAPTURE.read_bytes().endswith(b"}]}\nid:142 \n")
    assert shape[-1][1].count("\n") > 5


def test_the_default_stream_is_framed_byte_for_byte_like_the_capture(api: Api) -> None:
    body = api.turn(MEETING, stream=True).content
    assert framing(body) == framing(CAPTURE.read_bytes())
    assert _ids(body) == list(range(1, len(_ids(body)) + 1))  # the capture elides ids 3..136
    assert b"event:" not in body and b"retry:" not in body and b"[DONE]" not in body
    assert not body.endswith(b"\n\n") and re.search(rb"\nid:\d+ \n$", body)


def test_every_graph_event_has_odata_context_and_agent_id(api: Api) -> None:
    conversation = api.create()
    events = [e.json() for e in api.stream(MEETING, conversation)]
    expected = (f"{str(api.client.base_url).rstrip('/')}/beta/copilot/conversations('{conversation}')"
                "/microsoft.graph.copilot.chatOverStream/$metadata#Edm.Stream/$entity")
    assert {e["@odata.context"] for e in events} == {expected}
    assert all("agentId" in e and e["agentId"] is None for e in events)


def test_work_iq_events_carry_no_odata_context(http: httpx.Client) -> None:
    conversation = http.post("/rest/beta/conversations", json={}).json()["id"]
    response = http.post(f"/rest/beta/conversations/{conversation}/chatOverStream",
                         json={"message": {"text": MEETING}, "locationHint": ZONE})
    events = [e.json() for e in parse_events(response.text)]
    assert events[-1]["turnCount"] == 1
    assert not [e for e in events if "@odata.context" in e]


def test_the_final_event_breaks_only_inside_its_adaptive_card(api: Api) -> None:
    body = api.turn(MEETING, stream=True).text
    final = body[body.rindex("\n\ndata: ") + 2:]
    data_line, *card_lines, last_line, id_line, end = final.split("\n")
    assert data_line.endswith('"adaptiveCards":[{') and card_lines[0] == '  "type": "AdaptiveCard",'
    assert last_line.startswith('}],"attributions":') and id_line.endswith(" ") and end == ""
    event = json.loads(final[len("data: "):final.rindex("\nid:")])
    assert event["messages"][1]["adaptiveCards"][0]["body"][0]["type"] == "TextBlock"


def test_strict_is_spec_conforming_with_the_same_events(api: Api) -> None:
    captured = [e.json() for e in api.stream(MEETING)]
    body = api.turn(MEETING, stream=True, headers={"x-emulator-layout": "strict"}).text
    assert body.endswith("\n\n")
    assert framing(body.encode()) != framing(CAPTURE.read_bytes())  # the comparison can fail
    chunks = body[:-2].split("\n\n")
    assert all(re.fullmatch(r"data: \{[^\n]*\}\nid:\d+", chunk) for chunk in chunks)
    strict = [e.json() for e in parse_events(body)]
    assert [_kind(json.dumps(e)) for e in strict] == [_kind(json.dumps(e)) for e in captured]


@pytest.mark.parametrize("name", ["compact", "STRICT", " strict "])
def test_compact_is_the_old_name_of_strict(name: str) -> None:
    assert EmulatorConfig(layout=name).layout == "strict"  # type: ignore[arg-type]


def test_pretty_keeps_the_reference_rendering(api: Api) -> None:
    events = [e.json() for e in api.stream(MEETING, headers={"x-emulator-layout": "pretty"})]
    assert events[0]["messages"] and events[-2]["messages"] == []
    assert not [e for e in events if "@odata.context" in e]


def test_an_unknown_layout_is_refused_with_the_known_ones(api: Api) -> None:
    response = api.turn(MEETING, stream=True, headers={"x-emulator-layout": "fancy"})
    assert response.status_code == 400 and "captured, strict, pretty" in response.json()["error"]["message"]
    with pytest.raises(ValueError, match="captured, strict, pretty"):
        EmulatorConfig(layout="fancy")  # type: ignore[arg-type]
