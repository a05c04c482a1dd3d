"""The client's own pool reads a response for cookies only when it sets some (``_io.own_pool``).

What it keeps and sends back must be what a plain httpx pool keeps and sends back.
"""

from __future__ import annotations

import httpx
import pytest
import respx

from copilot_tools import AsyncCopilotClient, CopilotClient, _io

BASE = "https://graph.microsoft.com/beta"
CID = "0d110e7e-2b7e-4270-a899-fd2af6fde333"
REPLY = {"id": CID, "turnCount": 1, "messages": [{"id": "p", "text": "hi"}, {"id": "r", "text": "Hello"}]}
#: The Set-Cookie headers of each reply in turn (None: a reply that sets no cookie).
SETS = [None, [("Set-Cookie", "affinity=a1; Path=/; Secure")], None, [("SET-COOKIE", "other=o; Path=/beta")],
        [("set-cookie", "affinity=a2; Path=/")], None]


def _replies(sent: list[httpx.Request]) -> respx.MockRouter:
    router = respx.mock(assert_all_called=False)

    def reply(request: httpx.Request) -> httpx.Response:
        headers = SETS[len(sent)] or []
        sent.append(request)
        return httpx.Response(200, json=REPLY, headers=headers)

    router.route().mock(side_effect=reply)
    return router


def _cookie_headers(sent: list[httpx.Request]) -> list[str | None]:
    return [request.headers.get("cookie") for request in sent]


def _plain_pool_sends() -> list[str | None]:
    sent: list[httpx.Request] = []
    with _replies(sent), httpx.Client() as plain:
        for _ in SETS:
            plain.post(f"{BASE}/copilot/conversations/{CID}/chat", json={})
    return _cookie_headers(sent)


def test_the_own_pool_keeps_and_sends_back_what_a_plain_pool_does() -> None:
    expected = _plain_pool_sends()
    assert expected[1] is None and expected[2] == "affinity=a1" and expected[-1] is not None
    sent: list[httpx.Request] = []
    with _replies(sent), CopilotClient(base_url=BASE, token="t", time_zone="UTC") as client:
        assert type(client._http.cookies) is _io._CookiesWhenSet  # httpx still keeps them where we look
        for _ in SETS:
            client.chat(CID, "hi")
    assert _cookie_headers(sent) == expected


async def test_the_async_own_pool_keeps_and_sends_back_what_a_plain_pool_does() -> None:
    expected = _plain_pool_sends()
    sent: list[httpx.Request] = []
    with _replies(sent):
        async with AsyncCopilotClient(base_url=BASE, token="t", time_zone="UTC") as client:
            assert type(client._http.cookies) is _io._CookiesWhenSet
            for _ in SETS:
                await client.chat(CID, "hi")
    assert _cookie_headers(sent) == expected


def test_a_response_without_cookies_is_not_read_for_them(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[httpx.Response] = []
    monkeypatch.setattr(httpx.Cookies, "extract_cookies", lambda self, response: read.append(response))
    sent: list[httpx.Request] = []
    with _replies(sent), CopilotClient(base_url=BASE, token="t", time_zone="UTC") as client:
        for _ in SETS:
            client.chat(CID, "hi")
    assert len(read) == sum(1 for headers in SETS if headers)


def test_a_pool_the_caller_passes_in_is_left_as_it_is() -> None:
    with httpx.Client() as http, CopilotClient(base_url=BASE, token="t", http_client=http) as client:
        assert type(client._http.cookies) is httpx.Cookies
