"""The Retrieval API and ``$batch`` over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from copilot_tools._wire import BatchResponse, RetrievalResponse

VPN = "How to setup corporate VPN?"


def retrieve(http: httpx.Client, path: str = "/beta/copilot/retrieval", **body: Any) -> httpx.Response:
    return http.post(path, json={"queryString": VPN, "dataSource": "sharePoint", **body})


def hits(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return response.json()["retrievalHits"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("version", ["beta", "v1.0"])
def test_sharepoint_hits_in_the_reference_shape(http: httpx.Client, version: str) -> None:
    found = hits(retrieve(http, f"/{version}/copilot/retrieval", resourceMetadata=["title", "author"],
                          maximumNumberOfResults="10"))
    assert found[0]["webUrl"].endswith("/Corporate-VPN-Setup-Guide.docx")
    for hit in found:
        assert hit["resourceType"] == "listItem" and set(hit["resourceMetadata"]) <= {"title", "author"}
        assert hit["extracts"] and all(0 < e["relevanceScore"] <= 1 for e in hit["extracts"])
        assert set(hit["sensitivityLabel"]) == {
            "sensitivityLabelId", "displayName", "toolTip", "priority", "color", "isEncrypted"}
        assert "sharepoint.com/sites/" in hit["webUrl"]


def test_onedrive_and_connectors_are_their_own_sources(http: httpx.Client) -> None:
    onedrive = hits(retrieve(http, queryString="Project Falcon launch notes", dataSource="oneDriveBusiness"))
    assert onedrive and all("-my.sharepoint.com/personal/" in h["webUrl"] for h in onedrive)
    external = hits(retrieve(http, dataSource="externalItem", resourceMetadata=["title"]))
    assert external and {h["resourceType"] for h in external} == {"externalItem"}
    assert all("sensitivityLabel" not in h for h in external)


def test_connections_narrow_external_items(http: httpx.Client) -> None:
    config = {"externalItem": {"connections": [{"connectionId": "ContosoJira"}]}}
    found = hits(retrieve(http, queryString="ingestion latency spikes", dataSource="externalItem",
                          dataSourceConfiguration=config))
    assert found and all("atlassian" in h["webUrl"] or "jira" in h["webUrl"].lower() for h in found)
    none = hits(retrieve(http, dataSource="externalItem",
                         dataSourceConfiguration={"externalItem": {"connections": [{"connectionId": "Nope"}]}}))
    assert none == []


def test_metadata_holds_only_what_was_asked(http: httpx.Client) -> None:
    (hit, *_) = hits(retrieve(http, resourceMetadata=["title", "lastModifiedDateTime", "unknownField"]))
    assert set(hit["resourceMetadata"]) == {"title", "lastModifiedDateTime"}
    (bare, *_) = hits(retrieve(http))
    assert bare["resourceMetadata"] == {}


def test_maximum_number_of_results(http: httpx.Client) -> None:
    assert len(hits(retrieve(http, queryString="policy", maximumNumberOfResults=2))) == 2


def test_filter_expression_scopes_the_search(http: httpx.Client) -> None:
    hr = hits(retrieve(http, queryString="policy", filterExpression='path:"https://contoso.sharepoint.com/sites/HR/"'))
    assert hr and all(h["webUrl"].startswith("https://contoso.sharepoint.com/sites/HR/") for h in hr)
    docx = hits(retrieve(http, queryString="policy", filterExpression='FileExtension:"docx" AND NOT Author:"Nobody"'))
    assert docx and all(h["webUrl"].endswith(".docx") for h in docx)


def test_a_filter_the_emulator_cannot_parse_runs_unscoped_with_a_warning(http: httpx.Client) -> None:
    scoped = retrieve(http, filterExpression='path:"https://contoso.sharepoint.com/sites/Nowhere/"')
    assert hits(scoped) == [] and "x-emulator-warning" not in scoped.headers
    broken = retrieve(http, filterExpression='path:"https://contoso.sharepoint.com/sites/Nowhere/')
    assert hits(broken) and "unscoped" in broken.headers["x-emulator-warning"]


@pytest.mark.parametrize("expression", ["(" * 5_000 + "FileType:docx" + ")" * 5_000, "NOT " * 5_000 + "FileType:docx"])
def test_a_deeply_nested_filter_runs_unscoped_with_a_warning(http: httpx.Client, expression: str) -> None:
    response = retrieve(http, queryString="policy", filterExpression=expression)
    assert response.status_code == 200, response.text
    assert hits(response) and "nests more than" in response.headers["x-emulator-warning"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"dataSource": "sharePoint"}, "queryString"),
        ({"queryString": "", "dataSource": "sharePoint"}, "queryString"),
        ({"queryString": "x" * 1501, "dataSource": "sharePoint"}, "1500"),
        ({"queryString": VPN}, "dataSource"),
        ({"queryString": VPN, "dataSource": "web"}, "web"),
        ({"queryString": VPN, "dataSource": "sharePoint",
          "dataSourceConfiguration": {"externalItem": {"connections": []}}}, "externalItem"),
        ({"queryString": VPN, "dataSource": "sharePoint", "maximumNumberOfResults": 26}, "25"),
        ({"queryString": VPN, "dataSource": "sharePoint", "maximumNumberOfResults": "ten"}, "25"),
        # digits int() refuses (a superscript; more than Python converts): 400, not the emulator's 500
        ({"queryString": VPN, "dataSource": "sharePoint", "maximumNumberOfResults": "\u00b2"}, "25"),
        ({"queryString": VPN, "dataSource": "sharePoint", "maximumNumberOfResults": "1" * 5000}, "25"),
        ({"queryString": VPN, "dataSource": "sharePoint", "resourceMetadata": "title"}, "resourceMetadata"),
    ],
)
def test_bodies_the_api_refuses_are_400(http: httpx.Client, body: dict[str, Any], words: str) -> None:
    response = http.post("/beta/copilot/retrieval", json=body)
    assert response.status_code == 400 and words in response.json()["error"]["message"]


def _sub(id_: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    return {"id": id_, "method": "POST", "url": "/copilot/retrieval", "body": body,
            "headers": {"Content-Type": "application/json", **headers}}


def test_batch_answers_each_request_on_its_own(http: httpx.Client) -> None:
    requests = [
        _sub("1", {"queryString": VPN, "dataSource": "sharePoint"}),
        _sub("2", {"queryString": VPN, "dataSource": "externalItem"}),
        _sub("3", {"queryString": VPN, "dataSource": "sharePoint"}, **{"x-emulator-fault": "throttle;retry-after=3"}),
        _sub("4", {"dataSource": "sharePoint"}),
        {"id": "5", "method": "POST", "url": "/me/messages", "body": {}},
        {"id": "6", "method": "GET", "url": "/copilot/retrieval"},
        _sub("7", {"queryString": VPN, "dataSource": "sharePoint"}, **{"x-emulator-fault": "meltdown"}),
    ]
    response = http.post("/v1.0/$batch", json={"requests": requests})
    assert response.status_code == 200
    answers = {r.id: r for r in BatchResponse.model_validate(response.json()).responses}
    assert [r["id"] for r in response.json()["responses"]] == ["1", "2", "3", "4", "5", "6", "7"]
    assert answers["1"].status == answers["2"].status == 200
    assert RetrievalResponse.model_validate(answers["2"].body).retrieval_hits[0].resource_type == "externalItem"
    assert (answers["3"].status, answers["3"].headers["Retry-After"]) == (429, "3")
    assert answers["4"].status == 400 and "queryString" in answers["4"].body["error"]["message"]
    assert (answers["5"].status, answers["6"].status, answers["7"].status) == (404, 405, 400)


def test_in_batch_faults_hit_sub_requests_one_by_one(http: httpx.Client) -> None:
    body = {"queryString": VPN, "dataSource": "sharePoint"}
    header = {"x-emulator-fault": "throttle;retry-after=0;count=2;in=batch;key=in-batch-test"}
    first = http.post("/beta/$batch", json={"requests": [_sub(str(i), body) for i in range(3)]}, headers=header)
    assert first.status_code == 200
    assert [r["status"] for r in first.json()["responses"]] == [429, 429, 200]
    again = http.post("/beta/$batch", json={"requests": [_sub("1", body)]}, headers=header)
    assert [r["status"] for r in again.json()["responses"]] == [200]
    assert http.post("/beta/copilot/retrieval", json=body, headers=header).status_code == 200


def test_batch_limits(http: httpx.Client) -> None:
    body = {"queryString": VPN, "dataSource": "sharePoint"}
    too_many = http.post("/beta/$batch", json={"requests": [_sub(str(i), body) for i in range(21)]})
    assert too_many.status_code == 400 and "20" in too_many.json()["error"]["message"]
    duplicate = http.post("/beta/$batch", json={"requests": [_sub("1", body), _sub("1", body)]})
    assert duplicate.status_code == 400
    assert http.post("/beta/$batch", json={"requests": []}).status_code == 400
