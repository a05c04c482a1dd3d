"""On-behalf-of against the stand-in: exchange, per-user caching, isolation, errors."""

from __future__ import annotations

import json
import threading
import time

import pytest

from copilot_tools.auth.errors import ConsentRequiredError
from copilot_tools.auth.obo import OnBehalfOfProvider
from copilot_tools.auth.scopes import scopes_for_endpoint
from copilot_tools.errors import AuthenticationError
from tests.auth.idp import OBO_GRANT, decode_jwt

SERVER_APP = "11111111-2222-3333-4444-555555555555"
SECRET = "server-secret-value"
TENANT = "72f988bf-0000-4000-8000-000000000001"
ADELE = "adele.vance@contoso.com"
JOHN = "john.doe@contoso.com"


@pytest.fixture
def obo(idp, ca_file):
    idp.obo_clients[SERVER_APP] = SECRET
    return OnBehalfOfProvider(
        client_id=SERVER_APP, client_credential=SECRET, tenant_id=TENANT,
        scopes=["https://graph.microsoft.com/.default"], authority_host=idp.base_url, ca_bundle=ca_file,
    )


def test_exchanges_the_users_token_for_a_graph_token(idp, obo):
    incoming = idp.user_token(ADELE)
    token = obo.for_user(incoming).get_token()

    payload = decode_jwt(token)
    assert payload["preferred_username"] == ADELE and payload["aud"] == "https://graph.microsoft.com"
    assert payload["oid"] == idp.users[ADELE].oid
    request = idp.token_requests(OBO_GRANT)[-1]
    assert request.form["assertion"] == incoming
    assert request.form["requested_token_use"] == "on_behalf_of"
    assert request.form["client_secret"] == SECRET
    assert request.claims == {"access_token": {"xms_cc": {"values": ["CP1"]}}}
    assert "https://graph.microsoft.com/.default" in request.form["scope"].split()
    assert token not in repr(obo) and incoming not in repr(obo.for_user(incoming))


def test_caches_per_user_until_shortly_before_expiry(idp, obo):
    adele = idp.user_token(ADELE)
    first = obo.exchange(adele)
    assert obo.exchange(adele) == first
    assert obo.for_user(adele).get_token() == first
    assert obo.exchanges == 1 and len(obo) == 1

    # Inside the expiry margin: exchanged again.
    idp.token_lifetime = 200  # < the 300 s margin: never cached
    fresh = idp.user_token(ADELE)
    obo.forget(adele)
    one = obo.exchange(fresh)
    two = obo.exchange(fresh)
    assert one != two and obo.exchanges == 3


def test_users_never_share_tokens(idp, obo):
    adele, john = idp.user_token(ADELE), idp.user_token(JOHN)
    adele_token = obo.exchange(adele)
    john_token = obo.exchange(john)
    assert decode_jwt(adele_token)["preferred_username"] == ADELE
    assert decode_jwt(john_token)["preferred_username"] == JOHN
    assert obo.exchange(adele) == adele_token and obo.exchange(john) == john_token
    assert obo.exchanges == 2 and len(obo) == 2


def test_a_forged_token_claiming_a_cached_user_goes_to_the_identity_provider(idp, obo):
    adele = idp.user_token(ADELE)
    cached = obo.exchange(adele)
    # Same tid and oid, but not the token that was exchanged: no cache hit.
    forged = idp.user_token(ADELE)
    assert forged != adele
    other = obo.exchange(forged)
    assert other != cached and obo.exchanges == 2
    # The newest exchange replaces the user's entry: still one entry per user.
    assert len(obo) == 1


def test_scopes_are_part_of_the_key(idp, ca_file, obo):
    adele = idp.user_token(ADELE)
    graph = obo.exchange(adele)
    workiq = OnBehalfOfProvider(
        client_id=SERVER_APP, client_credential=SECRET, tenant_id=TENANT,
        scopes=scopes_for_endpoint("workiq"), authority_host=idp.base_url, ca_bundle=ca_file,
    )
    other = workiq.exchange(adele)
    assert decode_jwt(other)["aud"] == "api://workiq.svc.cloud.microsoft"
    assert decode_jwt(graph)["aud"] == "https://graph.microsoft.com"


def test_concurrent_requests_of_one_user_exchange_once(idp, obo):
    adele = idp.user_token(ADELE)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(obo.exchange(adele))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(set(results)) == 1 and obo.exchanges == 1


def test_force_refresh_and_claims_bypass_the_cache(idp, obo):
    adele = idp.user_token(ADELE)
    provider = obo.for_user(adele)
    first = provider.get_token()
    assert provider.get_token(force_refresh=True) != first
    challenge = json.dumps({"access_token": {"nbf": {"essential": True, "value": str(int(time.time()))}}})
    third = provider.get_token(claims=challenge)
    assert decode_jwt(third)["satisfied_claims"]["nbf"]["essential"] is True
    assert idp.token_requests(OBO_GRANT)[-1].claims["access_token"]["xms_cc"] == {"values": ["CP1"]}
    assert obo.exchanges == 3


def test_mfa_challenge_is_returned_with_claims_for_the_client(idp, obo):
    idp.obo_challenge_users.add(ADELE)
    with pytest.raises(AuthenticationError) as info:
        obo.exchange(idp.user_token(ADELE))
    assert json.loads(info.value.claims)["access_token"]["capolids"]["values"] == ["c1"]
    assert len(obo) == 0


def test_expired_assertion_and_bad_secret_are_authentication_errors(idp, obo, ca_file):
    with pytest.raises(AuthenticationError, match="AADSTS500133"):
        obo.exchange(idp.user_token(ADELE, lifetime=-10))
    wrong = OnBehalfOfProvider(
        client_id=SERVER_APP, client_credential="wrong", tenant_id=TENANT,
        scopes=["https://graph.microsoft.com/.default"], authority_host=idp.base_url, ca_bundle=ca_file,
    )
    with pytest.raises(AuthenticationError, match="AADSTS7000215"):
        wrong.exchange(idp.user_token(ADELE))
    with pytest.raises(AuthenticationError, match="No user token"):
        obo.exchange("")


def test_consent_missing_is_a_consent_error(idp, obo, monkeypatch):
    def refuse(*args, **kwargs):
        return {
            "error": "invalid_grant",
            "error_description": "AADSTS65001: The user or administrator has not consented.",
            "error_codes": [65001],
            "suberror": "consent_required",
        }

    monkeypatch.setattr(obo.app, "acquire_token_on_behalf_of", refuse)
    with pytest.raises(ConsentRequiredError, match="consented") as info:
        obo.exchange(idp.user_token(ADELE))
    assert f"{TENANT}/adminconsent?client_id={SERVER_APP}" in info.value.hint


def test_bounded_cache_drops_the_least_recently_used(idp, obo):
    obo.max_entries = 2
    tokens = [idp.user_token(f"user{i}@contoso.com") for i in range(3)]
    for token in tokens:
        obo.exchange(token)
    assert len(obo) == 2
    obo.exchange(tokens[2])
    assert obo.exchanges == 3
    obo.exchange(tokens[0])
    assert obo.exchanges == 4


def test_nothing_is_kept_inside_msal(idp, obo):
    obo.exchange(idp.user_token(ADELE))
    assert obo.app.token_cache.search("AccessToken", query={}) is not None
    assert list(obo.app.token_cache.search("AccessToken", query={})) == []
    assert list(obo.app.token_cache.search("RefreshToken", query={})) == []


async def test_async_exchange(idp, obo):
    token = await obo.for_user(idp.user_token(ADELE)).aget_token()
    assert decode_jwt(token)["preferred_username"] == ADELE
