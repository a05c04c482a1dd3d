"""The typed client surface against the emulator: constructor, with_options, stream objects,
request ids, settings that are garbage, the error tree, and the -vv request log."""

from __future__ import annotations

import logging
import pickle
import uuid

import pytest

import copilot_tools
from copilot_tools import (
    AnswerComplete,
    APIStatusError,
    AsyncCopilotClient,
    AsyncStream,
    AuthenticationError,
    CopilotClient,
    CopilotError,
    InvalidInputError,
    Settings,
    Stream,
    ThrottledError,
    TransportError,
)
from copilot_tools.emulator import EmulatorServer

QUESTION = "What meeting do I have at 9 AM tomorrow?"


def client(emulator: EmulatorServer, **options: object) -> CopilotClient:
    return CopilotClient(base_url=emulator.base_url, token="t", time_zone="UTC", **options)  # type: ignore[arg-type]


def test_the_constructor_takes_timeout_deadline_and_retries_directly(emulator: EmulatorServer) -> None:
    with client(emulator, timeout=20, deadline=90, max_retries=1) as c:
        assert (c.timeout, c.deadline, c.max_retries) == (20.0, 90.0, 1)
        assert c.base_url == emulator.base_url == c.endpoint
        assert c.settings.sources["deadline"] == "argument"


@pytest.mark.parametrize(("name", "value"), [("timeout", float("inf")), ("deadline", float("nan")),
                                             ("deadline", 0), ("timeout", "soon"), ("max_retries", 99)])
def test_a_garbage_option_is_an_invalid_input_error_naming_it(emulator: EmulatorServer, name: str,
                                                              value: object) -> None:
    with pytest.raises(InvalidInputError) as info:
        client(emulator, **{name: value})
    assert info.value.argument == name


@pytest.mark.parametrize(("variable", "value"), [("COPILOT_TOOLS_TIMEOUT", "inf"), ("COPILOT_TOOLS_DEADLINE", "-1"),
                                                 ("COPILOT_TOOLS_DEADLINE", "1e400")])
def test_a_garbage_setting_in_the_environment_names_the_setting(variable: str, value: str, tmp_path) -> None:
    with pytest.raises(InvalidInputError) as info:
        Settings.load(environ={variable: value}, config_path=None)
    assert info.value.argument == variable.removeprefix("COPILOT_TOOLS_").lower()
    assert variable in info.value.message


def test_the_deadline_setting_comes_from_the_environment() -> None:
    assert Settings.load(environ={"COPILOT_TOOLS_DEADLINE": "45"}).deadline == 45.0
    assert Settings.load(environ={}).deadline == 600.0


def test_endpoint_still_works_as_a_deprecated_alias(emulator: EmulatorServer) -> None:
    with pytest.warns(DeprecationWarning, match="base_url"):
        c = CopilotClient(endpoint=emulator.base_url, token="t", time_zone="UTC")
    with c:
        assert c.base_url == emulator.base_url


def test_with_options_shares_the_pool_and_changes_only_what_it_names(emulator: EmulatorServer) -> None:
    with client(emulator, headers={"x-team": "a"}) as c:
        quick = c.with_options(deadline=30, headers={"x-emulator-fault": "latency;ms=1"})
        assert quick._http is c._http
        assert (quick.deadline, c.deadline) == (30.0, 600.0)
        assert quick.ask(QUESTION).text
        quick.close()  # does not close the shared pool
        assert c.ask(QUESTION).text
    with pytest.raises(InvalidInputError):
        c.with_options(timeout=-1)


def test_the_stream_object_is_iterable_closeable_and_holds_the_answer(emulator: EmulatorServer) -> None:
    with client(emulator) as c:
        with c.stream(None, QUESTION) as stream:
            assert isinstance(stream, Stream)
            events = list(stream)
        assert isinstance(events[-1], AnswerComplete)
        assert stream.answer == events[-1].answer and stream.text == stream.answer.text
        assert stream.answer.request_id
        early = c.stream(None, QUESTION)
        next(early)
        early.close()
        assert early.closed and early.answer is None
        assert list(early) == []
        assert c.stream(None, QUESTION).until_done().text  # the plain loop still works too


async def test_the_async_stream_object(emulator: EmulatorServer) -> None:
    async with AsyncCopilotClient(base_url=emulator.base_url, token="t", time_zone="UTC") as c:
        async with c.stream(None, QUESTION) as stream:
            assert isinstance(stream, AsyncStream)
            async for _ in stream:
                pass
        assert stream.answer is not None and stream.answer.request_id
        async for event in c.stream(None, QUESTION):  # as before: a plain async for
            last = event
        assert isinstance(last, AnswerComplete)


def test_answers_and_retrieval_hits_carry_the_request_id(emulator: EmulatorServer) -> None:
    with client(emulator) as c:
        assert c.ask(QUESTION).request_id
        hits = c.retrieve_many(["leave policy", "expenses"])
        assert hits and all(hit.request_id for hit in hits)


def test_the_request_log_at_debug_level_shows_each_attempt_and_retry(emulator: EmulatorServer,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    fault = f"throttle;retry-after=0;count=1;key={uuid.uuid4()}"
    caplog.set_level(logging.DEBUG, logger="copilot_tools.client")
    with client(emulator, headers={"x-emulator-fault": fault}) as c:
        c.create_conversation()
    lines = [record.getMessage() for record in caplog.records if record.name == "copilot_tools.client"]
    assert any("POST " + emulator.base_url in line and "-> 429" in line for line in lines)
    assert any("retrying (attempt 1)" in line and "throttling" in line for line in lines)
    assert any("-> 201" in line and "request-id" in line for line in lines)
    assert not any("Bearer" in line for line in lines)


# --- the error tree --------------------------------------------------------------------------------


def test_errors_are_immutable_and_copied_with_replace() -> None:
    error = ThrottledError("Copilot is throttling requests.", retry_after=3, status_code=429, request_id="r1")
    with pytest.raises(AttributeError):
        error.message = "changed"  # type: ignore[misc]
    named = error.replace(message="Throttled [query 'x']")
    assert named.message == "Throttled [query 'x']" and named.retry_after == 3 and error.message != named.message
    assert str(named).startswith("Throttled [query 'x']")
    with pytest.raises(AttributeError):
        named.hint = "changed"  # type: ignore[misc]


def test_errors_survive_pickling() -> None:
    error = AuthenticationError("rejected", claims="{}", status_code=401, body=b"{}")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.message, copy.claims, copy.status_code, str(copy)) == (
        AuthenticationError, "rejected", "{}", 401, str(error))
    with pytest.raises(AttributeError):
        copy.claims = None  # type: ignore[misc]


def test_an_error_body_keeps_no_credential_a_proxy_echoed() -> None:
    """The body a 4xx/5xx carries is redacted like the message; bytes that are not UTF-8 survive."""
    import httpx

    jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGVsZSJ9.c2lnbmF0dXJl"
    echoed = (b"<html>bad request\r\nAuthorization: Bearer " + jwt.encode() + b"\r\n"
              b"Cookie: session=0123456789abcdef\r\nlatin-1 \xe9t\xe9, cut \xe2\x82</html>")

    def proxy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, content=echoed, headers={"Content-Type": "text/html"})

    with httpx.Client(transport=httpx.MockTransport(proxy)) as http, \
            CopilotClient(base_url="https://graph.microsoft.com/beta", token=jwt, http_client=http) as client, \
            pytest.raises(APIStatusError) as info:
        client.ask("hi")
    body = info.value.body
    assert isinstance(body, bytes) and jwt.encode() not in body and b"0123456789abcdef" not in body
    assert b"Authorization: [redacted]" in body and b"Cookie: [redacted]" in body
    assert body.endswith(b"latin-1 \xe9t\xe9, cut \xe2\x82</html>") and body.startswith(b"<html>bad request")
    assert pickle.loads(pickle.dumps(info.value)).body == body
    assert ThrottledError("slow down", body=echoed).body == body  # however the error is built
    clean = b"\xff\xfe{\"error\": \"no secret here\"}"
    assert ThrottledError("slow down", body=clean).body is clean


def test_one_tree_holds_every_error() -> None:
    from copilot_tools.auth.errors import SignInRequiredError
    from copilot_tools.mcp.http_auth import AuthConfigError

    assert issubclass(SignInRequiredError, AuthenticationError) and issubclass(AuthenticationError, APIStatusError)
    assert issubclass(AuthConfigError, InvalidInputError) and issubclass(AuthConfigError, CopilotError)
    assert copilot_tools.APIConnectionError is TransportError
    assert issubclass(copilot_tools.DeadlineExceededError, copilot_tools.APITimeoutError)
    documented = copilot_tools.errors.__doc__ or ""
    for name in copilot_tools.errors.__all__:
        if name != "TransportError":
            assert name in documented, f"{name} missing from the tree drawn in errors.py"


def test_not_signed_in_does_not_greet_a_first_time_user_with_again() -> None:
    hint = AuthenticationError("Not signed in.").hint or ""
    assert "again" not in hint and "COPILOT_TOOLS_ACCESS_TOKEN" in hint


def test_a_wrong_token_for_an_emulator_started_with_token_names_that_token() -> None:
    from copilot_tools.emulator import EmulatorConfig

    with EmulatorServer(EmulatorConfig(token="s3cret", event_delay=0.0)) as guarded, \
            CopilotClient(base_url=guarded.base_url, token="wrong", time_zone="UTC") as c, \
            pytest.raises(AuthenticationError) as info:
        c.create_conversation()
    hint = info.value.hint or ""
    assert "--token" in hint and "COPILOT_TOOLS_ACCESS_TOKEN" in hint and "login" not in hint
    assert info.value.status_code == 401 and "wrong" not in str(info.value)


def test_settings_built_in_code_name_a_wrong_value() -> None:
    with pytest.raises(InvalidInputError) as info:
        Settings(timeout=float("inf"))
    assert info.value.argument == "timeout"
    with pytest.raises(InvalidInputError) as info:
        Settings(deadlin=5)  # type: ignore[call-arg]
    assert info.value.argument == "deadlin"
