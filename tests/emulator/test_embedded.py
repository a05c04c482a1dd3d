"""SharePoint Embedded retrieval (beta): files of an application's containers, reached
only with the container type in ``dataSourceConfiguration``."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import Api, reply_of

CONTAINER_TYPE = "4f6a2b8c-3d1e-4a5b-9c7d-8e0f1a2b3c4d"
QUESTION = "What service credit does Northwind get below the availability commitment?"


def _retrieve(http: httpx.Client, prefix: str = "/beta", **body: Any) -> httpx.Response:
    return http.post(f"{prefix}/copilot/retrieval", json={"queryString": QUESTION, **body})


def _embedded(container: str = CONTAINER_TYPE) -> dict[str, Any]:
    return {"dataSource": "sharePointEmbedded",
            "dataSourceConfiguration": {"sharePointEmbedded": {"containerTypeId": container}}}


def test_the_container_type_reaches_its_files(http: httpx.Client) -> None:
    response = _retrieve(http, **_embedded(), resourceMetadata=["title", "containerTypeId"])
    assert response.status_code == 200, response.text
    first = response.json()["retrievalHits"][0]
    assert "/contentstorage/CSP_" in first["webUrl"]
    assert first["resourceMetadata"] == {"title": "Northwind Traders Master Services Agreement (summary)",
                                         "containerTypeId": CONTAINER_TYPE}
    assert any("service credit of 5%" in extract["text"] for extract in first["extracts"])


def test_another_container_type_sees_nothing(http: httpx.Client) -> None:
    response = _retrieve(http, **_embedded("00000000-0000-0000-0000-000000000000"))
    assert response.status_code == 200 and response.json()["retrievalHits"] == []


def test_embedded_files_stay_out_of_sharepoint_and_chat(http: httpx.Client, api: Api) -> None:
    hits = _retrieve(http, dataSource="sharePoint").json()["retrievalHits"]
    assert not [hit for hit in hits if "/contentstorage/" in hit["webUrl"]]
    reply = reply_of(api.ask(QUESTION))
    assert "contentstorage" not in str(reply["attributions"])


def test_the_container_type_is_required_and_beta_only(http: httpx.Client) -> None:
    missing = _retrieve(http, dataSource="sharePointEmbedded")
    assert missing.status_code == 400 and "containerTypeId" in missing.json()["error"]["message"]
    on_v1 = _retrieve(http, "/v1.0", **_embedded())
    assert on_v1.status_code == 400 and "/beta" in on_v1.json()["error"]["message"]
    wrong_source = _retrieve(http, dataSource="sharePoint",
                             dataSourceConfiguration={"sharePointEmbedded": {"containerTypeId": CONTAINER_TYPE}})
    assert wrong_source.status_code == 400


def test_embedded_retrieval_works_in_a_batch(http: httpx.Client) -> None:
    body = {"requests": [{"id": "1", "method": "POST", "url": "/copilot/retrieval",
                          "headers": {"Content-Type": "application/json"},
                          "body": {"queryString": QUESTION, **_embedded()}}]}
    (item,) = http.post("/beta/$batch", json=body).json()["responses"]
    assert item["status"] == 200 and item["body"]["retrievalHits"]

