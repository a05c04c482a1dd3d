"""Input validation against the classes of hostile input issue 11 found: every refusal is an
``InvalidInputError`` naming the argument or setting, never a ``ValueError``/``OSError``."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest

from copilot_tools import errors
from copilot_tools._kql import check_filter
from copilot_tools._protocol import (
    Endpoint,
    build_chat_body,
    error_from_response,
    validate_authority_host,
    validate_conversation_id,
    validate_file_uri,
    validate_tenant,
    validate_time_zone,
)
from copilot_tools._redact import redact, redact_handlers
from copilot_tools._retrieval import build_query

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.com\\.sharepoint.com/a.docx",
        "https://evil.com\\@contoso.sharepoint.com/a.docx",
        "https://contoso.sharepoint.com\\..\\evil.com/a.docx",
        "https://contoso.sharepoint.com@evil.com/a.docx",
        "https://@contoso.sharepoint.com/a.docx",
        "https://contoso.sharepoint.com:99999/a.docx",
        "https://contoso.sharepoint.com:abc/a.docx",
        "https://contoso.sharepoint.com:0443/a.docx",
        "https://[::1/a.docx",
        "https://[::1]/a.docx",
        "https://contoso.sharepoint.com\t/a.docx",
        "https://contoso.sharepoint.com/a.docx\x00",
        "https://contoso.sharepoint.com/a\ud83d.docx",
        "HTTPS://contoso.sharepoint.com/a.docx ",
        "https:/contoso.sharepoint.com/a.docx",
        "https:///contoso.sharepoint.com/a.docx",
        "https://contoso.sharepoint.com%2F@evil.com/a.docx",
        "https://contoso.sharepoint.com./../evil.com#/a.docx",
    ],
)
def test_file_urls_that_parsers_could_read_differently_are_refused(uri: str) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        validate_file_uri(uri)
    assert info.value.argument == "files"


@pytest.mark.parametrize(
    "uri",
    [
        "https://contoso.sharepoint.com/:w:/r/sites/Eng/_layouts/15/Doc.aspx?sourcedoc=%7B1%7D&file=a.docx",
        "https://contoso.sharepoint.com:443/sites/Eng/a.docx",
        "https://contoso.sharepoint.com/sites/Eng/Meeting@2pm.docx",
        "https://contoso-my.sharepoint.com/personal/adele/Documents/Übersicht.docx",
    ],
)
def test_plain_file_urls_still_pass(uri: str) -> None:
    assert validate_file_uri(uri) == uri


@pytest.mark.parametrize(
    "endpoint",
    ["http://[::1/beta", "http://127.0.0.1:99999/beta", "http://127.0.0.1:x/beta", "http://evil.com\\@127.0.0.1/beta",
     "http://user:pw@127.0.0.1:8000/beta", "https://graph.microsoft.com/beta?x=1", "https://graph.microsoft.com/beta#x",
     "http://127.0.0.1:8000/be ta", "http://127.0.0.1:8000/be\nta", "https://" + "a" * 3000 + ".com/beta"],
)
def test_broken_endpoints_are_input_errors_naming_the_setting(endpoint: str) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        Endpoint.resolve(endpoint)
    assert info.value.argument == "endpoint"


@pytest.mark.parametrize("path", ["../v1.0/me", "/conversations", "a//b", "conv ersations", "a\nb", "x" * 500, "",
                                  "copilot/../../x", "conversations?x=1"])
def test_workiq_conversations_path_is_validated(path: str) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        Endpoint.resolve("workiq", workiq_conversations_path=path)
    assert info.value.argument == "workiq_conversations_path"


def test_good_workiq_paths_still_work() -> None:
    endpoint = Endpoint.resolve("workiq-beta", workiq_conversations_path="copilot/conversations")
    assert endpoint.conversations_url().endswith("/rest/beta/copilot/conversations")


@pytest.mark.parametrize("bad", ["abc\n", "abc\r\n", "a" * 128 + "\n", "\nabc"])
def test_conversation_ids_with_a_trailing_line_break_are_refused(bad: str) -> None:
    with pytest.raises(errors.InvalidInputError):
        validate_conversation_id(bad)


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "posix/Europe/Paris", "right/UTC",
                                  "Europe/Paris\n", "A" * 5000, "Europe/" + "x" * 5000, "Europe/../../etc/passwd",
                                  "Europe/Paris\x00", "Mars/Base"])
def test_time_zones_that_are_not_iana_names_are_refused(zone: str) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        validate_time_zone(zone)
    assert info.value.argument == "time_zone"


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+5", "EST5EDT"])
def test_real_time_zones_pass(zone: str) -> None:
    assert validate_time_zone(zone) == zone


@pytest.mark.parametrize(
    "context",
    [
        ["x" * 100_001],
        ["x" * 90_000] * 5,
        ["ok"] * 51,
        ["bad \x00 byte"],
        [{"text": "fine", "description": "bad \x1b[31m escape"}],
        [{"text": "fine", "description": "d" * 2000}],
        [{"text": "fine", "description": 5}],
    ],
)
def test_additional_context_is_bounded_and_checked(context: list) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        build_chat_body("hello", time_zone="UTC", additional_context=context)
    assert info.value.argument == "additional_context"


@pytest.mark.parametrize("expression", ["path:\"a\x00b\"", "Title:a\x1b", "Author:" + "x" * 5000])
def test_kql_filters_refuse_control_characters_and_huge_input(expression: str) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        check_filter(expression)
    assert info.value.argument == "filter"


@pytest.mark.parametrize(("argument", "kwargs"), [
    ("connections", {"data_source": "externalItem", "connections": ["a/../b"]}),
    ("connections", {"data_source": "externalItem", "connections": ["x" * 100]}),
    ("metadata", {"metadata": ["title\x00"]}),
    ("metadata", {"metadata": ["t"] * 51}),
])
def test_retrieval_names_are_checked(argument: str, kwargs: dict) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        build_query("budget", **kwargs)
    assert info.value.argument == argument


@pytest.mark.parametrize(
    "body",
    [
        b'{"error": {"code": "BadGateway", "message": "upstream saw Authorization: Bearer ' + TOKEN.encode() + b'"}}',
        b'<html>request headers: {"Authorization": "Bearer opaque-secret-value-123"}</html>',
        b'{"echo": {"headers": [["authorization", "Basic dXNlcjpzZWNyZXQ="]]}}',
    ],
)
def test_an_error_body_echoing_the_authorization_header_never_reaches_the_message(body: bytes) -> None:
    error = error_from_response(502, {}, body)
    assert TOKEN not in error.message
    assert "opaque-secret-value-123" not in error.message
    assert "dXNlcjpzZWNyZXQ=" not in error.message


def test_redaction_covers_header_reprs_from_http_libraries() -> None:
    text = "LocalProtocolError: Illegal header value b'Bearer opaque-token-xyz\\r'"
    assert "opaque-token-xyz" not in redact(text)
    assert "secret-1" not in redact("[(b'authorization', b'secret-1')]")
    assert redact("Authorization required") == "Authorization required"


@pytest.mark.parametrize("tenant", ["evil.com/../x", "a b", "contoso.onmicrosoft.com?x=1", "x" * 300, "ten\nant"])
def test_tenants_that_could_bend_the_sign_in_url_are_refused(tenant: str) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        validate_tenant(tenant)
    assert info.value.argument == "tenant_id"


@pytest.mark.parametrize("authority", ["http://login.example.com", "https://login.example.com\\@evil.com",
                                       "https://user@login.example.com", "https://[::1"])
def test_sign_in_authorities_must_be_plain_https(authority: str) -> None:
    with pytest.raises(errors.InvalidInputError) as info:
        validate_authority_host(authority)
    assert info.value.argument == "authority"


def test_handlers_of_libraries_get_redaction_too() -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    stream = io.StringIO()
    logger = logging.getLogger("tests.redaction")
    # The MCP SDK's own stderr handler renders tracebacks itself.
    handler = RichHandler(console=Console(file=stream, width=400), rich_tracebacks=True)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        redact_handlers(logger)
        redact_handlers(logger)  # once is enough
        try:
            raise ValueError(f"Illegal header value b'Bearer {TOKEN}\\r'")
        except ValueError:
            logger.exception("Error executing tool ask_copilot")
    finally:
        logger.removeHandler(handler)
    assert "Traceback" in stream.getvalue() and TOKEN not in stream.getvalue()
    assert len(handler.filters) == 1


def test_allowed_hosts_and_origins_follow_the_bind_address() -> None:
    from copilot_tools.mcp.http_security import derive

    loopback = derive("127.0.0.2", 8765)
    assert loopback.host_allowed("127.0.0.2:8765") and loopback.host_allowed("localhost:8765")
    assert not loopback.host_allowed("127.0.0.2:9999") and not loopback.host_allowed("evil.example:8765")
    assert loopback.origin_allowed(None) and loopback.origin_allowed("http://localhost:6274")
    assert not loopback.origin_allowed("https://evil.example") and not loopback.origin_allowed("http://localhost:x")

    public = derive("0.0.0.0", 8765, resource_url="https://mcp.contoso.com/mcp", allowed_origins=["https://app.x.com"])
    assert public.host_allowed("mcp.contoso.com") and public.host_allowed("mcp.contoso.com:443")
    assert not public.host_allowed("0.0.0.0:8765") and not public.host_allowed("10.0.0.5:8765")
    assert public.origin_allowed("https://mcp.contoso.com") and public.origin_allowed("https://app.x.com")
    assert not public.origin_allowed("http://localhost:3000") and not public.origin_allowed("https://mcp.contoso.com.evil")


@pytest.mark.parametrize("call", [
    lambda long: validate_conversation_id(long),
    lambda long: validate_time_zone(long),
    lambda long: build_query("q", data_source=long),
])
def test_a_long_argument_is_quoted_cut_in_the_error(call: Any) -> None:
    with pytest.raises(errors.InvalidInputError) as caught:
        call("x" * 1_000_000)
    assert len(str(caught.value)) < 500 and "…" in str(caught.value)
