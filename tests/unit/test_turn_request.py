"""The exact request a turn sends: header names, values and order, and the body's bytes.

Pinned because the request side is tuned for speed (issue 17): whatever is cached or built by
hand, the bytes on the wire stay these. Only ``client-request-id`` varies; it must be a fresh
UUID4 on every attempt.
"""

from __future__ import annotations

import os
import re
import uuid

import httpx
import pytest

from copilot_tools import AsyncCopilotClient, CopilotClient

BASE = "https://graph.microsoft.com/beta"
CID = "0d110e7e-2b7e-4270-a899-fd2af6fde333"
REPLY = {"id": CID, "turnCount": 1, "state": "active",
         "messages": [{"id": "p", "text": "hi"}, {"id": "r", "text": "Hello"}]}
STREAM = (b'data: {"id": "0d110e7e-2b7e-4270-a899-fd2af6fde333", "turnCount": 1, "messages": '
          b'[{"id": "p", "text": "hi"}, {"id": "r", "text": "Hello"}]}\n\n')
UA = f"copilot-tools/{__import__('copilot_tools').__version__} (python-httpx/{httpx.__version__})".encode()
UUID4 = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _head() -> list[tuple[bytes, bytes]]:
    return [(b"Host", b"graph.microsoft.com"), (b"Accept", b"*/*"), (b"Accept-Encoding", b"gzip, deflate, zstd"),
            (b"Connection", b"keep-alive"), (b"User-Agent", UA)]


SIMPLE = b'{"message":{"text":"hi"},"locationHint":{"timeZone":"UTC"}}'
FULL = (b'{"message":{"text":"hi"},"locationHint":{"timeZone":"Europe/Paris"},'
        b'"additionalContext":[{"text":"ctx"},{"text":"t2","description":"d"}],'
        b'"contextualResources":{"files":[{"uri":"https://contoso.sharepoint.com/a.docx"}],'
        b'"webContext":{"isWebEnabled":true}}}')
CHAT = f"{BASE}/copilot/conversations/{CID}/chat"

#: (method, url, raw headers with the request id as b"<id>", body) of every request, in order.
EXPECTED = [
    ("POST", CHAT, [*_head(), (b"Authorization", b"Bearer t"), (b"client-request-id", b"<id>"),
                    (b"Content-Type", b"application/json"), (b"Content-Length", b"59")], SIMPLE),
    ("POST", f"{BASE}/copilot/conversations",
     [*_head(), (b"Authorization", b"Bearer t"), (b"client-request-id", b"<id>"),
      (b"Content-Type", b"application/json"), (b"Content-Length", b"2")], b"{}"),
    ("POST", CHAT, [*_head(), (b"Authorization", b"Bearer t"), (b"client-request-id", b"<id>"),
                    (b"Content-Type", b"application/json"), (b"Content-Length", b"254")], FULL),
    ("POST", CHAT, [*_head(), (b"X-A", b"1"), (b"Authorization", b"Bearer t"), (b"client-request-id", b"<id>"),
                    (b"Content-Type", b"application/json"), (b"Content-Length", b"59")], SIMPLE),
    ("POST", CHAT, [*_head(), (b"Authorization", b"Bearer t"), (b"client-request-id", b"<id>"),
                    (b"Content-Type", b"application/json"), (b"Content-Length", b"59")], SIMPLE),
    ("POST", CHAT, [*_head(), (b"Authorization", b"Bearer t"), (b"client-request-id", b"<id>"),
                    (b"Content-Type", b"application/json"), (b"Retry-Attempt", b"1"), (b"Content-Length", b"59")],
     SIMPLE),
    ("POST", f"{BASE}/copilot/conversations/{CID}/chatOverStream",
     [(b"Host", b"graph.microsoft.com"), (b"Accept-Encoding", b"gzip, deflate, zstd"), (b"Connection", b"keep-alive"),
      (b"User-Agent", UA), (b"Accept", b"text/event-stream"), (b"Authorization", b"Bearer t"),
      (b"client-request-id", b"<id>"), (b"Content-Type", b"application/json"), (b"Content-Length", b"59")], SIMPLE),
]


class _Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.throttled = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/conversations"):
            return httpx.Response(201, json={"id": CID})
        if request.url.path.endswith("/chatOverStream"):
            return httpx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})
        if len(self.requests) == 5 and not self.throttled:
            self.throttled = True
            return httpx.Response(429, headers={"Retry-After": "0"})
        return httpx.Response(200, json=REPLY)

    def check(self) -> None:
        ids = []
        seen = []
        for request in self.requests:
            raw = request.headers.raw
            for index, (name, value) in enumerate(raw):
                if name == b"client-request-id":
                    assert UUID4.fullmatch(value), value
                    assert str(uuid.UUID(value.decode())) == value.decode()
                    ids.append(value)
                    raw[index] = (name, b"<id>")
            seen.append((request.method, str(request.url), raw, request.content))
            timeout = request.extensions["timeout"]
            assert set(timeout) == {"connect", "read", "write", "pool"}
            assert all(isinstance(value, float) and value > 0 for value in timeout.values())
        assert seen == EXPECTED
        assert len(set(ids)) == len(ids)  # a fresh id per attempt, also on the retry


ARGUMENTS = dict(files=["https://contoso.sharepoint.com/a.docx"], web_search=True,
                 additional_context=["ctx", {"text": "t2", "description": "d"}], time_zone="Europe/Paris")


def _sync_scenario(client: CopilotClient) -> None:
    client.chat(CID, "hi")
    client.ask("hi", **ARGUMENTS)  # type: ignore[arg-type]
    client.with_options(headers={"X-A": "1"}).chat(CID, "hi")
    client.chat(CID, "hi")  # throttled once, then sent again
    with client.stream(CID, "hi") as stream:
        list(stream)


def test_the_sync_client_sends_exactly_these_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("copilot_tools.client.time.sleep", lambda seconds: None)
    recorder = _Recorder()
    with httpx.Client(transport=httpx.MockTransport(recorder)) as http, \
            CopilotClient(base_url=BASE, token="t", time_zone="UTC", http_client=http) as client:
        _sync_scenario(client)
    recorder.check()


async def test_the_async_client_sends_the_same_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr("copilot_tools.client.anyio.sleep", no_sleep)
    recorder = _Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http, \
            AsyncCopilotClient(base_url=BASE, token="t", time_zone="UTC", http_client=http) as client:
        await client.chat(CID, "hi")
        await client.ask("hi", **ARGUMENTS)  # type: ignore[arg-type]
        await client.with_options(headers={"X-A": "1"}).chat(CID, "hi")
        await client.chat(CID, "hi")
        async with client.stream(CID, "hi") as stream:
            async for _ in stream:
                pass
    recorder.check()


def test_a_turn_body_reused_for_a_time_zone_is_not_shared_between_turns() -> None:
    recorder = _Recorder()
    with httpx.Client(transport=httpx.MockTransport(recorder)) as http, \
            CopilotClient(base_url=BASE, token="t", time_zone="UTC", http_client=http) as client:
        client.chat(CID, "first")
        client.chat(CID, "second", time_zone="Asia/Tokyo")
        client.chat(CID, "third")
    assert [request.content for request in recorder.requests] == [
        b'{"message":{"text":"first"},"locationHint":{"timeZone":"UTC"}}',
        b'{"message":{"text":"second"},"locationHint":{"timeZone":"Asia/Tokyo"}}',
        b'{"message":{"text":"third"},"locationHint":{"timeZone":"UTC"}}',
    ]


def test_new_request_id_is_a_uuid4_as_str_formats_it() -> None:
    from copilot_tools._protocol import new_request_id

    ids = [new_request_id() for _ in range(2000)]
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert len(set(ids)) == len(ids)
    assert {value[19] for value in ids} == set("89ab")  # every variant nibble turns up


@pytest.mark.parametrize("arguments", [
    dict(),
    dict(web_search=True), dict(web_search=False), dict(web_search=1), dict(web_search="yes"),
    dict(files=None), dict(files=[]), dict(additional_context=None), dict(additional_context=[]),
    dict(files="https://contoso.sharepoint.com/a.docx"), dict(additional_context="ctx"),
    dict(files=["https://contoso.sharepoint.com/a.docx"], web_search=False),
    dict(additional_context=[{"text": "t", "description": "d"}], web_search=None),
    dict(time_zone="Europe/Paris"), dict(message="é 📅\n\tline"),
])
def test_the_written_out_body_is_what_the_models_dump(arguments: dict) -> None:
    from copilot_tools._protocol import build_chat_body, chat_body_wire

    arguments = {"message": "hi", "time_zone": "UTC", **arguments}
    message = arguments.pop("message")
    wire = chat_body_wire(message, **arguments)
    expected = build_chat_body(message, **arguments).to_wire()
    assert wire == expected and list(wire) == list(expected)
    assert httpx.Request("POST", BASE, json=wire).content == httpx.Request("POST", BASE, json=expected).content


@pytest.mark.parametrize("arguments", [
    dict(message=""), dict(message=" "), dict(message="a\x00b"), dict(message="\ud83d"), dict(message=3),
    dict(time_zone="Nowhere/Land"), dict(time_zone="posixrules"), dict(time_zone=None), dict(time_zone=["UTC"]),
    dict(message="", time_zone="Nowhere/Land"), dict(files=["https://evil.com/x"]), dict(additional_context=[""]),
])
def test_the_written_out_body_refuses_what_the_models_refuse(arguments: dict) -> None:
    from copilot_tools._protocol import build_chat_body, chat_body_wire

    arguments = {"message": "hi", "time_zone": "UTC", **arguments}
    message = arguments.pop("message")
    with pytest.raises(ValueError) as expected:
        build_chat_body(message, **arguments)
    with pytest.raises(ValueError) as got:
        chat_body_wire(message, **arguments)
    assert type(got.value) is type(expected.value) and str(got.value) == str(expected.value)


def test_the_clients_own_pool_sends_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The own pool carries the User-Agent itself (ClientCore._attempt_headers); the bytes must not move.
    import respx

    monkeypatch.setattr("copilot_tools.client.time.sleep", lambda seconds: None)
    recorder = _Recorder()
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=recorder)
        with CopilotClient(base_url=BASE, token="t", time_zone="UTC") as client:
            _sync_scenario(client)
    recorder.check()


@pytest.mark.parametrize("headers", [
    {"User-Agent": "custom/1"}, {"user-agent": "custom/1"}, {"USER-AGENT": "custom/1", "X-B": "2"},
    {"X-B": "2", "Accept": "application/json"},
])
def test_caller_headers_go_out_as_before_with_either_pool(headers: dict[str, str]) -> None:
    import respx

    sent = []
    for own_pool in (False, True):
        recorder = _Recorder()
        with respx.mock(assert_all_called=False) as router:
            router.route().mock(side_effect=recorder)
            http = None if own_pool else httpx.Client()
            with CopilotClient(base_url=BASE, token="t", time_zone="UTC", headers=headers, http_client=http) as client:
                client.chat(CID, "hi")
                client.with_options(headers={"X-C": "3"}).chat(CID, "hi")
            if http is not None:
                http.close()
        sent.append([[pair for pair in r.headers.raw if pair[0] != b"client-request-id"] for r in recorder.requests])
    assert sent[0] == sent[1]
    assert all(any(name.lower() == b"user-agent" for name, _ in raw) for raw in sent[1])


@pytest.mark.parametrize("client_class", [CopilotClient, AsyncCopilotClient])
async def test_a_token_that_is_not_ascii_is_an_authentication_error_that_does_not_quote_it(
    client_class: type[CopilotClient] | type[AsyncCopilotClient],
) -> None:
    from copilot_tools import AuthenticationError

    class Provider:  # a provider of its own: StaticTokenProvider refuses such a token when given it
        def get_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
            return "secret-\u2013-token"  # an en dash, as a copied token may carry

    token = Provider()
    transport = httpx.MockTransport(lambda request: httpx.Response(201, json={"id": CID}))
    if client_class is CopilotClient:
        client = CopilotClient(base_url=BASE, token_provider=token, http_client=httpx.Client(transport=transport))
        with pytest.raises(AuthenticationError) as caught:
            client.create_conversation()
    else:
        aclient = AsyncCopilotClient(base_url=BASE, token_provider=token,
                                     http_client=httpx.AsyncClient(transport=transport))
        with pytest.raises(AuthenticationError) as caught:
            await aclient.create_conversation()
    assert "secret" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert caught.value.__context__ is None  # not even the UnicodeEncodeError, which holds the token


@pytest.mark.parametrize("client_class", [CopilotClient, AsyncCopilotClient])
async def test_a_token_ending_in_a_line_break_is_an_authentication_error_that_does_not_quote_it(
    client_class: type[CopilotClient] | type[AsyncCopilotClient],
) -> None:
    # h11 refuses the header, quoting its value ("Illegal header value b'Bearer ...\\n'"); a listening
    # socket that never answers is enough, as the request is refused before it is written.
    import socket
    import traceback

    from copilot_tools import AuthenticationError

    class Provider:  # a provider of its own (a token read from a file): StaticTokenProvider refuses it
        def get_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
            return "secret-token\n"

    with socket.create_server(("127.0.0.1", 0)) as server:
        base = f"http://127.0.0.1:{server.getsockname()[1]}/beta"
        with pytest.raises(AuthenticationError) as caught:
            if client_class is CopilotClient:
                with CopilotClient(base_url=base, token_provider=Provider(), max_retries=0) as client:
                    client.create_conversation()
            else:
                async with AsyncCopilotClient(base_url=base, token_provider=Provider(), max_retries=0) as aclient:
                    await aclient.create_conversation()
    assert "secret" not in "".join(traceback.format_exception(caught.value))
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_never_sends_its_parents_next_request_id() -> None:
    # The ids are made 64 at a time; a child keeps none of its parent's.
    from copilot_tools._protocol import new_request_id

    new_request_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    os.close(read)
    assert uuid.UUID(child).version == 4
    assert child != new_request_id()
