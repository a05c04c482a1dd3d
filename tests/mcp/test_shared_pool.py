"""The pool the HTTP server shares between its users (``Runtime._shared_pool``).

One user's response may set a cookie (a load balancer's affinity, say); it must never ride on the
next user's request. The pool reads a response for cookies only when it sets one (``_io.own_pool``),
and its jar still takes none.
"""

from __future__ import annotations

import httpx
import pytest

from copilot_tools import _io
from copilot_tools.mcp.server import Runtime
from copilot_tools.settings import Settings


async def test_a_cookie_set_for_one_user_never_rides_on_the_next_request(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[httpx.Request] = []
    read: list[httpx.Response] = []
    extract = httpx.Cookies.extract_cookies

    def counted(self: httpx.Cookies, response: httpx.Response) -> None:
        read.append(response)
        extract(self, response)

    monkeypatch.setattr(httpx.Cookies, "extract_cookies", counted)

    def reply(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        cookie = [("Set-Cookie", "affinity=user-a; Path=/; Secure")] if len(sent) == 1 else []
        return httpx.Response(200, json={}, headers=cookie)

    runtime = Runtime(Settings(), http_transport=httpx.MockTransport(reply))
    pool = runtime._shared_pool()
    try:
        assert type(pool.cookies) is _io._CookiesWhenSet  # (read only when set: see _io.own_pool)
        for _ in range(3):
            await pool.post("https://graph.microsoft.com/beta/copilot/conversations", json={})
    finally:
        await runtime.aclose()
    assert [request.headers.get("cookie") for request in sent] == [None, None, None]
    assert len(pool.cookies.jar) == 0
    assert len(read) == 1  # only the response that set a cookie was read for one
