"""``copilot-tools login | logout | accounts | whoami`` against the stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from copilot_tools.auth import public
from copilot_tools.cli import main
from tests.auth.idp import DEVICE_GRANT, make_jwt

ADELE = "adele.vance@contoso.com"
JOHN = "john.doe@contoso.com"


@pytest.fixture(autouse=True)
def no_browser(monkeypatch):
    monkeypatch.setattr(public, "browser_available", lambda: False)


def _login(idp, capsys, username, *extra):
    idp.auto_approve = username
    code = main(["login", "--device-code", *extra])
    captured = capsys.readouterr()
    return code, captured


def test_login_prints_the_prompt_on_stderr_only(idp, auth_env, capsys):
    code, captured = _login(idp, capsys, ADELE)
    assert code == 0
    assert captured.out == ""
    assert "devicelogin" in captured.err and "enter the code" in captured.err
    assert f"Signed in as {ADELE}" in captured.err
    assert "eyJ" not in captured.err
    assert idp.token_requests(DEVICE_GRANT)


def test_login_without_a_browser_uses_the_device_code(idp, auth_env, capsys):
    idp.auto_approve = ADELE
    assert main(["login"]) == 0
    assert "enter the code" in capsys.readouterr().err


def test_accounts_whoami_logout_and_exit_codes(idp, auth_env, capsys):
    assert main(["whoami"]) == 3
    assert "Not signed in" in capsys.readouterr().err
    assert main(["accounts"]) == 0
    assert capsys.readouterr().out == ""

    _login(idp, capsys, ADELE)
    _login(idp, capsys, JOHN)

    assert main(["accounts"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(ADELE) and "(default)" not in lines[0]
    assert lines[1].startswith(JOHN) and lines[1].endswith("(default)")
    assert main(["accounts", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["username"] for a in listed] == [ADELE, JOHN]

    assert main(["whoami", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["username"] == JOHN and info["endpoint"] == "graph" and info["expired"] is False
    assert "Chat.Read" in info["scopes"] and info["tenant_id"] == idp.users[JOHN].tid
    assert info["cache"]["encrypted"] is False
    assert "eyJ" not in json.dumps(info)

    # Switch accounts without a prompt: login --account of a signed-in account.
    requests_before = len(idp.token_requests())
    assert main(["login", "--account", ADELE]) == 0
    assert "now the default" in capsys.readouterr().err
    assert len(idp.token_requests()) == requests_before
    assert main(["whoami"]) == 0
    out = capsys.readouterr().out
    assert f"account:   {ADELE}" in out and "expires:" in out and "Mail.Read" in out

    # Sign out of one, then all.
    assert main(["logout", "--account", "nobody@contoso.com"]) == 3
    capsys.readouterr()
    assert main(["logout"]) == 0
    assert f"Signed out of {ADELE}" in capsys.readouterr().err
    assert main(["whoami", "--account", ADELE]) == 3
    capsys.readouterr()
    assert main(["logout", "--all"]) == 0
    assert f"Signed out of {JOHN}" in capsys.readouterr().err
    assert main(["accounts", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["logout"]) == 0
    assert "Nobody" in capsys.readouterr().err


def test_logout_with_several_accounts_and_no_default_is_a_usage_error(idp, auth_env, capsys):
    from copilot_tools.auth.cache import open_token_cache, write_state

    _login(idp, capsys, ADELE)
    _login(idp, capsys, JOHN)
    write_state(open_token_cache(), default_account=None)
    assert main(["logout"]) == 2
    assert "--all" in capsys.readouterr().err


def test_declined_login_exits_not_signed_in(idp, auth_env, capsys, monkeypatch):
    def decline_all(code):
        idp.decline(code.user_code)

    monkeypatch.setattr(public, "_stderr_prompt", decline_all)
    assert main(["login", "--device-code"]) == 3
    assert "declined" in capsys.readouterr().err


def test_consent_missing_exits_permission(idp, auth_env, capsys):
    idp.devicecode_error = {"error": "invalid_grant", "error_codes": [65001],
                            "error_description": "AADSTS65001: The user or administrator has not consented "
                                                 "to use the application."}
    assert main(["login", "--device-code", "--tenant", "contoso.onmicrosoft.com"]) == 4
    err = capsys.readouterr().err
    assert "contoso.onmicrosoft.com/adminconsent?client_id=" in err


def test_emulator_and_static_tokens_need_no_sign_in(capsys, monkeypatch):
    assert main(["login", "--endpoint", "http://127.0.0.1:8000/beta"]) == 0
    assert "no sign-in needed" in capsys.readouterr().err
    assert main(["whoami", "--endpoint", "http://127.0.0.1:8000/beta"]) == 0
    capsys.readouterr()
    token = make_jwt({"preferred_username": ADELE, "tid": "t", "scp": "Chat.Read", "exp": 4_000_000_000})
    monkeypatch.setenv("COPILOT_TOOLS_ACCESS_TOKEN", token)
    assert main(["whoami", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["username"] == ADELE and token not in out


def test_workiq_login_uses_its_scope_and_client(idp, auth_env, capsys):
    own_app = "0b8e5d3c-1f2a-4b6c-9d7e-8f9a0b1c2d3e"
    _login(idp, capsys, ADELE, "--endpoint", "workiq", "--client-id", own_app)
    request = idp.token_requests(DEVICE_GRANT)[-1]
    assert request.form["client_id"] == own_app
    devicecode = [r for r in idp.requests if r.path.endswith("/devicecode")][-1]
    assert "api://workiq.svc.cloud.microsoft/WorkIQAgent.Ask" in devicecode.form["scope"].split()
    assert main(["whoami", "--endpoint", "workiq", "--client-id", own_app, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scopes"] == ["WorkIQAgent.Ask"]


def test_login_in_a_real_process_fills_the_cache_the_server_reads(idp, auth_env, tmp_path, capsys):
    """`copilot-tools login` as a subprocess, then an in-process non-interactive provider
    (what the MCP server uses) finds the token without any sign-in."""
    from copilot_tools.auth import provider_from_settings
    from copilot_tools.settings import Settings

    idp.auto_approve = ADELE
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, **auth_env, "PYTHONPATH": root}
    result = subprocess.run(
        [sys.executable, "-m", "copilot_tools", "login", "--device-code"], check=False, env=env, capture_output=True,
        text=True, timeout=60, cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "enter the code" in result.stderr
    server = provider_from_settings(Settings.load({}), interactive=False)
    token = server.get_token()
    assert token.count(".") == 2
    assert "eyJ" not in result.stderr
