"""``locationHint.timeZone``: the emulator refuses exactly the zones the client refuses.

Two independent rules (the client's ``copilot_tools._protocol.validate_time_zone`` and the
emulator's own, in ``emulator/questions.py``) must agree on every zone here: a client that
validates first never sends a zone the emulator would refuse, the emulator never accepts one
the client would not send, and a bug in either rule shows up as a disagreement.
"""

from __future__ import annotations

from typing import Any

import pytest

from copilot_tools.errors import InvalidInputError
from copilot_tools._protocol import validate_time_zone

from .conftest import Api

ZONES: list[Any] = [
    "America/New_York", "Europe/Paris", "Asia/Tokyo", "UTC", "Etc/GMT+5",
    "Mars/Olympus_Mons", "europe/nowhere", "/etc/localtime", "../../etc/passwd", "./UTC",
    "Europe/../UTC", "Europe/Paris ", "Europe/Paris\x00", "\t", 5, ["UTC"],
    "localtime", "posixrules", "Factory", "posix/UTC", "right/UTC", "EST5EDT", "x" * 5000,
]


def client_accepts(zone: Any) -> bool:
    try:
        validate_time_zone(zone)
    except InvalidInputError:
        return False
    return True


@pytest.mark.parametrize("zone", ZONES, ids=repr)
def test_the_emulator_and_the_client_agree_on_every_zone(api: Api, zone: Any) -> None:
    response = api.turn("What is the travel per diem?", locationHint={"timeZone": zone})
    if client_accepts(zone):
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "badRequest"
        assert "locationHint.timeZone" in error["message"]


def test_a_missing_zone_is_required(api: Api) -> None:
    response = api.turn("What is the travel per diem?", locationHint={})
    assert response.status_code == 400
    assert "locationHint.timeZone is required" in response.json()["error"]["message"]
