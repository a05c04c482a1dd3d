"""MsalTokenProvider against the stand-in: device code, silent refresh, claims, accounts."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from copilot_tools.auth.errors import ConsentRequiredError, SignInFailedError
from copilot_tools.auth.jwt_display import decode_payload
from copilot_tools.errors import AuthenticationError
from tests.auth.conftest import CLIENT_ID, GRAPH_SCOPES
from tests.auth.idp import DEVICE_GRANT, decode_jwt

ADELE = "adele.vance@contoso.com"
JOHN = "john.doe@contoso.com"


def test_device_code_flow_end_to_end(idp, make_provider, prompts, cache_file):
    prompts.approve_as = ADELE
    provider = make_provider()

    token = provider.get_token()

    assert len(prompts) == 1
    code = prompts[0]
    assert code.verification_uri == f"{idp.base_url}/devicelogin"
    assert code.user_code in code.message
    payload = decode_jwt(token)
    assert payload["preferred_username"] == ADELE
    assert payload["aud"] == "https://graph.microsoft.com"
    assert set(payload["scp"].split()) == {s.rsplit("/", 1)[1] for s in GRAPH_SCOPES}
    # CP1 is declared on every request: the device-code and token requests carry xms_cc.
    devicecode = next(r for r in idp.requests if r.path.endswith("/devicecode"))
    assert devicecode.claims == {"access_token": {"xms_cc": {"values": ["CP1"]}}}
    assert set(devicecode.form["scope"].split()) >= set(GRAPH_SCOPES) | {"offline_access", "openid", "profile"}
    assert payload["xms_cc"] == ["CP1"]
    redeemed = idp.token_requests(DEVICE_GRANT)
    assert redeemed[-1].form["client_id"] == CLIENT_ID
    # The second call is silent: no new request reaches the identity provider.
    before = len(idp.token_requests())
    assert provider.get_token() == token
    assert len(idp.token_requests()) == before
    assert [a.username for a in provider.accounts()] == [ADELE]


def test_device_code_polls_until_approved(idp, make_provider, prompts):
    import threading

    provider = make_provider()

    def approve_later():
        while not prompts:
            time.sleep(0.01)
        time.sleep(0.1)
        idp.approve(prompts[0].user_code, ADELE)

    threading.Thread(target=approve_later, daemon=True).start()
    token = provider.get_token()
    assert decode_jwt(token)["preferred_username"] == ADELE
    assert len(idp.token_requests(DEVICE_GRANT)) >= 2  # at least one "authorization_pending"


def test_declined_and_expired_device_codes_are_typed(idp, make_provider, prompts):
    provider = make_provider()
    prompts.approve_as = None

    def decline(code):
        prompts.append(code)
        idp.decline(code.user_code)

    provider._prompt = decline
    with pytest.raises(SignInFailedError, match="declined"):
        provider.get_token()

    idp.device_code_lifetime = 0
    with pytest.raises(SignInFailedError, match="expired"):
        provider.get_token()


def test_cache_survives_a_restart_with_private_permissions(idp, make_provider, prompts, cache_file):
    prompts.approve_as = ADELE
    token = make_provider().get_token()

    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_file.parent.stat().st_mode) == 0o700
    assert token not in os.listdir(cache_file.parent)
    # A new process: a new provider over the same file, no sign-in, no network.
    before = len(idp.token_requests())
    restarted = make_provider(interaction="none")
    assert restarted.get_token() == token
    assert len(idp.token_requests()) == before
    assert len(prompts) == 1


def test_silent_refresh_after_expiry_is_written_back(idp, make_provider, prompts):
    prompts.approve_as = ADELE
    idp.token_lifetime = 120  # under MSAL's five-minute margin: stale at once
    first = make_provider().get_token()
    idp.token_lifetime = 3600

    refreshed = make_provider(interaction="none").get_token()

    assert refreshed != first
    assert len(idp.token_requests("refresh_token")) == 1
    assert decode_jwt(refreshed)["preferred_username"] == ADELE
    # Written back: yet another "restart" finds the refreshed token without a request.
    before = len(idp.token_requests())
    assert make_provider(interaction="none").get_token() == refreshed
    assert len(idp.token_requests()) == before


def test_force_refresh_uses_the_refresh_token(idp, make_provider, prompts):
    prompts.approve_as = ADELE
    provider = make_provider()
    first = provider.get_token()
    second = provider.get_token(force_refresh=True)
    assert second != first
    assert len(idp.token_requests("refresh_token")) == 1


def test_claims_challenge_reacquires_with_the_claims_and_cp1(idp, make_provider, prompts):
    prompts.approve_as = ADELE
    provider = make_provider()
    old = provider.get_token()
    challenge = json.dumps({"access_token": {"nbf": {"essential": True, "value": str(int(time.time()))}}})

    new = provider.get_token(claims=challenge)

    assert new != old
    request = idp.token_requests("refresh_token")[-1]
    assert request.claims["access_token"]["xms_cc"] == {"values": ["CP1"]}
    assert request.claims["access_token"]["nbf"]["essential"] is True
    assert decode_jwt(new)["satisfied_claims"]["nbf"]["essential"] is True
    # And the new token replaced the revoked one in the cache.
    assert provider.get_token() == new


def test_claims_challenge_needing_the_user_signs_in_again_with_the_claims(idp, make_provider, prompts):
    prompts.approve_as = ADELE
    provider = make_provider()
    provider.get_token()
    idp.claims_mode = "interaction_required"
    challenge = json.dumps({"access_token": {"acrs": {"essential": True, "value": "c1"}}})

    new = provider.get_token(claims=challenge)

    assert len(prompts) == 2
    devicecode = [r for r in idp.requests if r.path.endswith("/devicecode")][-1]
    assert devicecode.claims["access_token"]["acrs"] == {"essential": True, "value": "c1"}
    assert devicecode.claims["access_token"]["xms_cc"] == {"values": ["CP1"]}
    assert decode_jwt(new)["satisfied_claims"]["acrs"]["value"] == "c1"


def test_non_interactive_provider_reports_the_claims(idp, make_provider, prompts):
    prompts.approve_as = ADELE
    make_provider().get_token()
    idp.claims_mode = "interaction_required"
    challenge = json.dumps({"access_token": {"acrs": {"essential": True, "value": "c1"}}})
    with pytest.raises(AuthenticationError) as info:
        make_provider(interaction="none").get_token(claims=challenge)
    assert info.value.claims


def test_revoked_refresh_token_is_not_signed_in(idp, make_provider, prompts):
    prompts.approve_as = ADELE
    make_provider().get_token(force_refresh=False)
    idp.revoke_refresh_tokens(ADELE)
    with pytest.raises(AuthenticationError, match="expired|no longer valid|AADSTS700082"):
        make_provider(interaction="none").get_token(force_refresh=True)


def test_not_signed_in_without_interaction(make_provider):
    with pytest.raises(AuthenticationError, match="Not signed in"):
        make_provider(interaction="none").get_token()


def test_consent_errors_point_to_admin_consent(idp, make_provider):
    idp.devicecode_error = {
        "error": "invalid_grant",
        "error_description": "AADSTS65001: The user or administrator has not consented to use the application.",
        "error_codes": [65001],
    }
    with pytest.raises(ConsentRequiredError) as info:
        make_provider(tenant="contoso.onmicrosoft.com").get_token()
    assert "adminconsent?client_id=" + CLIENT_ID in info.value.hint
    assert "contoso.onmicrosoft.com" in info.value.hint
    assert info.value.kind == "permission_denied"
    assert isinstance(info.value, AuthenticationError)


# ------------------------------------------------------------------ accounts


def _sign_in(make_provider, prompts, username, **kwargs):
    prompts.approve_as = username
    provider = make_provider(**kwargs)
    provider.login(device_code=True)
    return provider


def test_accounts_choose_list_and_sign_out(idp, make_provider, prompts):
    _sign_in(make_provider, prompts, ADELE)
    _sign_in(make_provider, prompts, JOHN)
    provider = make_provider(interaction="none")

    listed = provider.accounts()
    assert [a.username for a in listed] == [ADELE, JOHN]
    # The last sign-in is the default account.
    assert [a.username for a in listed if a.is_default] == [JOHN]
    assert decode_jwt(provider.get_token())["preferred_username"] == JOHN
    # Choose by username, case-insensitively.
    adele = make_provider(interaction="none", account=ADELE.upper())
    assert decode_jwt(adele.get_token())["preferred_username"] == ADELE

    assert provider.sign_out(JOHN) == [JOHN]
    after = make_provider(interaction="none")
    assert [a.username for a in after.accounts()] == [ADELE]
    # One account left: it is used.
    assert decode_jwt(after.get_token())["preferred_username"] == ADELE
    assert after.sign_out(all_accounts=True) == [ADELE]
    assert make_provider(interaction="none").accounts() == []
    data = json.loads(Path(os.environ["COPILOT_TOOLS_TOKEN_CACHE"]).read_text())
    assert not data.get("RefreshToken") and not data.get("AccessToken") and not data.get("Account")


def test_several_accounts_without_a_default_must_be_chosen(idp, make_provider, prompts):
    from copilot_tools.auth.cache import write_state

    _sign_in(make_provider, prompts, ADELE)
    _sign_in(make_provider, prompts, JOHN)
    provider = make_provider(interaction="none")
    write_state(provider.token_cache, default_account=None)
    with pytest.raises(AuthenticationError, match="Several accounts"):
        provider.get_token()


def test_unknown_configured_account_is_not_signed_in(idp, make_provider, prompts):
    _sign_in(make_provider, prompts, ADELE)
    with pytest.raises(AuthenticationError, match="Not signed in as nobody@contoso.com"):
        make_provider(interaction="none", account="nobody@contoso.com").get_token()


def test_signing_in_as_another_account_than_asked_is_refused(idp, make_provider, prompts):
    prompts.approve_as = JOHN
    with pytest.raises(SignInFailedError, match="asked for"):
        make_provider(account=ADELE).get_token()


def test_cached_token_info_for_whoami(idp, make_provider, prompts):
    provider = _sign_in(make_provider, prompts, ADELE)
    info = provider.cached_token_info()
    assert info["username"] == ADELE
    assert info["tenant_id"] == idp.users[ADELE].tid
    assert set(info["scopes"]) == {s.rsplit("/", 1)[1] for s in GRAPH_SCOPES}
    assert info["expired"] is False and info["refreshable"] is True and info["cae"] is True
    assert not any(isinstance(v, str) and decode_payload(v) for v in info.values())


def test_browser_sign_in_with_pkce(idp, make_provider, prompts, monkeypatch):
    """The browser path end to end: a scripted browser follows the authorize URL and
    posts the code back to MSAL's loopback listener (form_post), PKCE checked by the stand-in."""
    import ssl
    import threading
    import urllib.parse
    import urllib.request
    import webbrowser

    context = ssl.create_default_context(cafile=make_provider().__dict__["_ca_bundle"])
    opened: list[str] = []

    class ScriptedBrowser(webbrowser.BaseBrowser):
        def open(self, url, new=0, autoraise=True):
            opened.append(url)

            def follow():
                with urllib.request.urlopen(url, context=context) as response:
                    answer = json.loads(response.read())
                body = urllib.parse.urlencode({"code": answer["code"], "state": answer["state"]}).encode()
                urllib.request.urlopen(urllib.request.Request(answer["redirect_uri"], data=body), timeout=5).read()

            threading.Thread(target=follow, daemon=True).start()
            return True

    monkeypatch.setattr(webbrowser, "open", ScriptedBrowser().open)
    idp.browser_user = ADELE
    provider = make_provider(interaction="browser", login_timeout=20)
    token = provider.get_token()
    assert decode_jwt(token)["preferred_username"] == ADELE
    assert opened and "code_challenge=" in opened[0] and "response_mode=form_post" in opened[0]
    assert prompts == []
    assert idp.token_requests("authorization_code")
