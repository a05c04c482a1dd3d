"""Scopes, the factory, the azure.core adapter, JWT display, redaction, start-up cost."""

from __future__ import annotations

import io
import logging
import time

import pytest

from copilot_tools.auth import StaticTokenProvider, provider_from_settings
from copilot_tools.auth.device_flow import BackgroundDeviceFlowProvider
from copilot_tools.auth.jwt_display import decode_payload, describe_token
from copilot_tools.auth.public import MsalTokenProvider
from copilot_tools.auth.scopes import (
    GRAPH_DEFAULT_CLIENT_ID,
    WORKIQ_DEFAULT_CLIENT_ID,
    default_client_id,
    endpoint_kind,
    scopes_for_endpoint,
)
from copilot_tools.errors import AuthenticationError
from copilot_tools._redact import RedactingFilter, install_redaction, redact
from copilot_tools.settings import Settings
from tests.auth.idp import make_jwt
from tests.conftest import run_python


def test_scopes_per_endpoint():
    graph = scopes_for_endpoint("graph")
    assert graph == [
        f"https://graph.microsoft.com/{p}" for p in (
            "Sites.Read.All", "Mail.Read", "People.Read.All", "OnlineMeetingTranscript.Read.All",
            "Chat.Read", "ChannelMessage.Read.All", "ExternalItem.Read.All", "Files.Read.All")
    ]
    assert scopes_for_endpoint("workiq") == ["api://workiq.svc.cloud.microsoft/WorkIQAgent.Ask"]
    assert scopes_for_endpoint("https://graph.microsoft.us/beta")[0].startswith("https://graph.microsoft.us/")
    assert scopes_for_endpoint("https://workiq.svc.cloud.microsoft/rest/beta") == scopes_for_endpoint("workiq")
    assert scopes_for_endpoint("http://127.0.0.1:8000/beta") == []
    assert scopes_for_endpoint("graph", default_scope=True) == ["https://graph.microsoft.com/.default"]
    assert endpoint_kind("http://localhost:9/beta") == "emulator"
    assert endpoint_kind("http://[::1]:9/beta") == "emulator"
    assert endpoint_kind("https://127.0.0.1:9/beta") != "emulator"
    assert default_client_id("graph") == GRAPH_DEFAULT_CLIENT_ID
    assert default_client_id("workiq") == WORKIQ_DEFAULT_CLIENT_ID


def test_factory_picks_the_source():
    static = provider_from_settings(Settings.load({"access_token": "abc"}), interactive=False)
    assert isinstance(static, StaticTokenProvider) and static.get_token() == "abc"
    emulator = provider_from_settings(Settings.load({"endpoint": "http://127.0.0.1:8000/beta"}), interactive=False)
    assert isinstance(emulator, StaticTokenProvider) and emulator.get_token() == "emulator"
    workiq = Settings.load({"endpoint": "workiq", "tenant_id": "contoso.com"})
    server = provider_from_settings(workiq, interactive=False)
    assert isinstance(server, BackgroundDeviceFlowProvider)
    assert server.provider.scopes == scopes_for_endpoint("workiq")
    assert server.provider.client_id == WORKIQ_DEFAULT_CLIENT_ID
    assert server.provider.authority == "https://login.microsoftonline.com/contoso.com"
    own_app = "0b8e5d3c-1f2a-4b6c-9d7e-8f9a0b1c2d3e"
    cli = provider_from_settings(Settings.load({"client_id": own_app, "account": "a@b.c"}), interactive=True)
    assert isinstance(cli, MsalTokenProvider) and cli.interaction == "auto"
    assert cli.client_id == own_app and cli.username == "a@b.c" and cli.tenant == "organizations"


def test_the_admin_consent_link_quotes_what_it_is_given():
    from copilot_tools.auth.scopes import admin_consent_url

    url = admin_consent_url("x&redirect_uri=https://evil.example#", "contoso.com/../evil?")
    assert url == ("https://login.microsoftonline.com/contoso.com%2F..%2Fevil%3F/adminconsent"
                   "?client_id=x%26redirect_uri%3Dhttps%3A%2F%2Fevil.example%23")
    assert admin_consent_url(GRAPH_DEFAULT_CLIENT_ID, "organizations").endswith(
        f"/{{your-tenant-id}}/adminconsent?client_id={GRAPH_DEFAULT_CLIENT_ID}")


def test_factory_reads_the_hidden_settings(monkeypatch):
    monkeypatch.setenv("COPILOT_TOOLS_AUTHORITY", "https://login.microsoftonline.us/")
    monkeypatch.setenv("COPILOT_TOOLS_SCOPES", "https://graph.microsoft.us/.default, x")
    provider = provider_from_settings(Settings.load({}), interactive=True)
    assert provider.authority == "https://login.microsoftonline.us/organizations"
    assert provider.scopes == ["https://graph.microsoft.us/.default", "x"]


def test_importing_auth_does_not_import_msal():
    code = (
        "import sys, copilot_tools.auth as a; a.provider_from_settings; a.MsalTokenProvider; "
        "import copilot_tools.cli.auth; assert 'msal' not in sys.modules, 'msal imported'; "
        "assert 'msal_extensions' not in sys.modules; assert 'requests' not in sys.modules"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr


class FakeAccessToken:
    def __init__(self, token, expires_on):
        self.token, self.expires_on = token, expires_on


class FakeCredential:
    def __init__(self):
        self.calls = []

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        self.calls.append({"scopes": scopes, "claims": claims, "enable_cae": enable_cae, "tenant_id": tenant_id})
        return FakeAccessToken(f"tok-{len(self.calls)}", time.time() + 3600)


def test_azure_token_credential_adapter():
    azure = pytest.importorskip("azure.core.credentials")
    from copilot_tools.auth.credential import CredentialTokenProvider

    credential = FakeCredential()
    assert isinstance(credential, azure.TokenCredential)
    provider = CredentialTokenProvider(credential)
    assert provider.get_token() == "tok-1"
    assert provider.get_token() == "tok-1"  # reused until near expiry
    assert credential.calls[0]["scopes"] == ("https://graph.microsoft.com/.default",)
    assert credential.calls[0]["enable_cae"] is True
    assert provider.get_token(force_refresh=True) == "tok-2"
    assert provider.get_token(claims='{"access_token":{}}') == "tok-3"
    assert credential.calls[-1]["claims"] == '{"access_token":{}}'


def test_azure_credential_with_token_info_and_errors():
    pytest.importorskip("azure.core")
    from azure.core.credentials import AccessTokenInfo
    from azure.core.exceptions import ClientAuthenticationError

    from copilot_tools.auth.credential import CredentialTokenProvider

    class InfoCredential:
        def __init__(self):
            self.options = None

        def get_token(self, *scopes, **kwargs):  # pragma: no cover - get_token_info is preferred
            raise AssertionError

        def get_token_info(self, *scopes, options=None):
            self.options = options
            return AccessTokenInfo("info-token", int(time.time()) + 3600)

    credential = InfoCredential()
    provider = CredentialTokenProvider(credential, endpoint="workiq", tenant_id="t1")
    assert provider.get_token() == "info-token"
    assert credential.options == {"enable_cae": True, "tenant_id": "t1"}
    assert provider.scopes == ["api://workiq.svc.cloud.microsoft/.default"]

    class Failing:
        def get_token(self, *scopes, **kwargs):
            raise ClientAuthenticationError("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig rejected")

    with pytest.raises(AuthenticationError) as info:
        CredentialTokenProvider(Failing()).get_token()
    assert "eyJ" not in str(info.value)


async def test_async_azure_credential():
    from copilot_tools.auth.credential import CredentialTokenProvider

    class AsyncCredential:
        async def get_token(self, *scopes, **kwargs):
            return FakeAccessToken("async-token", time.time() + 3600)

    provider = CredentialTokenProvider(AsyncCredential())
    assert await provider.aget_token() == "async-token"
    with pytest.raises(TypeError, match="async"):
        CredentialTokenProvider(AsyncCredential()).get_token()


def test_jwt_display_never_verifies_and_tolerates_opaque_tokens():
    token = make_jwt({"preferred_username": "a@b.c", "tid": "t", "scp": "Mail.Read Chat.Read", "exp": 2_000_000_000,
                      "xms_cc": ["CP1"], "aud": "https://graph.microsoft.com"})
    details = describe_token(token)
    assert details["username"] == "a@b.c" and details["scopes"] == ["Mail.Read", "Chat.Read"]
    assert details["cae"] is True and details["expires_at"].startswith("2033-")
    assert token not in str(details)
    assert decode_payload("opaque-token") is None
    assert describe_token("0.AXoA-opaque")["is_jwt"] is False


SAMPLES = [
    "Authorization: Bearer eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",
    "token eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl in text",
    '{"access_token": "abc.def.ghi", "refresh_token": "0.AXoAxyz-opaque-refresh-token-value-1234567890"}',
    "grant_type=refresh_token&refresh_token=0.AXoAsomething_long_enough_to_matter_1234567890&client_id=x",
    "client_secret=s3cr3t-value&assertion=abc",
    "device_code=DAQABAAEAAAAm-long&code_verifier=verifier-value",
    "code=0.AXoAform-posted-code&state=abc",
    "https://localhost:8400/?code=0.AXoAcode-value&state=1",
    "authorization: Basic dXNlcjpwYXNzd29yZA==",
]
SECRETS = ["eyJzdWIiOiIxMjMifQ", "abc.def.ghi", "0.AXoAxyz", "0.AXoAsomething", "s3cr3t-value", "DAQABAAEAAAAm",
           "verifier-value", "0.AXoAcode", "0.AXoAform", "dXNlcjpwYXNzd29yZA"]


def test_redaction_removes_every_token_shape():
    for sample in SAMPLES:
        cleaned = redact(sample)
        for secret in SECRETS:
            assert secret not in cleaned, (sample, cleaned)


def test_redacting_twice_changes_nothing():
    """A service error's message is redacted when built and again when shown: no "[redacted]]"."""
    for sample in [*SAMPLES, "Cookie: a=b, c", "(b'authorization', b'Bearer x')", '"x-api-key": "k"']:
        once = redact(sample)
        assert redact(once) == once, (sample, once)


def test_a_run_of_jwt_starts_is_redacted_in_linear_time():
    """An error body is redacted whenever the error is built. ``eyJ-eyJ-…`` was quadratic: 64 KB of it took
    a second, so the 1 MB here would have taken minutes (past the suite's timeout); it is answered at once."""
    token = "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"
    hostile = "eyJ-" * 262_144
    assert redact(hostile) == hostile
    assert redact(f"{hostile}{token} x-{token} éeyJ-{token}") == (
        "[redacted-jwt] x-[redacted-jwt] éeyJ-[redacted-jwt]")


def test_logs_are_redacted_including_arguments_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    install_redaction(handler)
    logger = logging.getLogger("copilot_tools.test_redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        token = make_jwt({"sub": "x"})
        logger.info("calling with %s", f"Bearer {token}")
        logger.debug("body %r", {"refresh_token": "0.AXoAsecret-refresh-token-abcdefghijklmnop"})
        try:
            raise ValueError(f"rejected {token}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert token not in output and token.split(".")[1] not in output
    assert "secret-refresh" not in output
    assert "[redacted" in output and "Traceback" in output
    assert isinstance(handler.filters[0], RedactingFilter)


def test_no_token_in_reprs_or_errors(idp, make_provider, prompts):
    prompts.approve_as = "adele@contoso.com"
    provider = make_provider()
    token = provider.get_token()
    assert token not in repr(provider) and token not in repr(vars(provider))
    assert "eyJ" not in repr(StaticTokenProvider(token))
    idp.revoke_refresh_tokens("adele@contoso.com")
    with pytest.raises(AuthenticationError) as info:
        make_provider(interaction="none").get_token(force_refresh=True)
    assert "eyJ" not in str(info.value) and "0.A" not in str(info.value)


@pytest.mark.parametrize("token", ["eyJsecret.part.sig\n", "eyJsecret\x00part", "eyJsecret\u2013part"])
def test_a_static_token_that_cannot_travel_in_a_header_is_refused_without_quoting_it(token: str) -> None:
    with pytest.raises(AuthenticationError) as info:
        StaticTokenProvider(token)
    assert "secret" not in str(info.value) and info.value.__context__ is None
