"""Sign-in through the platform broker: which arguments reach MSAL, from the settings.

Device-based Conditional Access accepts only tokens obtained through WAM (Windows) or
the Enterprise SSO plug-in (macOS). With ``msal[broker]`` installed (the dev extra
installs it) the public client opts in; ``broker = false`` or ``COPILOT_TOOLS_BROKER``
turns it off; without the extra nothing changes. The real ``PublicClientApplication``
is built each time (against the identity-provider stand-in); the test only records the
arguments it was given.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import msal  # type: ignore[import-untyped]
import pytest

from copilot_tools.auth import provider_from_settings
from copilot_tools.settings import Settings
from tests.auth.idp import decode_jwt

BROKER_ARGUMENTS = {"enable_broker_on_windows": True, "enable_broker_on_mac": True}


@pytest.fixture
def msal_arguments(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments of every PublicClientApplication built during the test."""
    seen: list[dict[str, Any]] = []

    class Recording(msal.PublicClientApplication):  # type: ignore[misc]
        def __init__(self, client_id: str, **kwargs: Any) -> None:
            seen.append(kwargs)
            super().__init__(client_id, **kwargs)

    monkeypatch.setattr(msal, "PublicClientApplication", Recording)
    return seen


def built_app_arguments(settings: Settings, msal_arguments: list[dict[str, Any]]) -> dict[str, Any]:
    provider: Any = provider_from_settings(settings, interactive=True)
    assert provider.app is not None
    return msal_arguments[-1]


def broker_part(arguments: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in arguments.items() if key.startswith("enable_broker")}


def test_the_broker_is_used_when_the_extra_is_installed(
    auth_env: dict[str, str], msal_arguments: list[dict[str, Any]]
) -> None:
    settings = Settings.load()
    assert settings.broker is True and settings.sources["broker"] == "default"
    assert broker_part(built_app_arguments(settings, msal_arguments)) == BROKER_ARGUMENTS


@pytest.mark.parametrize("value", ["false", "0", "off"])
def test_the_environment_turns_the_broker_off(auth_env: dict[str, str], msal_arguments: list[dict[str, Any]],
                                              monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("COPILOT_TOOLS_BROKER", value)
    settings = Settings.load()
    assert settings.broker is False
    assert broker_part(built_app_arguments(settings, msal_arguments)) == {}


def test_the_config_file_turns_the_broker_off(auth_env: dict[str, str], msal_arguments: list[dict[str, Any]],
                                              tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[copilot-tools]\nbroker = false\n", encoding="utf-8")
    settings = Settings.load(config_path=config)
    assert settings.sources["broker"] == f"config file ({config})"
    assert broker_part(built_app_arguments(settings, msal_arguments)) == {}


def test_without_the_extra_msal_is_not_asked_for_the_broker(
    auth_env: dict[str, str], msal_arguments: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pymsalruntime", None)  # as if msal[broker] were not installed
    assert broker_part(built_app_arguments(Settings.load(), msal_arguments)) == {}


def test_sign_in_still_works_where_the_platform_has_no_broker(make_provider: Any, prompts: Any,
                                                              msal_arguments: list[dict[str, Any]]) -> None:
    # On Linux MSAL ignores the Windows and macOS opt-ins: device code sign-in goes on as before.
    prompts.approve_as = "adele.vance@contoso.com"
    provider = make_provider()
    token = provider.get_token()
    assert broker_part(msal_arguments[-1]) == BROKER_ARGUMENTS
    assert decode_jwt(token)["preferred_username"] == "adele.vance@contoso.com"
