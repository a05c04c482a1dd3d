"""Everything the emulator sends validates against the wire models, and has the shape of
the reference's own examples (tests/fixtures/reference, extracted by tests/reference.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from copilot_tools._wire import BatchResponse, Conversation, GraphError, RetrievalResponse
from tests import reference

from .conftest import MEETING, Api, parse_events

#: Fields the emulator sends that the printed examples leave out: Graph puts
#: ``@odata.context`` on every response, and the Retrieval API scores its extracts.
ADDED = {"@odata.context", "relevanceScore"}


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}[type(value)]


def shape_problems(seed: Any, ours: Any, path: str = "$") -> list[str]:
    """Where ``ours`` differs in structure from ``seed``: keys, JSON types, list elements.

    A null matches any scalar (a label may be empty or set); a list matches when each of
    our elements matches some element of the example's list.
    """
    seed_kind, our_kind = _kind(seed), _kind(ours)
    if "null" in (seed_kind, our_kind):
        return [] if {seed_kind, our_kind} - {"null"} <= {"string", "number", "boolean"} else [
            f"{path}: {seed_kind} in the reference, {our_kind} here"]
    if seed_kind != our_kind:
        return [f"{path}: {seed_kind} in the reference, {our_kind} here"]
    if seed_kind == "object":
        theirs = seed
        mine = {key: value for key, value in ours.items() if key not in ADDED or key in theirs}
        problems = [f"{path}: keys {sorted(set(theirs) ^ set(mine))} differ"] if set(theirs) != set(mine) else []
        for key in set(theirs) & set(mine):
            problems += shape_problems(theirs[key], mine[key], f"{path}.{key}")
        return problems
    if seed_kind == "array" and seed and ours:
        problems = []
        for index, item in enumerate(ours):
            attempts = [shape_problems(example, item, f"{path}[{index}]") for example in seed]
            if all(attempts):
                problems += min(attempts, key=len)
        return problems
    return []


def assert_same_shape(seed: Any, ours: Any) -> None:
    problems = shape_problems(seed, ours)
    assert not problems, "\n".join(problems)


def test_the_shape_check_sees_differences() -> None:
    assert shape_problems({"a": 1, "b": [{"c": "x"}]}, {"a": 2, "b": [{"c": "y"}]}) == []
    assert shape_problems({"a": 1}, {"a": "1"})
    assert shape_problems({"a": 1}, {"a": 1, "b": 2})
    assert shape_problems({"a": [{"c": 1}]}, {"a": [{"d": 1}]})


def test_create_has_the_reference_shape(api: Api) -> None:
    ours = api.client.post("/beta/copilot/conversations", json={}).json()
    for example in reference.create_responses():
        # The create example spells the state ``status``; replies and the wire model say ``state``.
        assert_same_shape({("state" if k == "status" else k): v for k, v in example.items()}, ours)


@pytest.mark.parametrize("number", range(4))
def test_chat_examples_have_the_reference_shape(api: Api, number: int) -> None:
    request, example = reference.chat_examples()[number]
    conversation = api.create()
    response = api.client.post(f"/beta/copilot/conversations/{conversation}/chat", json=request)
    assert response.status_code == 200, response.text
    assert_same_shape(example, response.json())


def _kind_of_event(event: dict[str, Any]) -> str:
    if event["turnCount"]:
        return "final"
    return "partial" if event["messages"] else "keep-alive"


@pytest.mark.parametrize("layout", ["pretty", "compact"])
@pytest.mark.parametrize("number", range(4))
def test_stream_examples_have_the_reference_shape(api: Api, number: int, layout: str) -> None:
    request = reference.chat_examples()[number][0]  # the streamed page's requests are the same
    _, raw = reference.stream_examples()[number]
    examples = {_kind_of_event(e.json()): e.json() for e in parse_events(raw.decode())}
    assert set(examples) == {"partial", "keep-alive", "final"}
    conversation = api.create()
    response = api.client.post(f"/beta/copilot/conversations/{conversation}/chatOverStream", json=request,
                               headers={"x-emulator-layout": layout})
    ours = [e.json() for e in parse_events(response.text)]
    assert {_kind_of_event(e) for e in ours} == set(examples)
    for event in ours:
        assert_same_shape(examples[_kind_of_event(event)], event)


def _hit_lists(body: dict[str, Any]) -> list[list[Any]]:
    if "responses" in body:
        return [r["body"]["retrievalHits"] for r in body["responses"]]
    return [body["retrievalHits"]]


@pytest.mark.parametrize("number", range(6))
def test_retrieval_examples_have_the_reference_shape(http: httpx.Client, number: int) -> None:
    """The requests as the reference writes them: the sample tenant has its sites and connections."""
    path, request, example = reference.retrieval_examples()[number]
    response = http.post(path, json=request)
    assert response.status_code == 200, response.text
    ours = response.json()
    assert all(_hit_lists(ours)), "every answer has hits, so that their shape is compared"
    assert_same_shape(example, ours)


# --- every output validates against the wire models, with nothing unexplained ---------------------


def _extras(model: BaseModel, path: str = "$") -> list[str]:
    found = [f"{path}.{key}" for key in (model.model_extra or {}) if key not in ADDED]
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, BaseModel):
                found += _extras(item, f"{path}.{name}[{index}]" if isinstance(value, list) else f"{path}.{name}")
    return found


def validate(model: type[BaseModel], data: Any) -> BaseModel:
    parsed = model.model_validate(data)
    assert not _extras(parsed), _extras(parsed)
    return parsed


def test_conversation_outputs_validate(api: Api) -> None:
    conversation = api.create()
    validate(Conversation, api.client.post("/beta/copilot/conversations", json={}).json())
    validate(Conversation, api.ask(MEETING, conversation))
    for layout in ("pretty", "compact"):
        for event in api.stream(MEETING, conversation, headers={"x-emulator-layout": layout}):
            validate(Conversation, event.json())


def test_retrieval_and_batch_outputs_validate(http: httpx.Client) -> None:
    body = {"queryString": "VPN", "dataSource": "sharePoint", "resourceMetadata": ["title", "author"]}
    retrieval = validate(RetrievalResponse, http.post("/beta/copilot/retrieval", json=body).json())
    assert retrieval.retrieval_hits[0].sensitivity_label is not None  # read through the toolTip spelling
    batch = {"requests": [{"id": "1", "method": "POST", "url": "/copilot/retrieval", "body": body}]}
    parsed = validate(BatchResponse, http.post("/beta/$batch", json=batch).json())
    validate(RetrievalResponse, parsed.responses[0].body)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body"),
    [
        ("POST", "/beta/copilot/conversations", {"Authorization": ""}, {}),
        ("GET", "/beta/copilot/conversations", {}, None),
        ("POST", "/beta/nowhere", {}, {}),
        ("POST", "/beta/copilot/conversations/unknown/chat", {}, {"message": {"text": "hi"}}),
        ("POST", "/beta/copilot/retrieval", {}, {"queryString": ""}),
        ("POST", "/beta/copilot/conversations", {"x-emulator-fault": "throttle"}, {}),
        ("POST", "/beta/copilot/conversations", {"x-emulator-fault": "claims"}, {}),
    ],
)
def test_errors_validate(http: httpx.Client, method: str, path: str, headers: dict[str, str], body: Any) -> None:
    response = http.request(method, path, json=body, headers=headers)
    assert response.status_code >= 400
    error = validate(GraphError, response.json())
    inner = error.error.inner_error  # type: ignore[attr-defined]
    assert inner is not None and inner.request_id and inner.client_request_id and inner.date
