"""Faults on demand, over real loopback sockets: what each one puts on the wire."""

from __future__ import annotations

import base64
import itertools
import json
import re

import httpx
import pytest

from copilot_tools._wire import Conversation
from copilot_tools.emulator import EmulatorConfig, EmulatorServer

from .conftest import MEETING, Api, client_for, parse_events, reply_of

_keys = itertools.count()


def fault(spec: str) -> dict[str, str]:
    """The fault header, unique to this use so that its ``count=`` is its own."""
    return {"x-emulator-fault": f"{spec};key=faults-{next(_keys)}"}


@pytest.mark.parametrize(
    ("spec", "status", "code"),
    [
        ("throttle", 429, "TooManyRequests"),
        ("unavailable", 503, "serviceNotAvailable"),
        ("gateway-timeout", 504, "GatewayTimeout"),
        ("server-error", 500, "InternalServerError"),
        ("ic3-500", 500, "internalServerError"),
        ("forbidden", 403, "Authorization_RequestDenied"),
        ("claims", 401, "InvalidAuthenticationToken"),
        ("gone", 410, "Gone"),
    ],
)
def test_status_faults_answer_graph_errors(api: Api, spec: str, status: int, code: str) -> None:
    conversation = api.create()
    response = api.turn(MEETING, conversation, headers=fault(spec))
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["innerError"]["request-id"] == response.headers["request-id"]
    assert api.ask(MEETING, conversation)["turnCount"] == 1  # the faulted turn never ran


def test_throttle_and_unavailable_say_when_to_retry(api: Api) -> None:
    assert api.turn(MEETING, headers=fault("throttle")).headers["retry-after"] == "1"
    assert api.turn(MEETING, headers=fault("throttle;retry-after=7")).headers["retry-after"] == "7"
    assert api.turn(MEETING, headers=fault("unavailable;retry-after=0")).headers["retry-after"] == "0"


def test_ic3_and_forbidden_carry_the_messages_seen_in_the_field(api: Api) -> None:
    ic3 = api.turn(MEETING, headers=fault("ic3-500")).json()["error"]["message"]
    assert ic3 == "Got Non-2xx response from IC3. Status = 403 (Forbidden)"
    forbidden = api.turn(MEETING, headers=fault("forbidden")).json()["error"]["message"]
    assert "scp or roles claim" in forbidden


def test_claims_challenge_carries_base64_claims(api: Api) -> None:
    challenge = api.turn(MEETING, headers=fault("claims")).headers["www-authenticate"]
    assert 'error="insufficient_claims"' in challenge
    claims = json.loads(base64.b64decode(re.search(r'claims="([^"]+)"', challenge).group(1)))  # type: ignore[union-attr]
    assert claims["access_token"]["nbf"]["essential"] is True


def test_license_403_is_a_conversation_saying_so(api: Api) -> None:
    response = api.turn(MEETING, headers=fault("license-403"))
    assert response.status_code == 403
    conversation = Conversation.model_validate(response.json())
    assert "valid license" in (conversation.messages[-1].text or "")


def test_count_limits_a_fault_to_the_first_requests_with_that_header(api: Api) -> None:
    conversation = api.create()
    header = fault("throttle;retry-after=0;count=2")
    statuses = [api.turn(MEETING, conversation, headers=header).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    other = fault("throttle;retry-after=0;count=2")  # another key: its own counter
    assert api.turn(MEETING, conversation, headers=other).status_code == 429


def test_gone_leaves_create_alone(http: httpx.Client) -> None:
    assert http.post("/beta/copilot/conversations", json={}, headers=fault("gone")).status_code == 201


def test_status_faults_apply_to_create_and_retrieval(http: httpx.Client) -> None:
    assert http.post("/beta/copilot/conversations", json={}, headers=fault("throttle")).status_code == 429
    body = {"queryString": "VPN", "dataSource": "sharePoint"}
    assert http.post("/beta/copilot/retrieval", json=body, headers=fault("unavailable")).status_code == 503


def test_latency_still_answers(api: Api) -> None:
    assert api.turn(MEETING, headers=fault("latency;ms=20")).status_code == 200


def test_unknown_fault_or_parameter_is_400(api: Api) -> None:
    # "\xb2" (a superscript two) and 5000 digits: digits int() refuses, a 400 all the same
    for spec in ("explode", "throttle;colour=red", "cut;after=x", "cut;after=\xb2", "cut;after=" + "1" * 5000):
        response = api.turn(MEETING, headers={"x-emulator-fault": spec.encode("latin-1")})
        assert response.status_code == 400 and "x-emulator-fault" in response.json()["error"]["message"]


# --- faults that break a turn's answer ---------------------------------------------------------


def test_cut_stream_breaks_the_connection_after_n_events(api: Api) -> None:
    conversation = api.create()
    received = b""
    url = f"/beta/copilot/conversations/{conversation}/chatOverStream"
    body = {"message": {"text": MEETING}, "locationHint": {"timeZone": "UTC"}}
    with pytest.raises(httpx.RemoteProtocolError), api.client.stream(
        "POST", url, json=body, headers=fault("cut;after=2")
    ) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            received += chunk
    events = [e.json() for e in parse_events(received.decode())]
    # ``after`` counts from the end of the two leading keep-alives: two snapshots of the reply arrive.
    assert [bool(e["messages"]) for e in events] == [False, False, True, True]


def test_cut_chat_breaks_mid_body(api: Api) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        api.turn(MEETING, headers=fault("cut"))


def test_malformed_event_is_not_json_and_the_rest_are(api: Api) -> None:
    events = api.stream(MEETING, headers=fault("malformed;after=1"))
    with pytest.raises(json.JSONDecodeError):
        events[3].json()  # the first event after the two leading keep-alives and one reply snapshot
    assert [e.json()["turnCount"] for e in events[4:]][-1] == 1
    assert events[2].json()["messages"] and not events[0].json()["messages"]


def test_rewrite_sends_a_snapshot_the_next_does_not_extend(api: Api) -> None:
    events = api.stream(MEETING, headers=fault("rewrite"))
    texts = [e.json()["messages"][0]["text"] for e in events if e.json()["turnCount"] == 0 and e.json()["messages"]]
    breaks = [i for i in range(1, len(texts)) if not texts[i].startswith(texts[i - 1])]
    assert breaks
    final = events[-1].json()["messages"][1]["text"]
    assert texts[-1] == final and final == reply_of(api.ask(MEETING))["text"]


def test_rai_declines_on_every_snapshot(api: Api) -> None:
    events = [e.json() for e in api.stream(MEETING, headers=fault("rai"))]
    assert {e["state"] for e in events} == {"disengagedForRai"}
    chat = api.ask(MEETING, headers=fault("rai"))
    assert chat["state"] == "disengagedForRai" and reply_of(chat)["attributions"] == []


def test_empty_reply_text(api: Api) -> None:
    final = api.stream(MEETING, headers=fault("empty"))[-1].json()
    assert final["messages"][1]["text"] == "" and final["turnCount"] == 1
    assert reply_of(api.ask(MEETING, headers=fault("empty")))["text"] == ""


def test_no_final_ends_cleanly_without_the_final_snapshot(api: Api) -> None:
    events = [e.json() for e in api.stream(MEETING, headers=fault("no-final"))]
    assert events and all(e["turnCount"] == 0 for e in events if e["messages"])
    assert events[-1]["messages"] == [] and all(len(e["messages"]) <= 1 for e in events)


def test_several_faults_in_one_header(api: Api) -> None:
    events = api.stream(MEETING, headers=fault("latency;ms=5, rai"))
    assert events[-1].json()["state"] == "disengagedForRai"


def test_start_option_faults_apply_to_every_request() -> None:
    config = EmulatorConfig(faults=("throttle;retry-after=0;count=1",), latency_ms=1)
    with EmulatorServer(config) as server, client_for(server) as client:
        first = client.post("/beta/copilot/conversations", json={})
        second = client.post("/beta/copilot/conversations", json={})
    assert (first.status_code, second.status_code) == (429, 201)


def test_a_bad_start_option_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown emulator fault"):
        EmulatorConfig(faults=("meltdown",))


def test_unsupported_citation_repoints_the_last_citation_and_keeps_the_text(api: Api) -> None:
    question = "What is the per diem for New York?"
    honest = reply_of(api.ask(question))
    planted = reply_of(api.ask(question, headers=fault("unsupported-citation")))
    assert planted["text"] == honest["text"]
    before, after = [[a["seeMoreWebUrl"] for a in m["attributions"] if a["attributionType"] == "citation"]
                     for m in (honest, planted)]
    assert before[0] == after[0] and before[1] != after[1]
    streamed = api.stream(question, headers=fault("unsupported-citation"))[-1].json()["messages"][1]
    assert [a["seeMoreWebUrl"] for a in streamed["attributions"] if a["attributionType"] == "citation"] == after
