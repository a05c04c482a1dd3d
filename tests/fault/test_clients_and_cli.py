"""The clients and the CLI against a misbehaving Copilot API (issue 11's fault suite).

For each misbehaviour the outcome a user sees: an answer whose text encodes, or a
``CopilotError`` of the documented kind (the CLI: its documented exit code and one line on
stderr); never another exception, never the token in any output.

Cases marked ``xfail(strict=False, reason="needs <slice>")`` wait for another engineer's fix
(issue 11's parsers or client slice); the lead removes the marks after merging.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from copilot_tools import AsyncCopilotClient, CopilotClient, Settings
from copilot_tools._text import is_encodable
from copilot_tools.cli import main
from copilot_tools.errors import CopilotError, StreamInterruptedError
from tests.fault.servers import FaultServer, fault_server

#: A JWT-shaped token and an opaque one: neither may appear in any output.
JWT = ("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20iLCJ0aWQiOiJ4In0."
       "c2VjcmV0LXNpZ25hdHVyZS1mb3ItdGhlLWZhdWx0LXN1aXRl")
OPAQUE = "opaque-Secret-Token-4b1d9c7e2f"
TOKENS = (JWT, OPAQUE)
FRAGMENTS = ("c2VjcmV0LXNpZ25hdHVyZS", "Secret-Token-4b1d9c7e2f")

NEEDS_PARSERS = pytest.mark.xfail(strict=False, reason="needs parsers")
NEEDS_CLIENT = pytest.mark.xfail(strict=False, reason="needs client")

#: fault -> what the user gets: "answer", or the error kind (CLI exit code alongside).
OUTCOMES: dict[str, tuple[str, int]] = {
    "hostile-text": ("answer", 0),
    "echo-authorization": ("service_error", 1),
    "echo-authorization-html": ("bad_request", 2),
    "bad-gzip": ("service_error", 1),
    "html-200": ("service_error", 1),
    "deep-json": ("service_error", 1),
    "deep-card": ("answer", 0),
    "bracket-run": ("answer", 0),
}
MARKS = {"hostile-text": NEEDS_PARSERS, "bad-gzip": NEEDS_CLIENT, "html-200": NEEDS_CLIENT,
         "deep-json": NEEDS_PARSERS, "deep-card": NEEDS_PARSERS}


def cases() -> list[Any]:
    return [pytest.param(name, marks=MARKS[name]) if name in MARKS else name for name in OUTCOMES]


@pytest.fixture(scope="module")
def faulty() -> Iterator[FaultServer]:
    with fault_server() as server:
        yield server


def settings(server: FaultServer, token: str = JWT) -> Settings:
    return Settings(endpoint=server.base_url, access_token=token, time_zone="UTC", max_retries=0)


def assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in (*TOKENS, *FRAGMENTS):
            assert secret not in text, f"a token leaked: {text[:300]!r}"
        assert is_encodable(text), f"text that cannot be written out: {text[:300]!r}"


def check_answer_or_error(outcome: Any, expected: str) -> None:
    if expected == "answer":
        assert not isinstance(outcome, BaseException), f"{type(outcome).__name__}: {outcome}"
        assert outcome.text.strip()
        assert_clean(outcome.text, outcome.markdown if hasattr(outcome, "markdown") else "")
        return
    assert isinstance(outcome, CopilotError), f"not a CopilotError: {type(outcome).__name__}: {outcome}"
    assert outcome.kind == expected, f"{outcome.kind}: {outcome}"
    assert_clean(str(outcome), outcome.message, outcome.hint or "")


def run_sync(server: FaultServer, fault: str, *, stream: bool, token: str = JWT) -> Any:
    with CopilotClient(settings=settings(server, token)) as client:
        try:
            if not stream:
                return client.ask(f"fault:{fault} When is the standup?")
            events = list(client.stream(None, f"fault:{fault} When is the standup?"))
            return events[-1].answer
        except Exception as exc:  # noqa: BLE001 - the test inspects what escaped
            return exc


async def run_async(server: FaultServer, fault: str, *, stream: bool) -> Any:
    async with AsyncCopilotClient(settings=settings(server)) as client:
        try:
            if not stream:
                return await client.ask(f"fault:{fault} When is the standup?")
            events = [event async for event in client.stream(None, f"fault:{fault} When is the standup?")]
            return events[-1].answer
        except Exception as exc:  # noqa: BLE001
            return exc


# --- the clients ----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["chat", "stream"])
@pytest.mark.parametrize("fault", cases())
def test_the_sync_client_gives_an_answer_or_a_typed_error(faulty: FaultServer, fault: str, stream: bool) -> None:
    expected = OUTCOMES[fault][0]
    check_answer_or_error(run_sync(faulty, fault, stream=stream), expected)


@pytest.mark.parametrize("stream", [False, True], ids=["chat", "stream"])
@pytest.mark.parametrize("fault", cases())
async def test_the_async_client_gives_an_answer_or_a_typed_error(faulty: FaultServer, fault: str,
                                                                 stream: bool) -> None:
    expected = OUTCOMES[fault][0]
    check_answer_or_error(await run_async(faulty, fault, stream=stream), expected)


@pytest.mark.parametrize("token", TOKENS, ids=["jwt", "opaque"])
def test_an_echoed_authorization_header_never_reaches_the_error(faulty: FaultServer, token: str) -> None:
    for fault in ("echo-authorization", "echo-authorization-html"):
        error = run_sync(faulty, fault, stream=False, token=token)
        assert isinstance(error, CopilotError)
        assert f"Bearer {token}" in faulty.seen_tokens  # the server did get (and echo) it
        assert token not in str(error) and token not in repr(error.args)


@NEEDS_CLIENT
def test_a_trickling_upstream_ends_at_the_deadline_with_the_partial_answer(faulty: FaultServer) -> None:
    """``timeout`` bounds silence; only a total deadline ends a reply that never stops trickling."""
    faulty.trickle_seconds = 8.0
    values = {**settings(faulty).model_dump(exclude={"sources"}), "access_token": JWT}
    try:
        chosen = Settings(**values, deadline=2.0)  # type: ignore[call-arg]
    except Exception as exc:  # noqa: BLE001 - no deadline setting yet
        pytest.fail(f"no deadline setting: {exc}")
    started = time.monotonic()
    with CopilotClient(settings=chosen) as client, pytest.raises(CopilotError) as info:
        list(client.stream(None, "fault:trickle When is the standup?"))
    assert time.monotonic() - started < faulty.trickle_seconds - 2  # ended by the deadline, not the server
    assert isinstance(info.value, StreamInterruptedError) and "answer so far" in info.value.partial_text


# --- the command line (in-process) ----------------------------------------------------------


@pytest.fixture
def cli_env(faulty: FaultServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> FaultServer:
    for name in [key for key in os.environ if key.startswith("COPILOT_TOOLS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COPILOT_TOOLS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COPILOT_TOOLS_ENDPOINT", faulty.base_url)
    monkeypatch.setenv("COPILOT_TOOLS_ACCESS_TOKEN", JWT)
    monkeypatch.setenv("COPILOT_TOOLS_MAX_RETRIES", "0")
    monkeypatch.setenv("COPILOT_TOOLS_TIME_ZONE", "UTC")
    return faulty


@pytest.mark.parametrize("verbose", [[], ["-v"]], ids=["quiet", "verbose"])
@pytest.mark.parametrize("fault", cases())
def test_the_cli_exits_with_the_documented_code_and_no_token(cli_env: FaultServer, capsys, fault: str,
                                                             verbose: list[str]) -> None:
    code = OUTCOMES[fault][1]
    for mode in ([], ["--no-stream"]):
        exit_code = main([*verbose, "ask", *mode, f"fault:{fault} When is the standup?"])
        captured = capsys.readouterr()
        assert_clean(captured.out, captured.err)
        assert "unexpected" not in captured.err, captured.err
        assert exit_code == code, (mode, captured.err[-2000:])
        if not verbose:
            assert "Traceback" not in captured.err


@pytest.mark.parametrize("token", [JWT + "\r", OPAQUE + "\r\n", "Bearer " + OPAQUE])
def test_a_malformed_token_never_shows_even_in_a_verbose_traceback(cli_env: FaultServer, capsys,
                                                                  monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    monkeypatch.setenv("COPILOT_TOOLS_ACCESS_TOKEN", token)
    exit_code = main(["-v", "ask", "fault:none When is the standup?"])
    captured = capsys.readouterr()
    assert_clean(captured.out, captured.err)
    assert exit_code in (0, 1, 2, 3)


def test_the_cli_as_a_subprocess_keeps_the_token_out_of_every_stream(faulty: FaultServer, tmp_path: Any) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("COPILOT_TOOLS_")}
    env.update({"COPILOT_TOOLS_CONFIG": str(tmp_path / "none.toml"), "COPILOT_TOOLS_ENDPOINT": faulty.base_url,
                "COPILOT_TOOLS_ACCESS_TOKEN": OPAQUE, "COPILOT_TOOLS_MAX_RETRIES": "0",
                "COPILOT_TOOLS_TIME_ZONE": "UTC", "PYTHONIOENCODING": "utf-8"})
    result = subprocess.run([sys.executable, "-m", "copilot_tools", "-v", "ask", "fault:echo-authorization q"],
                            env=env, capture_output=True, timeout=60, check=False)
    assert result.returncode == 1, result.stderr.decode(errors="replace")
    for stream in (result.stdout, result.stderr):
        assert OPAQUE.encode() not in stream and b"Secret-Token" not in stream
    assert b"BadGateway" in result.stderr  # the error itself is still shown
