"""Validation before any request, and the typed errors of every response shape."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from copilot_tools import errors
from copilot_tools._protocol import (
    Endpoint,
    build_chat_body,
    error_from_response,
    parse_claims_challenge,
    parse_retry_after,
    validate_conversation_id,
    validate_file_uri,
)

GUID = "0d110e7e-2b7e-4270-a899-fd2af6fde333"


@pytest.mark.parametrize("bad", ["../../v1.0/me/messages", "a/b", "x?$select=a#frag", "", "a b", "é", "-x", "a" * 200])
def test_conversation_ids_that_could_escape_the_url_are_refused(bad: str) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        validate_conversation_id(bad)
    assert info.value.argument == "conversation_id"


def test_turn_urls_per_endpoint() -> None:
    assert Endpoint.resolve("graph").turn_url(GUID, stream=True) == (
        f"https://graph.microsoft.com/beta/copilot/conversations/{GUID}/chatOverStream"
    )
    workiq = Endpoint.resolve("workiq")  # production, documented since 2026-06-25
    assert workiq.conversations_url() == "https://workiq.svc.cloud.microsoft/rest/conversations"
    assert workiq.turn_url(GUID, stream=False).endswith(f"/rest/conversations/{GUID}/chat")
    beta = Endpoint.resolve("workiq-beta")
    assert beta.conversations_url() == "https://workiq.svc.cloud.microsoft/rest/beta/conversations"
    assert beta.turn_url(GUID, stream=False).endswith(f"/rest/beta/conversations/{GUID}/chat")
    seed_path = Endpoint.resolve("workiq-beta", workiq_conversations_path="copilot/conversations")
    assert seed_path.conversations_url().endswith("/rest/beta/copilot/conversations")
    # The seed's spelling of the base URL creates where /chat then works too.
    seed_base = Endpoint.resolve("https://workiq.svc.cloud.microsoft/rest/beta/copilot")
    assert seed_base.conversations_url() == "https://workiq.svc.cloud.microsoft/rest/beta/conversations"
    local = Endpoint.resolve("http://127.0.0.1:8000/beta/")
    assert local.conversations_url() == "http://127.0.0.1:8000/beta/copilot/conversations"
    assert local.is_loopback


@pytest.mark.parametrize("bad", ["graf", "ftp://x", "http://graph.example.com/beta", "not a url"])
def test_unknown_or_unsafe_endpoints_are_refused(bad: str) -> None:
    with pytest.raises(errors.InvalidInputError):
        Endpoint.resolve(bad)


@pytest.mark.parametrize(
    "uri",
    [
        "https://contoso.sharepoint.com/sites/Engineering/Shared%20Documents/Specs/Business-Model.docx",
        "https://contoso-my.sharepoint.com/personal/adele_vance_contoso_com/Documents/notes.docx",
    ],
)
def test_sharepoint_and_onedrive_urls_pass_unchanged(uri: str) -> None:
    assert validate_file_uri(uri) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "http://contoso.sharepoint.com/a.docx",
        "https://contoso.sharepoint.com.evil.net/a.docx",
        "https://evil-sharepoint.com/a.docx",
        "https://user:pw@contoso.sharepoint.com/a.docx",
        "https://contoso.sharepoint.com:8443/a.docx",
        "https://10.0.0.1/a.docx",
        "https://contoso.sharepoint.com/a.docx#x",
        "https://contoso.sharepoint.com/Shared Documents/a.docx",
        "file:///etc/passwd",
        "C:\\docs\\a.docx",
    ],
)
def test_other_file_urls_are_refused(uri: str) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        validate_file_uri(uri)
    assert info.value.argument == "files"


def test_file_host_allow_list_is_configurable() -> None:
    assert validate_file_uri("https://files.contoso.example/a.docx", ["contoso.example"])
    with pytest.raises(errors.InvalidInputError):
        validate_file_uri("https://contoso.sharepoint.com/a.docx", ["contoso.example"])


def test_chat_body_matches_the_reference_request() -> None:
    body = build_chat_body(
        "Summarize this document for me.",
        time_zone="America/New_York",
        files=["https://contoso.sharepoint.com/sites/Engineering/Shared%20Documents/Specs/Business-Model.docx"],
        web_search=False,
        additional_context=["John Doe's birthday is on January 1st.", {"text": "x", "description": "notes"}],
    )
    assert body.to_wire() == {
        "message": {"text": "Summarize this document for me."},
        "locationHint": {"timeZone": "America/New_York"},
        "additionalContext": [
            {"text": "John Doe's birthday is on January 1st."},
            {"text": "x", "description": "notes"},
        ],
        "contextualResources": {
            "files": [{"uri": "https://contoso.sharepoint.com/sites/Engineering/Shared%20Documents/Specs/Business-Model.docx"}],
            "webContext": {"isWebEnabled": False},
        },
    }


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"message": "   "}, "message"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
        ({"files": ["https://x.sharepoint.com/a"] * 21}, "files"),
        ({"additional_context": [""]}, "additional_context"),
        ({"additional_context": [42]}, "additional_context"),
    ],
)
def test_bad_turn_arguments_name_the_argument(kwargs: dict, argument: str) -> None:
    arguments = {"message": "hi", "time_zone": "UTC", **kwargs}
    with pytest.raises(errors.InvalidInputError) as info:
        build_chat_body(arguments.pop("message"), **arguments)
    assert info.value.argument == argument


def graph_error(code: str, message: str) -> bytes:
    inner = {"request-id": "rid-1", "date": "x"}
    return json.dumps({"error": {"code": code, "message": message, "innerError": inner}}).encode()


def test_error_mapping_per_status() -> None:
    cases = {
        400: errors.BadRequestError,
        401: errors.AuthenticationError,
        403: errors.PermissionDeniedError,
        429: errors.ThrottledError,
        500: errors.ServiceError,
        503: errors.ServiceError,
    }
    for status, kind in cases.items():
        error = error_from_response(status, {}, graph_error("Code", "went wrong"), operation="turn")
        assert type(error) is kind, status
        assert error.request_id == "rid-1"
        assert "went wrong" in str(error)
    for status in (404, 410):
        assert isinstance(error_from_response(status, {}, b"{}", operation="turn"), errors.ConversationNotFoundError)


def test_licence_shapes_seen_in_the_field() -> None:
    conversation = {"id": GUID, "turnCount": 1, "messages": [
        {"text": "hi"}, {"text": "It looks like you don't have a valid license for Microsoft 365 Copilot."}]}
    error = error_from_response(403, {}, json.dumps(conversation).encode())
    assert isinstance(error, errors.LicenseRequiredError) and "valid license" in error.message
    ic3_body = graph_error("internalServerError", "Got Non-2xx response from IC3. Status = 403 (Forbidden)")
    ic3 = error_from_response(500, {}, ic3_body)
    assert isinstance(ic3, errors.LicenseRequiredError) and "Exchange" in ic3.message
    denied = graph_error("Authorization_RequestDenied", "Insufficient privileges")
    plain = error_from_response(403, {"request-id": "h1"}, denied)
    assert type(plain) is errors.PermissionDeniedError
    assert "Sites.Read.All" in plain.hint and plain.request_id == "h1"
    assert "WorkIQAgent.Ask" in error_from_response(403, {}, b"", endpoint_name="workiq").hint


def test_throttle_carries_retry_after_and_claims_are_decoded() -> None:
    error = error_from_response(429, {"retry-after": "7"}, graph_error("TooManyRequests", "slow down"))
    assert error.retry_after == 7 and "Retry after 7 s" in str(error)
    claims = '{"access_token":{"nbf":{"essential":true,"value":"1"}}}'
    header = f'Bearer realm="", error="insufficient_claims", claims="{base64.b64encode(claims.encode()).decode()}"'
    assert parse_claims_challenge(header) == claims
    assert error_from_response(401, {"www-authenticate": header}, b"").claims == claims
    assert parse_claims_challenge('Bearer error="invalid_token"') is None


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("3", now=now) == 3
    assert parse_retry_after("0", now=now) == 0
    assert parse_retry_after("-5", now=now) is None  # no advice: back off, never retry at once
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now=now) == 10
    assert parse_retry_after("Wed, 31 Dec 2025 23:59:00 GMT", now=now) is None
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("inf") is None


def test_errors_never_carry_the_token() -> None:
    expired = graph_error("InvalidAuthenticationToken", "expired")
    error = error_from_response(401, {"authorization": "Bearer SECRET"}, expired)
    assert "SECRET" not in str(error) and "SECRET" not in repr(error.__dict__)


@pytest.mark.parametrize("text", ["travel \udcff", "a\x00b", "bell\x07"])
def test_text_that_cannot_travel_is_refused_before_sending(text: str) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        build_chat_body(text, time_zone="UTC")
    assert info.value.argument == "message"
    with pytest.raises(errors.InvalidInputError) as info:
        build_chat_body("hi", time_zone="UTC", additional_context=[text])
    assert info.value.argument == "additional_context"


def test_tabs_and_line_breaks_are_fine() -> None:
    assert build_chat_body("line one\n\tline two\r\n", time_zone="UTC").message.text.startswith("line one")


def test_a_single_string_where_a_list_is_expected_is_one_item() -> None:
    body = build_chat_body("hi", time_zone="UTC", additional_context="John Doe's birthday is on January 1st.",
                           files=None)
    assert [c.text for c in body.additional_context] == ["John Doe's birthday is on January 1st."]
    assert body.contextual_resources is None


def test_unclosed_entity_tags_are_linear() -> None:
    from copilot_tools.answer import clean_text

    text = "<Person>" * 50_000 + "<Person>John</Person>"
    assert clean_text(text).endswith("<Person>John")  # the pathological input is answered at once
