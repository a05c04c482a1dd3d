"""Property: what users, models and settings pass in is accepted or refused with a CopilotError.

The KQL checker, the id, text, time-zone, file-URL and endpoint validators, and settings read
from environment values take any text; a refusal is always ``InvalidInputError`` (a
``CopilotError``), never a ``ValueError``, ``OSError`` or ``OverflowError`` of their own.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from copilot_tools import CopilotClient, CopilotError
from copilot_tools import _protocol as protocol
from copilot_tools._kql import check_filter
from copilot_tools.settings import Settings
from tests.property.strategies import FAST, hostile_text

HOSTS = ["contoso.sharepoint.com", "evil.com\\.sharepoint.com", "user:pw@contoso.sharepoint.com", "[::1", "[::1]",
         "127.0.0.1", "localhost", "", "xn--e1a.sharepoint.com", "contoso.sharepoint.com.", "\u0430.sharepoint.com"]
PORTS = ["", ":443", ":8080", ":99999", ":-1", ":abc", ":", ":0"]
PATHS = ["", "/", "/beta", "/sites/a.docx", "/a b", "/%00", "/..", "#frag", "?q=1", "\\x", "/\n"]
urls = st.one_of(
    hostile_text,
    st.builds("".join, st.tuples(st.sampled_from(["https://", "http://", "HTTPS://", "ftp://", "//", ""]),
                                 st.sampled_from(HOSTS), st.sampled_from(PORTS), st.sampled_from(PATHS))),
)
KQL_PARTS = ["path:", '"', "https://contoso.sharepoint.com/sites/HR", " AND ", " OR ", "NOT ", "(", ")", "title:",
             "LastModifiedTime>=", "2024-01-01", "author:", "*", "\x00", " ", "filetype:docx", ":", "="]
kql = st.one_of(hostile_text, st.lists(st.sampled_from(KQL_PARTS), max_size=10).map("".join))


def refused_or_accepted(function: object, *args: object, **kwargs: object) -> None:
    try:
        function(*args, **kwargs)  # type: ignore[operator]
    except CopilotError as error:
        str(error).encode("utf-8", "replace")


@FAST
@given(expression=kql, any_property=st.booleans())
def test_kql_filters(expression: str, any_property: bool) -> None:
    refused_or_accepted(check_filter, expression, allow_any_property=any_property)


@FAST
@given(text=hostile_text)
def test_ids_texts_messages_and_time_zones(text: str) -> None:
    refused_or_accepted(protocol.validate_conversation_id, text)
    refused_or_accepted(protocol.validate_text, "query", text)
    refused_or_accepted(protocol.validate_message, text)
    refused_or_accepted(protocol.validate_time_zone, text)


@FAST
@given(url=urls)
@example(url="https://contoso.sharepoint.com:99999/a.docx")
@example(url="http://[::1/beta")
def test_file_urls_and_endpoints(url: str) -> None:
    refused_or_accepted(protocol.validate_file_uri, url)
    refused_or_accepted(protocol.Endpoint.resolve, url)


SETTING_VALUES = st.one_of(hostile_text, st.sampled_from(
    ["inf", "-inf", "nan", "1e309", "0", "-1", "11", "true", "yes", "graph", "workiq", "http://[::1/beta",
     "http://127.0.0.1:8000/beta", "UTC", "localtime", "Europe/Paris", "x" * 5000, "a,b,,c", "1.5"]))


@FAST
@example(environ={"TIMEOUT": "inf"})
@example(environ={"ENDPOINT": "http://[::1/beta"})
@example(environ={"TIME_ZONE": "x" * 300})
@given(environ=st.dictionaries(
    st.sampled_from(["ENDPOINT", "TIME_ZONE", "TIMEOUT", "MAX_RETRIES", "WEB_SEARCH", "FILE_HOSTS",
                     "WORKIQ_CONVERSATIONS_PATH", "TENANT_ID", "CLIENT_ID", "ACCOUNT"]),
    SETTING_VALUES, max_size=5))
def test_settings_from_environment_values(environ: dict[str, str]) -> None:
    env = {f"COPILOT_TOOLS_{name}": value for name, value in environ.items()}
    env["COPILOT_TOOLS_CONFIG"] = "/nonexistent/copilot-tools-property/config.toml"
    try:
        settings = Settings.load(environ=env)
        # What a client does with them on construction: endpoint, time zone, timeouts.
        CopilotClient(settings=settings, token="t").close()
    except CopilotError as error:
        str(error).encode("utf-8", "replace")
