"""What the clients send again, and what they never send twice (respx, no network)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from copilot_tools import (
    AsyncCopilotClient,
    AuthenticationError,
    CopilotClient,
    ServiceError,
    ThrottledError,
    TransportError,
)

BASE = "https://graph.microsoft.com/beta"
CID = "0d110e7e-2b7e-4270-a899-fd2af6fde333"
CREATE = f"{BASE}/copilot/conversations"
CHAT = f"{BASE}/copilot/conversations/{CID}/chat"
REPLY = {
    "id": CID, "turnCount": 1, "state": "active",
    "messages": [{"id": "p", "text": "hi"}, {"id": "r", "text": "Hello[^1^]", "attributions": [
        {"attributionType": "citation", "attributionSource": "model", "providerDisplayName": "Doc", "seeMoreWebUrl": "https://x/doc"}]}],
}


class CountingProvider:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def get_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
        self.calls.append({"claims": claims, "force_refresh": force_refresh})
        return f"token-{len(self.calls)}"


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("copilot_tools.client.time.sleep", lambda seconds: None)


def client(**kwargs) -> CopilotClient:
    kwargs.setdefault("token", "t")
    return CopilotClient(base_url=BASE, time_zone="UTC", **kwargs)


@respx.mock
def test_create_is_retried_on_503_and_429() -> None:
    route = respx.post(CREATE).mock(side_effect=[
        httpx.Response(503), httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(201, json={"id": CID}),
    ])
    with client() as c:
        assert c.create_conversation().id == CID
    assert route.call_count == 3
    assert route.calls[-1].request.headers["Retry-Attempt"] == "2"
    ids = {call.request.headers["client-request-id"] for call in route.calls}
    assert len(ids) == 3


@respx.mock
def test_a_chat_turn_is_never_resent_after_a_5xx_or_read_timeout() -> None:
    route = respx.post(CHAT).mock(side_effect=[httpx.Response(503, json={"error": {"code": "x", "message": "down"}})])
    with client() as c, pytest.raises(ServiceError):
        c.chat(CID, "hi")
    assert route.call_count == 1
    route.reset()
    route.mock(side_effect=httpx.ReadTimeout("slow"))
    with client() as c, pytest.raises(TransportError) as info:
        c.chat(CID, "hi")
    assert route.call_count == 1
    assert "may have processed" in info.value.message


@respx.mock
def test_a_chat_turn_is_retried_on_429_and_before_it_was_sent() -> None:
    route = respx.post(CHAT).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.ConnectError("refused"),
        httpx.Response(200, json=REPLY),
    ])
    with client() as c:
        answer = c.chat(CID, "hi")
    assert route.call_count == 3
    assert answer.text == "Hello[1]" and answer.citations[0].url == "https://x/doc"


@respx.mock
def test_a_long_retry_after_surfaces_the_throttle_instead_of_sleeping() -> None:
    respx.post(CHAT).mock(return_value=httpx.Response(429, headers={"Retry-After": "600"}))
    with client() as c, pytest.raises(ThrottledError) as info:
        c.chat(CID, "hi")
    assert info.value.retry_after == 600


@respx.mock
def test_retries_stop_after_max_retries() -> None:
    route = respx.post(CREATE).mock(return_value=httpx.Response(429, headers={"Retry-After": "0"}))
    with client(max_retries=2) as c, pytest.raises(ThrottledError):
        c.create_conversation()
    assert route.call_count == 3


@respx.mock
def test_a_plain_401_refreshes_the_token_once() -> None:
    provider = CountingProvider()
    route = respx.post(CHAT).mock(side_effect=[httpx.Response(401), httpx.Response(200, json=REPLY)])
    with client(token=None, token_provider=provider) as c:
        c.chat(CID, "hi")
    assert provider.calls == [{"claims": None, "force_refresh": False}, {"claims": None, "force_refresh": True}]
    assert route.calls[1].request.headers["Authorization"] == "Bearer token-2"


@respx.mock
def test_a_claims_challenge_reacquires_with_the_claims_then_gives_up() -> None:
    provider = CountingProvider()
    challenge = 'Bearer error="insufficient_claims", claims="eyJhIjoxfQ=="'
    respx.post(CHAT).mock(return_value=httpx.Response(401, headers={"WWW-Authenticate": challenge}))
    with client(token=None, token_provider=provider) as c, pytest.raises(AuthenticationError):
        c.chat(CID, "hi")
    assert provider.calls[1] == {"claims": '{"a":1}', "force_refresh": False}
    assert len(provider.calls) == 2


@respx.mock
def test_invalid_input_sends_nothing() -> None:
    route = respx.post(CREATE).mock(return_value=httpx.Response(201, json={"id": CID}))
    with client() as c:
        for bad in [dict(message=""), dict(message="hi", time_zone="Nowhere/Land"), dict(message="hi", files=["https://evil.com/x"])]:
            with pytest.raises(ValueError):
                c.ask(**bad)
        with pytest.raises(ValueError):
            c.chat("../../v1.0/me/messages", "hi")
    assert route.call_count == 0


@respx.mock
def test_requests_carry_the_documented_headers_and_body() -> None:
    route = respx.post(CHAT).mock(return_value=httpx.Response(200, json=REPLY))
    with client(token="secret-token") as c:
        c.chat(CID, "hi", web_search=False, time_zone="Europe/Paris")
    request = route.calls[0].request
    assert request.headers["Authorization"] == "Bearer secret-token"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("copilot-tools/")
    assert json.loads(request.content) == {
        "message": {"text": "hi"}, "locationHint": {"timeZone": "Europe/Paris"},
        "contextualResources": {"webContext": {"isWebEnabled": False}},
    }


@respx.mock
async def test_async_client_shares_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr("copilot_tools.client.anyio.sleep", no_sleep)
    respx.post(CREATE).mock(side_effect=[httpx.Response(504), httpx.Response(201, json={"id": CID})])
    chat = respx.post(CHAT).mock(side_effect=[httpx.Response(503)])
    async with AsyncCopilotClient(base_url=BASE, token="t", time_zone="UTC") as c:
        assert (await c.create_conversation()).id == CID
        with pytest.raises(ServiceError):
            await c.chat(CID, "hi")
    assert chat.call_count == 1
