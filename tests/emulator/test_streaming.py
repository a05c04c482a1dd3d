"""``chatOverStream`` over HTTP: the snapshot sequence and both framings, byte for byte."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest

from copilot_tools.emulator import EmulatorConfig, EmulatorServer

from .conftest import BUSINESS_MODEL, MEETING, Api, Event, client_for, parse_events

TAG_OR_MARKER_CUT = re.compile(r"<(Person|Event|File)>[^<]*$|\[\^[^\]]*$|<[A-Za-z/]*$")


def replies(events: list[Event]) -> list[dict[str, Any]]:
    """The intermediate snapshots that carry the reply so far."""
    return [e.json() for e in events if e.json()["messages"] and e.json()["turnCount"] == 0]


def test_the_sequence_keeps_alive_grows_keeps_alive_then_ends(api: Api) -> None:
    conversation = api.create()
    events = [e.json() for e in api.stream(MEETING, conversation)]
    first, second, *rest = events
    *intermediate, final = rest
    trailing = intermediate[-4:]
    intermediate = intermediate[:-4]
    # As captured: two empty snapshots first, the second already saying turnCount 1.
    assert [(e["messages"], e["turnCount"]) for e in (first, second)] == [([], 0), ([], 1)]
    assert intermediate, "at least one intermediate snapshot"
    for event in [first, second, *intermediate, *trailing]:
        assert (event["displayName"], event["agentId"]) == ("Intermediate Conversation Update", None)
    for event in intermediate:
        assert event["turnCount"] == 0 and len(event["messages"]) == 1
    texts = [e["messages"][0]["text"] for e in intermediate]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert len({e["messages"][0]["id"] for e in intermediate}) == 1
    assert [(e["messages"], e["turnCount"]) for e in trailing] == [([], 0)] * 4
    assert (final["displayName"], final["turnCount"], final["id"]) == (MEETING, 1, conversation)
    prompt, reply = final["messages"]
    assert prompt["text"] == MEETING and reply["text"] == texts[-1]
    assert reply["id"] == intermediate[0]["messages"][0]["id"]
    context = f"/beta/copilot/conversations('{conversation}')/microsoft.graph.copilot.chatOverStream/$metadata#"
    assert all(context in e["@odata.context"] for e in events)


def test_growing_text_never_stops_inside_a_tag_or_marker() -> None:
    with EmulatorServer(EmulatorConfig(words_per_event=1, event_delay=0)) as server, client_for(server) as client:
        events = Api(client).stream(MEETING)
    texts = [e["messages"][0]["text"] for e in replies(events)]
    assert len(texts) > 30
    assert not [t for t in texts if TAG_OR_MARKER_CUT.search(t)]


def test_streamed_messages_carry_a_card_with_links(api: Api) -> None:
    final = api.stream(MEETING)[-1].json()
    reply = final["messages"][1]
    (card,) = reply["adaptiveCards"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.0")
    (block,) = card["body"]
    assert block["type"] == "TextBlock" and block["wrap"] is True
    annotation_urls = [a["seeMoreWebUrl"] for a in reply["attributions"] if a["attributionType"] == "annotation"]
    citation_url = next(a["seeMoreWebUrl"] for a in reply["attributions"] if a["attributionType"] == "citation")
    assert f"[Contoso Engineering Standup]({annotation_urls[0]})" in block["text"]
    assert f"[John Doe]({annotation_urls[1]}) [1]({citation_url})" in block["text"]
    assert "<Person>" not in block["text"] and "[^1^]" not in block["text"]
    assert final["messages"][0]["adaptiveCards"] == []


def test_intermediate_attributions_follow_the_text_so_far() -> None:
    with EmulatorServer(EmulatorConfig(words_per_event=2, event_delay=0)) as server, client_for(server) as client:
        events = replies(Api(client).stream(MEETING))
    for event in events:
        message = event["messages"][0]
        kinds = [a["attributionType"] for a in message["attributions"]]
        tags = len(set(re.findall(r"<(?:Person|Event|File)>(.*?)</", message["text"])))
        assert kinds.count("annotation") == tags
        assert kinds.count("citation") == (1 if "[^1^]" in message["text"] else 0)


def test_a_grounding_file_is_cited_from_the_first_snapshot(api: Api) -> None:
    events = api.stream("Summarize this document for me.", contextualResources={"files": [{"uri": BUSINESS_MODEL}]})
    first = replies(events)[0]["messages"][0]
    assert [a["attributionSource"] for a in first["attributions"] if a["attributionType"] == "citation"] == [
        "grounding"]


def test_pretty_layout_is_the_reference_layout(api: Api) -> None:
    body = api.turn(MEETING, stream=True, headers={"x-emulator-layout": "pretty"}).text
    assert body.startswith('data: {\n  "id": "')
    chunks = body.split("\n\n")
    assert all(re.search(r"\n}\nid:\d+$", chunk) for chunk in chunks)
    assert not body.endswith("\n\n") and re.search(r"\nid:\d+\n$", body)
    ids = [event.id for event in parse_events(body)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_compact_layout_is_one_data_line_per_event(api: Api) -> None:
    response = api.turn(MEETING, stream=True, headers={"x-emulator-layout": "compact"})
    assert response.headers["content-type"] == "text/event-stream"
    body = response.text
    assert body.endswith("\n\n")
    chunks = body.rstrip("\n").split("\n\n")
    for chunk in chunks:
        data, event_id = chunk.split("\n")
        assert data.startswith("data: {") and re.fullmatch(r"id:\d+", event_id)


def test_an_unknown_layout_is_400(api: Api) -> None:
    assert api.turn(MEETING, stream=True, headers={"x-emulator-layout": "fancy"}).status_code == 400


@pytest.fixture(scope="module")
def compact_slow() -> Iterator[Api]:
    config = EmulatorConfig(layout="compact", words_per_event=3, event_delay=0.001)
    with EmulatorServer(config) as server, client_for(server) as client:
        yield Api(client)


def test_start_options_choose_layout_and_pace(compact_slow: Api, api: Api) -> None:
    body = compact_slow.turn(MEETING, stream=True).text
    assert body.endswith("\n\n") and '\n  "id"' not in body
    assert len(parse_events(body)) > len(api.stream(MEETING))
