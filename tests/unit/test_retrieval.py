"""Retrieval: validation before any request, $batch splitting and per-item retries."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from copilot_tools import CopilotClient, InvalidInputError, ThrottledError
from copilot_tools._retrieval import hits_structured, render_hits

BASE = "https://graph.microsoft.com/beta"


def hit(url: str, text: str = "extract") -> dict:
    return {"webUrl": url, "extracts": [{"text": text, "relevanceScore": 0.5}], "resourceType": "listItem",
            "resourceMetadata": {"title": url.rsplit("/", 1)[-1], "author": "Megan Bowen"},
            "sensitivityLabel": {"sensitivityLabelId": "l1", "displayName": "General", "toolTip": "t", "priority": 1}}


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("copilot_tools.client.time.sleep", lambda seconds: None)


def client() -> CopilotClient:
    return CopilotClient(base_url=BASE, token="t", time_zone="UTC")


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"query": ""}, "query"),
        ({"query": "x" * 1501}, "query"),
        ({"max_results": 0}, "max_results"),
        ({"max_results": 26}, "max_results"),
        ({"data_source": "web"}, "data_source"),
        ({"connections": ["c1"]}, "connections"),
        ({"filter": 'path:"https://contoso.sharepoint.com/sites/HR'}, "filter"),
        ({"filter": "(Author:x"}, "filter"),
        ({"filter": "Autor:x"}, "filter"),
        ({"filter": "Author:x AND"}, "filter"),
    ],
)
@respx.mock(assert_all_called=False)
def test_every_rule_is_checked_before_any_request(kwargs: dict, argument: str) -> None:
    route = respx.post(f"{BASE}/copilot/retrieval")
    arguments = {"query": "vpn", **kwargs}
    with client() as c, pytest.raises(InvalidInputError) as info:
        c.retrieve(arguments.pop("query"), **arguments)
    assert info.value.argument == argument
    assert route.call_count == 0


def test_a_broken_filter_message_points_at_the_place() -> None:
    with client() as c, pytest.raises(InvalidInputError) as info:
        c.retrieve("q", filter='Author:"Megan AND Title:x')
    assert "at character 8" in info.value.message
    assert "unscoped" in info.value.hint


@respx.mock
def test_one_query_is_one_post_with_the_reference_body() -> None:
    route = respx.post(f"{BASE}/copilot/retrieval").mock(return_value=httpx.Response(200, json={"retrievalHits": [hit("https://c/a.docx")]}))
    with client() as c:
        hr_site = 'path:"https://contoso.sharepoint.com/sites/HR1/"'
        hits = c.retrieve("How to set up VPN", filter=hr_site, max_results=10)
    assert json.loads(route.calls[0].request.content) == {
        "queryString": "How to set up VPN", "dataSource": "sharePoint",
        "filterExpression": 'path:"https://contoso.sharepoint.com/sites/HR1/"',
        "resourceMetadata": ["title", "author"], "maximumNumberOfResults": 10,
    }
    assert hits[0].title == "a.docx" and hits[0].sensitivity_label.tooltip == "t"
    assert hits[0].data_source == "sharePoint" and hits[0].score == 0.5


@respx.mock
def test_a_batch_of_45_splits_into_20s_and_retries_the_throttled_item_alone() -> None:
    sent: list[list[str]] = []
    throttled_once: set[str] = set()

    def answer(request: httpx.Request) -> httpx.Response:
        requests = json.loads(request.content)["requests"]
        sent.append([r["id"] for r in requests])
        responses = []
        for item in requests:
            if item["id"] == "7" and "7" not in throttled_once:
                throttled_once.add("7")
                responses.append({"id": "7", "status": 429, "headers": {"Retry-After": "2"},
                                  "body": {"error": {"code": "TooManyRequests", "message": "slow"}}})
            else:
                query = item["body"]["queryString"]
                hits = [hit(f"https://c/{query}.docx"), hit("https://c/shared.docx", query)]
                responses.append({"id": item["id"], "status": 200, "headers": {},
                                  "body": {"retrievalHits": hits}})
        return httpx.Response(200, json={"responses": list(reversed(responses))})

    respx.post(f"{BASE}/$batch").mock(side_effect=answer)
    queries = [f"q{i}" for i in range(45)]
    with client() as c:
        hits = c.retrieve_many(queries)
    assert [len(batch) for batch in sent] == [20, 20, 5, 1]
    assert sent[-1] == ["7"]
    urls = [h.url for h in hits]
    assert len(urls) == len(set(urls)) == 46
    shared = next(h for h in hits if h.url == "https://c/shared.docx")
    assert len(shared.queries) == 45 and len(shared.extracts) == 45


@respx.mock
def test_several_sources_fan_out_and_keep_their_source() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        requests = json.loads(request.content)["requests"]
        return httpx.Response(200, json={"responses": [
            {"id": r["id"], "status": 200, "body": {"retrievalHits": [hit(f"https://c/{r['body']['dataSource']}")]}}
            for r in requests]})

    route = respx.post(f"{BASE}/$batch").mock(side_effect=answer)
    with client() as c:
        hits = c.retrieve_many("budget", data_sources=["sharePoint", "oneDriveBusiness", "externalItem"],
                               connections=["ContosoJira"])
    bodies = [r["body"] for r in json.loads(route.calls[0].request.content)["requests"]]
    assert [b.get("dataSourceConfiguration") for b in bodies] == [
        None, None, {"externalItem": {"connections": [{"connectionId": "ContosoJira"}]}}]
    assert [h.data_source for h in hits] == ["sharePoint", "oneDriveBusiness", "externalItem"]
    assert "budget" in render_hits(hits) or "[1]" in render_hits(hits)
    assert hits_structured(hits)["hits"][2]["data_source"] == "externalItem"


@respx.mock
def test_a_sub_request_throttled_too_long_surfaces_with_its_query() -> None:
    respx.post(f"{BASE}/$batch").mock(return_value=httpx.Response(200, json={"responses": [
        {"id": "0", "status": 200, "body": {"retrievalHits": []}},
        {"id": "1", "status": 429, "headers": {"Retry-After": "3600"}, "body": {}},
    ]}))
    with client() as c, pytest.raises(ThrottledError) as info:
        c.retrieve_many(["a", "b"])
    assert "'b'" in info.value.message and info.value.retry_after == 3600


def test_retrieval_is_refused_on_work_iq() -> None:
    with CopilotClient(base_url="workiq", token="t", time_zone="UTC") as c, pytest.raises(InvalidInputError):
        c.retrieve("q")


@respx.mock
def test_single_strings_for_list_arguments_are_one_item() -> None:
    route = respx.post(f"{BASE}/copilot/retrieval").mock(return_value=httpx.Response(200, json={"retrievalHits": []}))
    with client() as c:
        c.retrieve("VPN", metadata="title")
        c.retrieve("VPN", data_source="externalItem", connections="ContosoJira")
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert bodies[0]["resourceMetadata"] == ["title"]
    assert bodies[1]["dataSourceConfiguration"] == {"externalItem": {"connections": [{"connectionId": "ContosoJira"}]}}


def test_dates_in_filters_are_checked() -> None:
    with client() as c, pytest.raises(InvalidInputError) as info:
        c.retrieve("q", filter="LastModifiedTime>=2024-13-45")
    assert "not a date" in info.value.message
