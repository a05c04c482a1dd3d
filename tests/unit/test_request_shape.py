"""``_io.build_request`` reuses a header list it built before; the request must be ``build_request``'s.

Each case builds a request of one shape twice (the first through httpx, kept; the second from
the kept list with new per-attempt values and a new body) and compares the second, field by
field, with what ``http.build_request`` makes of the same arguments.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest

from copilot_tools import _io

URL = "https://graph.microsoft.com/beta/copilot/conversations/c/chat"
EXT = {"timeout": {"connect": 1.0, "read": 2.0, "write": 1.0, "pool": 1.0}}


@pytest.fixture(autouse=True)
def no_shapes_kept() -> Iterator[None]:
    _io._SHAPES.clear()
    yield
    _io._SHAPES.clear()


def _headers(extra: dict[str, str], token: str, request_id: str, attempt: int) -> dict[str, str]:
    """As ``ClientCore.http_request`` orders them."""
    headers = {**extra, "Authorization": f"Bearer {token}", "client-request-id": request_id}
    headers.setdefault("Content-Type", "application/json")
    if attempt:
        headers["Retry-Attempt"] = str(attempt)
    return headers


def _same(got: httpx.Request, expected: httpx.Request) -> None:
    assert got.method == expected.method
    assert str(got.url) == str(expected.url)
    assert got.headers.raw == expected.headers.raw
    assert got.content == expected.content
    assert got.extensions == expected.extensions
    assert type(got.stream) is type(expected.stream) and list(got.stream) == list(expected.stream)


POOLS = [{}, {"User-Agent": "copilot-tools/x"}, {"User-Agent": "a", "X-Pool": "p", "accept": "application/json"}]
EXTRAS = [
    {}, {"X-A": "1"}, {"User-Agent": "custom/1"}, {"user-agent": "custom/1"}, {"Accept": "text/event-stream"},
    {"X-A": "1", "content-type": "application/json; charset=utf-8"}, {"Content-Type": "text/plain"},
    {"Client-Request-Id": "fixed"}, {"Retry-Attempt": "9"}, {"Host": "example.com"}, {"Content-Length": "3"},
    {"Transfer-Encoding": "chunked"}, {"Cookie": "a=b"},
]
BODIES = [{}, {"message": {"text": "hi"}}, {"message": {"text": "é 📅 \u2028"}, "n": [1, 2.5, None, True]}]


@pytest.mark.parametrize(("pool", "extra", "attempt", "client_class"),
                         list(itertools.product(POOLS, EXTRAS, (0, 2), (httpx.Client, httpx.AsyncClient))))
def test_a_request_from_a_kept_header_list_is_the_one_build_request_makes(
    pool: dict[str, str], extra: dict[str, str], attempt: int, client_class: type[httpx.Client | httpx.AsyncClient],
) -> None:
    http = client_class(headers=pool)
    first = _headers(extra, "t0", "id-0", attempt)
    _io.build_request(http, "POST", URL, first, {"a": 1}, {"timeout": {"connect": 1.0}})
    for number, body in enumerate(BODIES, start=1):
        headers = _headers(extra, f"token-{number}", f"id-{number}", attempt)
        extensions = {"timeout": {"connect": 1.0, "read": float(number), "write": 1.0, "pool": 1.0}}
        got = _io.build_request(http, "POST", URL, dict(headers), body, extensions)
        _same(got, http.build_request("POST", URL, headers=headers, json=body, extensions=extensions))


def test_a_list_is_kept_only_where_build_request_makes_it_plainly() -> None:
    http = httpx.Client()
    for extra in ({}, {"X-A": "1"}, {"Host": "example.com"}, {"Client-Request-Id": "fixed"}):
        _io.build_request(http, "POST", URL, _headers(extra, "t", "i", 0), {}, EXT)
    kept = list(_io._SHAPES[http].values())
    assert [shape is not None for shape in kept] == [True, True, False, False]
    assert not any(b"Bearer" in value for shape in kept if shape for _, value in shape.headers)  # no token kept


def test_a_pool_that_holds_cookies_or_params_or_changed_headers_is_left_to_build_request() -> None:
    http = httpx.Client(headers={"User-Agent": "a"})
    headers = _headers({}, "t", "i", 0)
    _io.build_request(http, "POST", URL, headers, {"a": 1}, EXT)
    http.cookies.set("session", "s", domain="graph.microsoft.com")
    _same(_io.build_request(http, "POST", URL, headers, {"a": 2}, EXT),
          http.build_request("POST", URL, headers=headers, json={"a": 2}, extensions=EXT))
    http.cookies.clear()
    http.headers["User-Agent"] = "b"
    http.headers["X-New"] = "n"
    _same(_io.build_request(http, "POST", URL, headers, {"a": 3}, EXT),
          http.build_request("POST", URL, headers=headers, json={"a": 3}, extensions=EXT))
    http.params = httpx.QueryParams({"q": "1"})
    _same(_io.build_request(http, "POST", URL, headers, {"a": 4}, EXT),
          http.build_request("POST", URL, headers=headers, json={"a": 4}, extensions=EXT))
    relative = httpx.Client(base_url="https://graph.microsoft.com/beta/")
    _same(_io.build_request(relative, "POST", "copilot/x", headers, {"a": 5}, EXT),
          relative.build_request("POST", "copilot/x", headers=headers, json={"a": 5}, extensions=EXT))


def test_a_token_that_is_not_ascii_fails_as_build_request_fails() -> None:
    http = httpx.Client()
    _io.build_request(http, "POST", URL, _headers({}, "t", "i", 0), {}, EXT)
    with pytest.raises(UnicodeEncodeError):
        http.build_request("POST", URL, headers=_headers({}, "t\u2013", "i", 0), json={})
    with pytest.raises(UnicodeEncodeError):
        _io.build_request(http, "POST", URL, _headers({}, "t\u2013", "i", 0), {}, EXT)


def test_a_kept_list_serves_every_path_of_its_host_and_no_other_host() -> None:
    http = httpx.Client(headers={"User-Agent": "a"})
    headers = _headers({}, "t", "i", 0)
    urls = [URL, "https://graph.microsoft.com/beta/copilot/conversations", "https://graph.microsoft.com:8443/x",
            "http://127.0.0.1:8000/beta/copilot/conversations/c/chat", "http://[::1]:8000/y", URL]
    for url in urls:
        _same(_io.build_request(http, "POST", url, headers, {"a": 1}, EXT),
              http.build_request("POST", url, headers=headers, json={"a": 1}, extensions=EXT))
    assert len(_io._SHAPES[http]) == 4


def test_the_kept_lists_go_with_their_pool() -> None:
    import gc

    http = httpx.Client()
    _io.build_request(http, "POST", URL, _headers({}, "t", "i", 0), {}, EXT)
    assert len(_io._SHAPES) == 1
    http.close()
    del http
    gc.collect()
    assert len(_io._SHAPES) == 0
