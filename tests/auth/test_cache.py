"""The persistent cache: private permissions, refusal of loose ones, sharing between processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from copilot_tools.auth import cache as cache_module
from copilot_tools.auth.cache import TokenCacheError, open_token_cache

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def test_plain_file_is_created_private_after_one_notice(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cache_module, "_noticed", set())
    path = tmp_path / "new" / "dir" / "cache.json"
    cache = open_token_cache(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert cache.is_encrypted is False
    err = capsys.readouterr()
    assert err.out == ""
    assert str(path) in err.err and "0600" in err.err
    # Said once: a second open (a restart: the file exists now) says nothing.
    monkeypatch.setattr(cache_module, "_noticed", set())
    open_token_cache(path)
    assert capsys.readouterr().err == ""


def test_a_loose_cache_file_is_refused(tmp_path):
    path = tmp_path / "c" / "cache.json"
    open_token_cache(path)
    os.chmod(path, 0o644)
    with pytest.raises(TokenCacheError, match="0644") as info:
        open_token_cache(path)
    assert "chmod 600" in info.value.hint
    assert info.value.kind == "invalid_input"


def test_a_loose_directory_is_refused(tmp_path):
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    with pytest.raises(TokenCacheError, match="accessible to other users"):
        open_token_cache(directory / "cache.json")


def test_a_symlinked_cache_is_refused(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir(mode=0o700)
    target = directory / "elsewhere.json"
    target.write_text("{}")
    os.chmod(target, 0o600)
    (directory / "cache.json").symlink_to(target)
    with pytest.raises(TokenCacheError, match="symbolic link"):
        open_token_cache(directory / "cache.json")


def test_loosened_after_opening_is_refused_on_read(tmp_path):
    path = tmp_path / "c" / "cache.json"
    cache = open_token_cache(path)
    cache.add({"client_id": "c", "scope": ["s"], "token_endpoint": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
               "response": {"access_token": "x", "expires_in": 3600}})
    os.chmod(path, 0o640)
    persistence = cache._persistence
    with pytest.raises(TokenCacheError):
        persistence.load()


def test_required_encryption_refuses_the_plain_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COPILOT_TOOLS_TOKEN_CACHE_ENCRYPTION", "required")

    def unavailable(location):
        raise RuntimeError("no keyring here")

    import msal_extensions

    monkeypatch.setattr(msal_extensions, "build_encrypted_persistence", unavailable)
    with pytest.raises(TokenCacheError, match="encrypted credential store is not available"):
        open_token_cache(tmp_path / "c" / "cache.json")
    assert not (tmp_path / "c" / "cache.json").exists()


def test_auto_prefers_the_encrypted_store(tmp_path, monkeypatch):
    import msal_extensions
    from msal_extensions.persistence import FilePersistence

    class FakeEncrypted(FilePersistence):
        is_encrypted = True

    monkeypatch.setenv("COPILOT_TOOLS_TOKEN_CACHE_ENCRYPTION", "auto")
    monkeypatch.setattr(msal_extensions, "build_encrypted_persistence", lambda location: FakeEncrypted(location))
    cache = open_token_cache(tmp_path / "c" / "cache.json")
    assert cache.is_encrypted is True
    assert stat.S_IMODE((tmp_path / "c").stat().st_mode) == 0o700


def test_auto_falls_back_to_the_private_file_when_no_keyring(tmp_path, monkeypatch, capsys):
    import msal_extensions

    monkeypatch.setattr(cache_module, "_noticed", set())
    monkeypatch.setenv("COPILOT_TOOLS_TOKEN_CACHE_ENCRYPTION", "auto")

    def unavailable(location):
        raise ImportError("No module named 'gi'")

    monkeypatch.setattr(msal_extensions, "build_encrypted_persistence", unavailable)
    path = tmp_path / "c" / "cache.json"
    cache = open_token_cache(path)
    assert cache.is_encrypted is False and path.exists()
    assert "Secret Service" in capsys.readouterr().err


def test_default_location_is_the_user_data_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("COPILOT_TOOLS_TOKEN_CACHE")
    location = cache_module.cache_path()
    assert location.name == "msal_token_cache.json"
    assert "copilot-tools" in str(location)


WRITER = r"""
import sys, time
from copilot_tools.auth.cache import open_token_cache
cache = open_token_cache(sys.argv[1])
name = sys.argv[2]
for i in range(5):
    cache.add({
        "client_id": "client", "scope": [f"https://graph.microsoft.com/{name}{i}"],
        "token_endpoint": "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
        "response": {"access_token": f"{name}-{i}", "expires_in": 3600, "refresh_token": f"rt-{name}-{i}"},
    })
"""


def test_several_processes_share_one_cache_safely(tmp_path):
    path = tmp_path / "shared" / "cache.json"
    open_token_cache(path)
    env = {**os.environ, "COPILOT_TOOLS_TOKEN_CACHE_ENCRYPTION": "off",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"p{n}"], env=env, stderr=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    for process in processes:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    data = json.loads(path.read_text())
    secrets = {entry["secret"] for entry in data["AccessToken"].values()}
    assert secrets == {f"p{n}-{i}" for n in range(4) for i in range(5)}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(path.parent.glob("*.tmp"))
