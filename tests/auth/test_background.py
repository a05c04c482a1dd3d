"""The background device flow MCP stdio servers use: fast errors, then success."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from copilot_tools.auth.device_flow import BackgroundDeviceFlowProvider
from copilot_tools.auth.errors import SignInRequiredError
from copilot_tools.errors import AuthenticationError
from tests.auth.idp import DEVICE_GRANT, decode_jwt

ADELE = "adele.vance@contoso.com"
#: Seconds a call that does not wait for the user takes at most, even on a loaded machine; one that
#: waited would last the device code's lifetime (more than a minute here). Also how long a test waits
#: for the background flow to get somewhere.
NOT_BLOCKED = 10.0


_made: list[BackgroundDeviceFlowProvider] = []


@pytest.fixture(autouse=True)
def _stop_polling():
    """Cancel each test's pending flows when it ends: left alone, one polls the stopped stand-in every
    20 ms until its code expires, minutes later (that cost the rest of the suite 10% of a core)."""
    yield
    while _made:
        _made.pop().close()


def _background(make_provider, **kwargs):
    announced = []
    provider = BackgroundDeviceFlowProvider(make_provider(interaction="none"), announce=announced.append, **kwargs)
    _made.append(provider)
    return provider, announced


def test_no_token_raises_sign_in_required_within_a_second_then_succeeds(idp, make_provider):
    provider, announced = _background(make_provider)

    started = time.monotonic()
    with pytest.raises(SignInRequiredError) as first:
        provider.get_token()
    # Not waiting for the user: a call that blocked on the flow would last its whole lifetime
    # (expires_at, over a minute away). The bound is loose so a loaded machine cannot fail it.
    assert time.monotonic() - started < NOT_BLOCKED
    error = first.value
    assert error.verification_uri == f"{idp.base_url}/devicelogin"
    assert error.user_code and error.user_code in error.message
    assert error.verification_uri in error.message
    assert error.expires_at > time.time() + 60
    assert error.to_dict()["user_code"] == error.user_code
    assert isinstance(error, AuthenticationError) and error.kind == "not_signed_in"
    assert [c.user_code for c in announced] == [error.user_code]

    # While pending: the same flow, reported again at once, no new device code.
    for _ in range(3):
        started = time.monotonic()
        with pytest.raises(SignInRequiredError) as again:
            provider.get_token()
        assert time.monotonic() - started < NOT_BLOCKED
        assert again.value.user_code == error.user_code and again.value.flow_id == error.flow_id
    assert len([r for r in idp.requests if r.path.endswith("/devicecode")]) == 1

    # The user signs in: the background poll redeems the code; the next call succeeds.
    idp.approve(error.user_code, ADELE)
    deadline = time.monotonic() + NOT_BLOCKED
    while True:
        try:
            token = provider.get_token()
            break
        except SignInRequiredError:
            assert time.monotonic() < deadline, "the background flow never completed"
            time.sleep(0.02)
    assert decode_jwt(token)["preferred_username"] == ADELE
    assert provider.pending_sign_in is None
    before = len(idp.token_requests())
    assert provider.get_token() == token  # from the cache now
    assert len(idp.token_requests()) == before


def test_a_terminal_login_ends_the_wait(idp, make_provider, prompts):
    provider, _ = _background(make_provider)
    with pytest.raises(SignInRequiredError) as pending:
        provider.get_token()
    # `copilot-tools login` in a terminal: another provider over the same cache file.
    prompts.approve_as = ADELE
    make_provider().login(device_code=True)

    token = provider.get_token()
    assert decode_jwt(token)["preferred_username"] == ADELE
    assert provider.pending_sign_in is None
    # The abandoned background code is never redeemed.
    first_code = next(d for d, e in idp.device_codes.items() if e["user_code"] == pending.value.user_code)
    polls = len([r for r in idp.token_requests(DEVICE_GRANT) if r.form.get("device_code") == first_code])
    time.sleep(0.2)
    assert idp.device_codes[first_code]["status"] == "pending"
    assert len([r for r in idp.token_requests(DEVICE_GRANT) if r.form.get("device_code") == first_code]) <= polls + 1


def test_an_expired_code_starts_a_new_flow_and_says_why(idp, make_provider):
    idp.device_code_lifetime = 1
    provider, _ = _background(make_provider)
    with pytest.raises(SignInRequiredError) as first:
        provider.get_token()
    # The code expires a second after it came; the poller notices on its next round (20 ms apart). The
    # half second more is for a loaded machine, on top of the half second get_token gives the poller.
    time.sleep(1.5)
    idp.device_code_lifetime = 900
    with pytest.raises(SignInRequiredError) as second:
        provider.get_token()
    assert second.value.user_code != first.value.user_code
    assert second.value.flow_id != first.value.flow_id
    assert "expired" in second.value.message


def test_a_declined_sign_in_is_reported_with_the_next_code(idp, make_provider):
    provider, _ = _background(make_provider)
    with pytest.raises(SignInRequiredError) as first:
        provider.get_token()
    idp.decline(first.value.user_code)
    deadline = time.monotonic() + NOT_BLOCKED
    while True:
        with pytest.raises(SignInRequiredError) as later:
            provider.get_token()
        if later.value.user_code != first.value.user_code:
            break
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert "declined" in later.value.message


def test_device_code_refused_by_the_identity_provider_is_an_error_not_a_hang(idp, make_provider):
    idp.devicecode_error = {
        "error": "invalid_request",
        "error_description": "AADSTS53003: Access has been blocked by Conditional Access policies.",
    }
    provider, _ = _background(make_provider)
    started = time.monotonic()
    with pytest.raises(AuthenticationError, match="Conditional Access") as info:
        provider.get_token()
    assert not isinstance(info.value, SignInRequiredError)
    assert time.monotonic() - started < NOT_BLOCKED


def test_a_slow_identity_provider_does_not_block_the_caller(idp, make_provider):
    idp.devicecode_answers.clear()  # the identity provider answers when the test lets it
    provider, announced = _background(make_provider, code_wait=0.1)
    started = time.monotonic()
    with pytest.raises(AuthenticationError, match="not answered yet"):
        provider.get_token()
    assert time.monotonic() - started < NOT_BLOCKED  # gave up waiting (0.1 s): the answer had not come
    idp.devicecode_answers.set()
    deadline = time.monotonic() + NOT_BLOCKED
    while not announced:  # the flow has its code once it is announced
        assert time.monotonic() < deadline, "the identity provider's answer never reached the flow"
        time.sleep(0.02)
    with pytest.raises(SignInRequiredError):
        provider.get_token()


def test_concurrent_calls_share_one_flow(idp, make_provider):
    provider, _ = _background(make_provider)
    errors: list[BaseException] = []

    def call():
        try:
            provider.get_token()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(NOT_BLOCKED)
    assert len(errors) == 8 and all(isinstance(e, SignInRequiredError) for e in errors)
    assert len({e.user_code for e in errors}) == 1
    assert len([r for r in idp.requests if r.path.endswith("/devicecode")]) == 1


def test_claims_challenge_without_interaction_starts_a_flow_carrying_the_claims(idp, make_provider, prompts):
    prompts.approve_as = ADELE
    make_provider().get_token()
    idp.claims_mode = "interaction_required"
    provider, _ = _background(make_provider)
    challenge = json.dumps({"access_token": {"acrs": {"essential": True, "value": "c1"}}})
    with pytest.raises(SignInRequiredError) as info:
        provider.get_token(claims=challenge)
    assert info.value.claims == challenge
    devicecode = [r for r in idp.requests if r.path.endswith("/devicecode")][-1]
    assert devicecode.claims["access_token"]["acrs"]["value"] == "c1"
    # Calls without the claims meanwhile do not hand out the revoked token.
    with pytest.raises(SignInRequiredError) as again:
        provider.get_token()
    assert again.value.user_code == info.value.user_code
    idp.approve(info.value.user_code, ADELE)
    deadline = time.monotonic() + NOT_BLOCKED
    while True:
        try:
            token = provider.get_token()
            break
        except SignInRequiredError:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    assert decode_jwt(token)["satisfied_claims"]["acrs"]["value"] == "c1"


STDIO_SCRIPT = r"""
import json, sys, time
from copilot_tools.auth import provider_from_settings, SignInRequiredError
from copilot_tools.settings import Settings
provider = provider_from_settings(Settings.load({"endpoint": "graph"}), interactive=False, min_poll_interval=0.02)
started = time.monotonic()
try:
    provider.get_token()
except SignInRequiredError as exc:
    elapsed = time.monotonic() - started
    sys.stdout.write(json.dumps({"elapsed": elapsed, **exc.to_dict()}) + "\n")
    sys.stdout.flush()
line = sys.stdin.readline()  # the test approves the code, then tells us to go on
deadline = time.monotonic() + 10
while True:
    try:
        token = provider.get_token()
        break
    except SignInRequiredError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.02)
sys.stdout.write(json.dumps({"signed_in": True, "token_length": len(token)}) + "\n")
"""


def test_a_stdio_process_keeps_stdout_clean(idp, auth_env, tmp_path):
    """A process standing in for the MCP stdio server: with no token, stdout carries only
    its own protocol lines (here JSON), the sign-in notice goes to stderr, it answers in
    well under a second, and succeeds once the user has signed in."""
    import os
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, **auth_env, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-c", STDIO_SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env, cwd=str(tmp_path),
    )
    try:
        first = json.loads(process.stdout.readline())
        assert first["error"] == "sign_in_required"
        assert first["elapsed"] < NOT_BLOCKED
        idp.approve(first["user_code"], ADELE)
        process.stdin.write("go\n")
        process.stdin.flush()
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines == [{"signed_in": True, "token_length": lines[0]["token_length"]}]
    assert process.returncode == 0, err
    assert first["user_code"] in err  # the notice went to stderr
    assert "eyJ" not in out and "eyJ" not in err


def test_unreachable_identity_provider_is_not_signed_in_not_a_hang(make_provider):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = BackgroundDeviceFlowProvider(make_provider(interaction="none", authority_host=f"https://127.0.0.1:{port}"),
                                            announce=None)
    started = time.monotonic()
    with pytest.raises(AuthenticationError, match="could not be started") as info:
        provider.get_token()
    assert time.monotonic() - started < NOT_BLOCKED
    assert info.value.kind == "not_signed_in"
