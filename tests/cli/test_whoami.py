"""``copilot-tools whoami`` with a token given as is, through the real entry point."""

from __future__ import annotations

import json

from tests.cli.conftest import Run

OPAQUE = "opaque-token-not-a-jwt-1234"


def test_a_token_that_is_not_a_jwt_is_reported_as_such(on_emulator: Run) -> None:
    result = on_emulator("whoami", env={"COPILOT_TOOLS_ACCESS_TOKEN": OPAQUE})
    assert result.returncode == 0, result.stderr
    assert "not a JWT" in result.stderr and "COPILOT_TOOLS_ACCESS_TOKEN" in result.stderr
    assert "no access token cached" not in result.stdout + result.stderr
    assert OPAQUE not in result.stdout + result.stderr

    as_json = on_emulator("whoami", "--json", env={"COPILOT_TOOLS_ACCESS_TOKEN": OPAQUE})
    assert as_json.returncode == 0, as_json.stderr
    info = json.loads(as_json.stdout)
    assert info["jwt"] is False and info["username"] is None and OPAQUE not in as_json.stdout
