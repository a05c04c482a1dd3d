"""Create and continue conversations over HTTP: paths, status codes, bodies, errors."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from copilot_tools.emulator import EmulatorConfig, EmulatorServer

from .conftest import MEETING, ZONE, Api, citations, client_for, reply_of

GRAPH_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")


def test_create_answers_201_with_an_empty_active_conversation(http: httpx.Client, emulator: EmulatorServer) -> None:
    response = http.post("/beta/copilot/conversations", json={})
    assert response.status_code == 201
    body = response.json()
    assert body["@odata.context"] == f"{emulator.base_url}/$metadata#copilot/conversations/$entity"
    assert uuid.UUID(body["id"]).version == 4
    assert GRAPH_TIME.match(body["createdDateTime"])
    assert (body["displayName"], body["state"], body["turnCount"]) == ("", "active", 0)


def test_create_accepts_an_empty_body(http: httpx.Client) -> None:
    assert http.post("/beta/copilot/conversations").status_code == 201


def test_turns_count_up_and_the_first_prompt_names_the_conversation(api: Api, emulator: EmulatorServer) -> None:
    conversation = api.create()
    first = api.ask(MEETING, conversation)
    second = api.ask("Who organises it?", conversation)
    assert (first["turnCount"], second["turnCount"]) == (1, 2)
    assert first["displayName"] == second["displayName"] == MEETING
    assert second["@odata.context"] == f"{emulator.base_url}/$metadata#microsoft.graph.copilotConversation"
    prompt, reply = second["messages"]
    assert prompt["text"] == "Who organises it?" and prompt["attributions"] == [] and prompt["adaptiveCards"] == []
    assert set(prompt["sensitivityLabel"].values()) == {None}
    assert reply["adaptiveCards"] == [{}]
    assert {m["@odata.type"] for m in second["messages"]} == {"#microsoft.graph.copilotConversationResponseMessage"}
    assert "John Doe" in reply["text"]  # the follow-up is about the meeting of the first turn


@pytest.mark.parametrize("action", ["chat", "microsoft.graph.copilot.chat"])
def test_short_and_namespaced_action_names(api: Api, action: str) -> None:
    response = api.turn(MEETING, action=action)
    assert response.status_code == 200 and response.json()["turnCount"] == 1


@pytest.mark.parametrize("prefix", ["/rest/beta", "/rest"])
def test_work_iq_paths_answer_the_same(http: httpx.Client, prefix: str) -> None:
    created = http.post(f"{prefix}/conversations", json={})
    assert created.status_code == 201
    conversation = created.json()["id"]
    response = http.post(f"{prefix}/conversations/{conversation}/chat",
                         json={"message": {"text": MEETING}, "locationHint": ZONE})
    assert response.status_code == 200
    assert citations(reply_of(response.json()))[0]["providerDisplayName"] == "Contoso Engineering Standup"


def test_the_seed_000_work_iq_path_creates_but_cannot_chat(http: httpx.Client) -> None:
    created = http.post("/rest/beta/copilot/conversations", json={})
    assert created.status_code == 201
    turn = http.post(f"/rest/beta/copilot/conversations/{created.json()['id']}/chat",
                     json={"message": {"text": "hi"}, "locationHint": ZONE})
    assert turn.status_code == 404
    assert turn.json()["error"]["code"] == "itemNotFound"


def test_every_answer_carries_request_ids_and_echoes_the_client_one(http: httpx.Client) -> None:
    response = http.post("/beta/copilot/conversations", json={}, headers={"client-request-id": "my-id-1"})
    assert response.headers["client-request-id"] == "my-id-1"
    assert uuid.UUID(response.headers["request-id"])
    error = http.get("/beta/copilot/conversations", headers={"client-request-id": "my-id-2"})
    inner = error.json()["error"]["innerError"]
    assert inner["client-request-id"] == "my-id-2" == error.headers["client-request-id"]
    assert inner["request-id"] == error.headers["request-id"] and inner["date"]


# --- errors ------------------------------------------------------------------------------


def _error(response: httpx.Response, status: int, code: str | None = None) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if code is not None:
        assert error["code"] == code
    return str(error["message"])


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"locationHint": ZONE}, "message"),
        ({"message": {}, "locationHint": ZONE}, "message.text"),
        ({"message": {"text": "  "}, "locationHint": ZONE}, "message.text"),
        ({"message": {"text": "hi"}}, "locationHint"),
        ({"message": {"text": "hi"}, "locationHint": {}}, "timeZone"),
        ({"message": {"text": "hi"}, "locationHint": {"timeZone": "Mars/Olympus_Mons"}}, "Mars/Olympus_Mons"),
        ({"message": {"text": "hi"}, "locationHint": {"timeZone": "../../etc/passwd"}}, "time zone"),
        ({"message": {"text": "hi"}, "locationHint": ZONE, "additionalContext": "not a list"}, "additionalContext"),
        ([], "JSON object"),
    ],
)
def test_bodies_the_service_refuses_are_400(api: Api, body: object, words: str) -> None:
    conversation = api.create()
    response = api.client.post(f"/beta/copilot/conversations/{conversation}/chat", json=body)
    assert words in _error(response, 400, "badRequest")


def test_a_file_the_service_cannot_open_is_400_naming_it(api: Api) -> None:
    uri = "https://contoso.sharepoint.com/sites/Nowhere/Shared%20Documents/Missing.docx"
    response = api.turn("Summarize this document for me.", contextualResources={"files": [{"uri": uri}]})
    assert uri in _error(response, 400)


def test_file_uris_match_after_decoding_and_host_case(api: Api) -> None:
    uri = "https://CONTOSO.sharepoint.com/sites/Engineering/Shared Documents/Specs/Business-Model.docx"
    reply = reply_of(api.ask("Summarize this document for me.", contextualResources={"files": [{"uri": uri}]}))
    assert citations(reply)[0]["attributionSource"] == "grounding"


def test_no_bearer_token_is_401(http: httpx.Client) -> None:
    response = http.post("/beta/copilot/conversations", json={}, headers={"Authorization": ""})
    assert "empty" in _error(response, 401, "InvalidAuthenticationToken")
    assert response.headers["www-authenticate"].startswith("Bearer")
    basic = http.post("/beta/copilot/conversations", json={}, headers={"Authorization": "Basic abc"})
    _error(basic, 401, "InvalidAuthenticationToken")


def test_a_required_token_must_match() -> None:
    with EmulatorServer(EmulatorConfig(token="s3cret")) as server, client_for(server) as client:
        _error(client.post("/beta/copilot/conversations", json={}), 401, "InvalidAuthenticationToken")
        good = client.post("/beta/copilot/conversations", json={}, headers={"Authorization": "Bearer s3cret"})
        assert good.status_code == 201


def test_unknown_conversation_is_404(api: Api) -> None:
    response = api.turn(MEETING, conversation="00000000-0000-0000-0000-000000000000")
    assert "00000000-0000-0000-0000-000000000000" in _error(response, 404, "itemNotFound")


def test_unknown_path_is_a_graph_shaped_404(http: httpx.Client) -> None:
    _error(http.post("/beta/me/messages", json={}), 404, "NotFound")
    _error(http.get("/"), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(http: httpx.Client, method: str) -> None:
    response = http.request(method, "/beta/copilot/conversations")
    _error(response, 405, "MethodNotAllowed")
    assert response.headers["allow"] == "POST"


def test_a_body_that_is_not_json_is_415_or_400(api: Api) -> None:
    conversation = api.create()
    url = f"/beta/copilot/conversations/{conversation}/chat"
    _error(api.client.post(url, content=b"message=hi", headers={"Content-Type": "application/x-www-form-urlencoded"}),
           415, "UnsupportedMediaType")
    _error(api.client.post(url, content=b"{not json", headers={"Content-Type": "application/json"}), 400)


def test_the_oldest_conversations_are_forgotten_beyond_the_limit() -> None:
    with EmulatorServer(EmulatorConfig(max_conversations=2)) as server, client_for(server) as client:
        api = Api(client)
        first = api.create()
        api.create()
        api.create()
        assert api.turn("hello", first).status_code == 404


def test_the_same_question_gets_the_same_answer(api: Api) -> None:
    first = reply_of(api.ask("What is the per diem for New York?"))
    second = reply_of(api.ask("What is the per diem for New York?"))
    assert first["text"] == second["text"]
    assert [a["providerDisplayName"] for a in first["attributions"]] == [
        a["providerDisplayName"] for a in second["attributions"]
    ]


def test_seeded_ids_are_reproducible() -> None:
    ids = []
    for _ in range(2):
        with EmulatorServer(EmulatorConfig(seed=7)) as server, client_for(server) as client:
            ids.append(Api(client).create())
    assert ids[0] == ids[1]

