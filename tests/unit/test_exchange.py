"""The request cycle and the ``$batch`` flow, driven by hand as h11's tests drive its state machine.

No client, no network, no patched ``time.sleep``: each test sends the generator what a
server would have answered and checks what it asks to do next.
"""

from __future__ import annotations

import json

import httpx
import pytest

from copilot_tools import _retrieval as retrieval
from copilot_tools._exchange import Failed, Received, Send, Sleep, exchange
from copilot_tools._protocol import Endpoint, HttpRequest
from copilot_tools._retry import Deadline, RetryPolicy
from copilot_tools.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    DeadlineExceededError,
    ServiceError,
    ThrottledError,
)

GRAPH = Endpoint.resolve("graph")
LOCAL = Endpoint.resolve("http://127.0.0.1:9/beta")
POLICY = RetryPolicy(max_retries=3, base_delay=0.5)
CREATE = HttpRequest("POST", GRAPH.conversations_url(), json={})


def start(operation: str = "create", endpoint: Endpoint = GRAPH, **kwargs: object):
    flow = exchange(CREATE, operation=operation, policy=POLICY, endpoint=endpoint, **kwargs)  # type: ignore[arg-type]
    first = next(flow)
    assert isinstance(first, Send) and first.attempt == 0
    return flow


def reply(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Received:
    return Received(status, httpx.Headers(headers or {}), body)


def finish(flow, outcome):
    with pytest.raises(StopIteration) as stop:
        flow.send(outcome)
    return stop.value.value


@pytest.mark.parametrize("status", [503, 504])
def test_retry_after_on_503_and_504_is_honoured(status: int) -> None:
    flow = start("create")
    sleep = flow.send(reply(status, {"Retry-After": "7"}))
    assert sleep == Sleep(7.0, sleep.cause, 1) and isinstance(sleep.cause, ServiceError)
    assert isinstance(next(flow), Send)
    assert finish(flow, reply(201, body=b'{"id": "x"}')).status == 201


@pytest.mark.parametrize("value", ["-5", "Wed, 31 Dec 2025 23:59:00 GMT", "soon"])
def test_a_negative_or_past_retry_after_never_means_retry_at_once(value: str) -> None:
    flow = start("create")
    sleep = flow.send(reply(429, {"Retry-After": value}))
    assert isinstance(sleep, Sleep) and sleep.seconds >= POLICY.base_delay / 2


def test_a_turn_is_not_resent_after_a_5xx_but_is_after_a_429() -> None:
    flow = start("turn")
    with pytest.raises(ServiceError):
        flow.send(reply(503, {"Retry-After": "1"}))
    flow = start("turn")
    assert isinstance(flow.send(reply(429, {"Retry-After": "1"})), Sleep)


def test_a_long_retry_after_is_surfaced_not_slept() -> None:
    flow = start("create")
    with pytest.raises(ThrottledError) as info:
        flow.send(reply(429, {"Retry-After": "600"}))
    assert info.value.retry_after == 600 and info.value.status_code == 429


def test_a_plain_401_asks_for_a_fresh_token_once_then_raises() -> None:
    flow = start("turn")
    again = flow.send(reply(401))
    assert isinstance(again, Send) and again.force_refresh and again.attempt == 0
    with pytest.raises(AuthenticationError) as info:
        flow.send(reply(401, body=b'{"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}'))
    assert info.value.code == "InvalidAuthenticationToken" and info.value.body
    assert "COPILOT_TOOLS_ACCESS_TOKEN" in (info.value.hint or "")
    assert "again" not in (info.value.hint or "")


def test_a_401_from_the_local_emulator_names_its_token_not_login() -> None:
    flow = start("turn", endpoint=LOCAL)
    flow.send(reply(401))
    with pytest.raises(AuthenticationError) as info:
        flow.send(reply(401))
    assert "--token" in (info.value.hint or "") and "login" not in (info.value.hint or "")


def test_a_refused_connection_to_the_emulator_names_the_url_and_how_to_start_it() -> None:
    flow = exchange(HttpRequest("POST", LOCAL.conversations_url()), operation="create",
                    policy=RetryPolicy(max_retries=0), endpoint=LOCAL)
    next(flow)
    with pytest.raises(APIConnectionError) as info:
        flow.send(Failed(httpx.ConnectError("refused"), request_sent=False))
    assert LOCAL.conversations_url() in info.value.message
    assert "copilot-tools emulator" in (info.value.hint or "")


def test_a_read_timeout_after_a_turn_was_sent_is_a_timeout_error_and_not_resent() -> None:
    flow = start("turn")
    with pytest.raises(APITimeoutError) as info:
        flow.send(Failed(httpx.ReadTimeout("slow"), request_sent=True))
    assert "may have processed" in info.value.message


def test_the_deadline_refuses_a_back_off_that_would_outlast_it() -> None:
    now = [0.0]
    deadline = Deadline(10.0, clock=lambda: now[0])
    assert deadline.allows_wait(9.0) and not deadline.allows_wait(10.0)
    now[0] = 9.5
    assert deadline.remaining() == 0.5 and not deadline.expired()
    now[0] = 10.0
    error = deadline.exceeded(partial_text="The standup", sent=True)
    assert deadline.expired() and isinstance(error, DeadlineExceededError)
    assert error.partial_text == "The standup" and error.deadline == 10.0


# --- $batch -------------------------------------------------------------------------------------


def queries(*texts: str) -> list[retrieval.RetrievalQuery]:
    return [retrieval.build_query(text) for text in texts]


def batch_reply(*items: dict[str, object]) -> Received:
    return reply(200, {"request-id": "batch-1"}, json.dumps({"responses": list(items)}).encode())


def hits(url: str) -> dict[str, object]:
    return {"retrievalHits": [{"webUrl": url, "extracts": [{"text": "x"}]}]}


def test_a_throttled_batch_item_is_sent_again_alone_after_its_retry_after() -> None:
    flow = retrieval.batch_flow(GRAPH, queries("a", "b"), POLICY)
    post = next(flow)
    assert isinstance(post, retrieval.RunFlow)
    sent = json.loads(json.dumps(next(post.flow).request.json))
    assert [item["id"] for item in sent["requests"]] == ["0", "1"]
    sleep = flow.send(batch_reply(
        {"id": "1", "status": 429, "headers": {"Retry-After": "3"}, "body": {}},
        {"id": "0", "status": 200, "body": hits("https://contoso.sharepoint.com/a")},
    ))
    assert isinstance(sleep, Sleep) and sleep.seconds == 3 and isinstance(sleep.cause, ThrottledError)
    again = flow.send(None)
    assert [item["id"] for item in next(again.flow).request.json["requests"]] == ["1"]
    result = finish(flow, batch_reply({"id": "1", "status": 200, "body": hits("https://contoso.sharepoint.com/b")}))
    assert [hit.url for hit in result] == ["https://contoso.sharepoint.com/a", "https://contoso.sharepoint.com/b"]
    assert {hit.request_id for hit in result} == {"batch-1"}


@pytest.mark.parametrize("bad_id", ["7", "x", "-1", "0"])
def test_a_batch_answer_for_a_request_never_sent_is_a_service_error(bad_id: str) -> None:
    flow = retrieval.batch_flow(GRAPH, queries("a", "b"), POLICY)
    next(flow)
    items = [{"id": "0", "status": 200, "body": hits("https://contoso.sharepoint.com/a")},
             {"id": bad_id, "status": 200, "body": hits("https://contoso.sharepoint.com/b")}]
    with pytest.raises(ServiceError) as info:
        flow.send(batch_reply(*items))
    assert "did not send" in info.value.message and info.value.request_id == "batch-1"


def test_share_point_embedded_is_a_data_source_with_its_container_type() -> None:
    query = retrieval.build_query("contracts", data_source="sharePointEmbedded", container_type_id="ct-1")
    assert query.body.to_wire()["dataSourceConfiguration"] == {"sharePointEmbedded": {"containerTypeId": "ct-1"}}
    assert "dataSourceConfiguration" not in retrieval.build_query("x", data_source="sharePointEmbedded").body.to_wire()
    from copilot_tools.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        retrieval.build_query("contracts", data_source="sharePoint", container_type_id="ct-1")
