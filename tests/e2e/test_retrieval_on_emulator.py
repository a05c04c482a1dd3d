"""The Retrieval API through the client against the emulator: the reference's requests,
merged multi-source batches, and per-item retries inside a $batch."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest

from copilot_tools import AsyncCopilotClient, CopilotClient, InvalidInputError
from tests import reference

_keys = itertools.count()


def arguments(body: dict[str, Any]) -> dict[str, Any]:
    """The client arguments that send exactly this reference request body."""
    connections = body.get("dataSourceConfiguration", {}).get("externalItem", {}).get("connections", [])
    return {
        "data_source": body["dataSource"],
        "filter": body.get("filterExpression"),
        "metadata": body.get("resourceMetadata"),
        "max_results": int(body["maximumNumberOfResults"]) if "maximumNumberOfResults" in body else None,
        "connections": [c["connectionId"] for c in connections] or None,
    }


def shape(hit_json: dict[str, Any]) -> set[str]:
    return {key for key, value in hit_json.items() if value is not None}


@pytest.fixture
def client(emulator):
    with CopilotClient(base_url=emulator.base_url, token="t", time_zone="UTC") as client:
        yield client


@pytest.mark.parametrize(
    "number", [n for n, (path, _, _) in enumerate(reference.retrieval_examples()) if path.endswith("retrieval")]
)
def test_every_reference_request_returns_hits_of_the_reference_shape(client: CopilotClient, number: int) -> None:
    _, body, expected = reference.retrieval_examples()[number]
    hits = client.retrieve(body["queryString"], **arguments(body))
    assert hits, "the sample tenant answers every reference query"
    assert len(hits) <= int(body.get("maximumNumberOfResults", 25))
    expected_types = {hit["resourceType"] for hit in expected["retrievalHits"]}
    assert {hit.resource_type for hit in hits} == expected_types
    for hit in hits:
        assert hit.extracts and all(extract.text for extract in hit.extracts)
        assert set(hit.metadata) <= set(body.get("resourceMetadata", []))
        if body.get("filterExpression", "").startswith("path:"):
            prefixes = [part.split('"')[1] for part in body["filterExpression"].split(" OR ")]
            assert any(hit.url.startswith(prefix) for prefix in prefixes)
        if body["dataSource"] == "externalItem":
            assert hit.sensitivity_label is None


def test_the_reference_batch_fans_out_over_two_sources(client: CopilotClient) -> None:
    path, body, expected = next(example for example in reference.retrieval_examples() if example[0].endswith("$batch"))
    queries = {request["body"]["queryString"] for request in body["requests"]}
    sources = [request["body"]["dataSource"] for request in body["requests"]]
    hits = client.retrieve_many(sorted(queries), data_sources=sources)
    assert {hit.data_source for hit in hits} == set(sources)
    assert len({hit.url for hit in hits}) == len(hits)


def test_a_batch_of_45_queries_with_one_throttled_sub_request(emulator) -> None:
    header = {"x-emulator-fault": f"throttle;retry-after=0;count=1;in=batch;key=b{next(_keys)}"}
    topics = ["VPN", "budget", "travel", "Falcon", "MFA"]
    queries = [f"{topic} {n}" for n, topic in zip(range(45), itertools.cycle(topics))]
    batches: list[int] = []

    def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/$batch"):
            batches.append(len(json.loads(request.content)["requests"]))

    with httpx.Client(event_hooks={"request": [record]}) as http, CopilotClient(
        base_url=emulator.base_url, token="t", time_zone="UTC", headers=header, http_client=http
    ) as client:
        hits = client.retrieve_many(queries)
    assert batches == [20, 20, 5, 1]  # the throttled sub-request went again, alone
    assert hits and len({hit.url for hit in hits}) == len(hits)
    assert {query for hit in hits for query in hit.queries} == set(queries)


async def test_async_retrieval_matches_sync(emulator, client: CopilotClient) -> None:
    queries, sources = ["VPN setup", "travel per diem"], ["sharePoint", "oneDriveBusiness"]
    async with AsyncCopilotClient(base_url=emulator.base_url, token="t", time_zone="UTC") as async_client:
        async_hits = await async_client.retrieve_many(queries, data_sources=sources)
    sync_hits = client.retrieve_many(queries, data_sources=sources)
    assert [h.url for h in async_hits] == [h.url for h in sync_hits]


def test_filters_scope_the_results(client: CopilotClient) -> None:
    hits = client.retrieve("policy", filter='FileExtension:"docx" AND path:"https://contoso.sharepoint.com/sites/HR/"')
    assert hits and all(
        hit.url.startswith("https://contoso.sharepoint.com/sites/HR/") and hit.url.endswith(".docx") for hit in hits
    )


def test_a_broken_filter_never_reaches_the_service(client: CopilotClient) -> None:
    with pytest.raises(InvalidInputError) as info:
        client.retrieve("policy", filter='path:"https://contoso.sharepoint.com/sites/HR/')
    assert info.value.argument == "filter"
