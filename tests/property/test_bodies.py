"""Property: every JSON body the core reads (answers, errors, retrieval, $batch) gives a typed result.

Bodies are random bytes, random JSON, or real reference bodies mutated. Parsing either succeeds
with encodable text or raises a ``CopilotError`` subclass; an error body always becomes a
``CopilotError`` (never an exception of its own) whose message encodes as UTF-8.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from copilot_tools import CopilotError, _json
from copilot_tools import _protocol as protocol
from copilot_tools._exchange import Received, Sleep
from copilot_tools._retrieval import RunFlow, batch_flow, build_query, parse_hits
from copilot_tools._retry import RetryPolicy
from tests.property.strategies import (
    FAST,
    GRAPH_ERROR,
    answer_or_error,
    batch_bodies,
    chat_bodies,
    deep_json,
    encodable_everywhere,
    hostile_text,
    json_text,
    json_values,
    mutated,
    retrieval_bodies,
)

ANY_BODY = st.one_of(
    st.binary(max_size=500),
    json_values.map(lambda v: json_text(v).encode()),
    deep_json.map(str.encode),
)


@FAST
@given(body=st.one_of(mutated(chat_bodies()), ANY_BODY), prompt=hostile_text)
def test_a_synchronous_answer_body(body: bytes, prompt: str) -> None:
    answer_or_error(body, prompt)


@FAST
@given(
    status=st.integers(min_value=400, max_value=599),
    body=st.one_of(mutated([GRAPH_ERROR, *chat_bodies()[:1]]), ANY_BODY),
    # httpx decodes header values as Latin-1: no surrogates, but any other of those characters.
    headers=st.dictionaries(st.sampled_from(["retry-after", "request-id", "www-authenticate", "x-ms-request-id"]),
                            st.one_of(st.text(st.characters(max_codepoint=255), max_size=40),
                                      st.sampled_from(["-5", "inf", "nan", "1e400",
                                                       'Bearer claims="e30", error="insufficient_claims"'])),
                            max_size=3),
    operation=st.sampled_from(["turn", "create", "read"]),
    endpoint=st.sampled_from(["graph", "workiq"]),
)
def test_an_error_body_always_becomes_a_copilot_error(
    status: int, body: bytes, headers: dict[str, str], operation: str, endpoint: str
) -> None:
    error = protocol.error_from_response(status, headers, body, endpoint_name=endpoint, operation=operation)
    assert isinstance(error, CopilotError)
    str(error).encode("utf-8")
    encodable_everywhere([error.message, error.hint, error.code, error.request_id])


QUERY = build_query("How to set up the corporate VPN?")


@FAST
@given(body=st.one_of(mutated(retrieval_bodies()), ANY_BODY))
def test_a_retrieval_body(body: bytes) -> None:
    try:
        hits = parse_hits(body, QUERY)
    except CopilotError:
        return
    encodable_everywhere(hits)


@FAST
@given(
    body=st.one_of(mutated(batch_bodies()), ANY_BODY, st.lists(json_values, max_size=3).map(
        lambda bodies: json.dumps({"responses": [
            {"id": str(n), "status": 200, "headers": {"n": n}, "body": b} for n, b in enumerate(bodies)]}).encode())),
)
def test_a_batch_body(body: bytes) -> None:
    # Two queries, so the flow goes through $batch; ids the client did not send are the client
    # flow's own check (issue 12), so the bodies here keep to ids "0" and "1" where they have any.
    queries = [QUERY, build_query("Who approves travel?", data_source="oneDriveBusiness")]
    endpoint = protocol.Endpoint.resolve("graph")
    flow = batch_flow(endpoint, queries, RetryPolicy(max_retries=1))
    try:
        action = next(flow)
        for _ in range(10):
            reply = None if isinstance(action, Sleep) else Received(200, {"request-id": "r"}, body)
            assert isinstance(action, (RunFlow, Sleep))
            action = flow.send(reply)
    except StopIteration as stop:
        encodable_everywhere(stop.value)
    except CopilotError as error:
        str(error).encode("utf-8")
    except (ValueError, IndexError, KeyError) as error:
        # Only an id outside "0"/"1" may get here (see above); anything else is a bug.
        ids = _ids(body)
        assert ids - {"0", "1"}, repr(error)


def _ids(body: bytes) -> set[str]:
    try:
        return {str(item.get("id")) for item in _json.loads(body)["responses"]}
    except Exception:  # noqa: BLE001 - only used to explain a failure
        return set()
