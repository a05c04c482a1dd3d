"""A corrupt token cache: every command says which file and what to do, and ``login`` and
``logout --all`` set the file aside and carry on (issue 11)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from copilot_tools.auth import public
from copilot_tools.auth.cache import CorruptTokenCacheError, open_token_cache
from copilot_tools.cli import main

ADELE = "adele.vance@contoso.com"

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")

CORRUPT: dict[str, bytes] = {
    "garbage": b"\x00\x01 this is not json",
    "a list": b"[]",
    "a string": b'"cache"',
    "wrong types": b'{"AccessToken": []}',
    "wrong entry types": b'{"RefreshToken": {"k": {"secret": ["x"], "home_account_id": {}}}}',
    "bad utf-8": b'{"Account": {"\xff\xfe": {}}}',
    "deep nesting": b"[" * 100_000,
}


@pytest.fixture(autouse=True)
def no_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "browser_available", lambda: False)


def _corrupt(path: Path, content: bytes) -> None:
    open_token_cache(path)  # creates the private directory and file
    path.write_bytes(content)
    os.chmod(path, 0o600)


def _set_aside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".corrupt-*"))


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_other_commands_name_the_file_and_the_remedy(cache_file: Path, auth_env, capsys, content: bytes) -> None:
    _corrupt(cache_file, content)
    for argv in (["accounts"], ["whoami"], ["logout"]):
        assert main(argv) == 3, argv
        err = capsys.readouterr().err
        assert str(cache_file) in err and "copilot-tools login" in err, err
        assert "unexpected" not in err and "Traceback" not in err
    assert cache_file.read_bytes() == content  # nothing was changed behind the user's back
    assert _set_aside(cache_file) == []


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_logout_all_sets_the_file_aside_and_says_so(cache_file: Path, auth_env, capsys, content: bytes) -> None:
    _corrupt(cache_file, content)
    assert main(["logout", "--all"]) == 0
    err = capsys.readouterr().err
    moved = _set_aside(cache_file)
    assert len(moved) == 1 and moved[0].read_bytes() == content
    assert "set aside" in err and str(moved[0]) in err
    assert main(["accounts"]) == 0  # the fresh cache works


def test_login_sets_the_file_aside_and_signs_in(idp, cache_file: Path, auth_env, capsys) -> None:
    _corrupt(cache_file, b"[]")
    idp.auto_approve = ADELE
    assert main(["login", "--device-code"]) == 0
    err = capsys.readouterr().err
    assert "set aside" in err and f"Signed in as {ADELE}" in err
    assert len(_set_aside(cache_file)) == 1
    assert main(["accounts"]) == 0
    assert capsys.readouterr().out.startswith(ADELE)


def test_the_library_raises_one_typed_error(cache_file: Path) -> None:
    _corrupt(cache_file, b'{"AccessToken": "x"}')
    cache = open_token_cache(cache_file)
    with pytest.raises(CorruptTokenCacheError) as info:
        cache.search("AccessToken", query={})
    assert info.value.path == cache_file and info.value.kind == "not_signed_in"
