"""``POST /$batch``: up to 20 retrieval requests in one, each answered on its own.

Each sub-request gets its own status, headers and body, so one can be throttled (429
with its own ``Retry-After``) while the others succeed: that is the case a client's
batch retry logic exists for, and a sub-request's own ``x-emulator-fault`` header makes it
happen. Responses keep the order of the requests (the API allows any order; a fixed one
keeps the emulator deterministic).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from copilot_tools._wire import BatchRequest, BatchRequestItem, BatchResponse, BatchResponseItem
from copilot_tools.emulator.errors import Outcome, bad_request, validated
from copilot_tools.emulator.payloads import dump

MAX_REQUESTS = 20


def read_batch(body: Any) -> BatchRequest:
    """The batch, or a 400 for what Graph refuses: no list, more than 20, duplicate ids."""
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list) or not body["requests"]:
        raise bad_request("A $batch body is {\"requests\": [...]} with 1 to 20 requests.")
    if len(body["requests"]) > MAX_REQUESTS:
        raise bad_request(f"A $batch holds at most {MAX_REQUESTS} requests; this one has {len(body['requests'])}.")
    batch = validated(BatchRequest, body, "$batch request")
    ids = [item.id for item in batch.requests]
    if len(set(ids)) != len(ids):
        raise bad_request("Every request of a $batch needs a unique id.")
    return batch


def batch_answer(batch: BatchRequest, answer: Callable[[BatchRequestItem], Outcome]) -> dict[str, Any]:
    responses = []
    for item in batch.requests:
        outcome = answer(item)
        responses.append(
            BatchResponseItem(id=item.id, status=outcome.status, headers=outcome.headers, body=outcome.body)
        )
    return dump(BatchResponse(responses=responses))
