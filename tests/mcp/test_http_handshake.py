"""What the ``initialize`` handshake leaves in the shared state (``mcp/http_app._handshake``)."""

from __future__ import annotations

import json

from copilot_tools.mcp.http_app import MAX_CLIENT_PARAMS, _handshake


def _initialize(**params: object) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}).encode()


def test_the_client_params_are_kept_for_other_replicas() -> None:
    record = _handshake("t/o", _initialize(protocolVersion="2025-06-18", capabilities={}))
    assert record.owner == "t/o" and record.protocol_version == "2025-06-18"
    assert record.client_params is not None and json.loads(record.client_params)["capabilities"] == {}


def test_oversized_client_params_are_not_written_to_the_state() -> None:
    body = _initialize(protocolVersion="2025-06-18", capabilities={"x": "y" * MAX_CLIENT_PARAMS})
    record = _handshake("t/o", body)
    assert record.protocol_version == "2025-06-18" and record.client_params is None


def test_a_body_that_is_not_an_initialize_request_records_the_owner_alone() -> None:
    for body in (b"{", b"[" * 100_000, b'{"method": "ping"}'):
        record = _handshake("t/o", body)
        assert (record.protocol_version, record.client_params) == (None, None)
