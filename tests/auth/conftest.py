"""Fixtures: a throwaway CA, the identity-provider stand-in, a private cache per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from copilot_tools.auth.cache import open_token_cache
from copilot_tools.auth.public import DeviceCode, MsalTokenProvider
from copilot_tools.auth.scopes import GRAPH_DEFAULT_CLIENT_ID, scopes_for_endpoint
from tests.auth.idp import FakeIdentityProvider

CLIENT_ID = GRAPH_DEFAULT_CLIENT_ID
GRAPH_SCOPES = scopes_for_endpoint("graph")


@pytest.fixture
def idp(ca: trustme.CA) -> Iterator[FakeIdentityProvider]:
    provider = FakeIdentityProvider(ca).start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(autouse=True)
def private_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the real user's cache, keyring or settings."""
    cache_dir = tmp_path / "data"
    monkeypatch.setenv("COPILOT_TOOLS_TOKEN_CACHE", str(cache_dir / "token_cache.json"))
    monkeypatch.setenv("COPILOT_TOOLS_TOKEN_CACHE_ENCRYPTION", "off")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("COPILOT_TOOLS_CONFIG", str(tmp_path / "no-config.toml"))
    for name in ("COPILOT_TOOLS_ACCESS_TOKEN", "COPILOT_TOOLS_ENDPOINT", "COPILOT_TOOLS_ACCOUNT",
                 "COPILOT_TOOLS_TENANT_ID", "COPILOT_TOOLS_CLIENT_ID", "COPILOT_TOOLS_AUTHORITY",
                 "COPILOT_TOOLS_CA_BUNDLE", "COPILOT_TOOLS_SCOPES"):
        monkeypatch.delenv(name, raising=False)
    return cache_dir / "token_cache.json"


@pytest.fixture
def cache_file(private_environment: Path) -> Path:
    return private_environment


class Prompts(list[DeviceCode]):
    """Collects device-code prompts; optionally approves them at once as ``approve_as``."""

    def __init__(self, idp: FakeIdentityProvider) -> None:
        super().__init__()
        self.idp = idp
        self.approve_as: str | None = None

    def __call__(self, code: DeviceCode) -> None:
        self.append(code)
        if self.approve_as:
            self.idp.approve(code.user_code, self.approve_as)


@pytest.fixture
def prompts(idp: FakeIdentityProvider) -> Prompts:
    return Prompts(idp)


@pytest.fixture
def make_provider(idp: FakeIdentityProvider, ca_file: str, cache_file: Path, prompts: Prompts) -> Any:
    """A new MsalTokenProvider on the stand-in; each call opens the cache afresh (a "restart")."""

    def make(**kwargs: Any) -> MsalTokenProvider:
        options: dict[str, Any] = {
            "client_id": CLIENT_ID,
            "scopes": GRAPH_SCOPES,
            "authority_host": idp.base_url,
            "ca_bundle": ca_file,
            "interaction": "device_code",
            "device_code_prompt": prompts,
            "min_poll_interval": 0.02,
        }
        options.update(kwargs)
        if "token_cache" not in options:
            options["token_cache"] = open_token_cache(cache_file)
        return MsalTokenProvider(**options)

    return make


@pytest.fixture
def auth_env(idp: FakeIdentityProvider, ca_file: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment that points the settings-driven code (factory, CLI) at the stand-in."""
    monkeypatch.setenv("COPILOT_TOOLS_AUTHORITY", idp.base_url)
    monkeypatch.setenv("COPILOT_TOOLS_CA_BUNDLE", ca_file)
    return {"COPILOT_TOOLS_AUTHORITY": idp.base_url, "COPILOT_TOOLS_CA_BUNDLE": ca_file}
