"""The one place that turns ``Settings`` into a token provider.

- ``access_token`` set (argument or ``COPILOT_TOOLS_ACCESS_TOKEN``): that token.
- ``endpoint`` a plain-http loopback URL (the emulator, which accepts any bearer):
  the placeholder token ``emulator``; MSAL is never imported.
- otherwise MSAL's public client for the endpoint's scopes, with the shared cache:
  ``interactive=True`` (the CLI) may open a browser or show a device code on stderr;
  ``interactive=False`` (the MCP stdio server, libraries) never prompts: it raises
  ``SignInRequiredError`` carrying a device code that keeps polling in the background.

Hidden settings, read from the environment here (tests, national clouds):
``COPILOT_TOOLS_AUTHORITY`` (the authority host, e.g. ``https://login.microsoftonline.us``),
``COPILOT_TOOLS_CA_BUNDLE`` (a CA file for the authority's TLS), and
``COPILOT_TOOLS_SCOPES`` (space- or comma-separated scopes instead of the endpoint's).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from copilot_tools.auth.base import StaticTokenProvider, TokenProvider
from copilot_tools._net import is_loopback_url
from copilot_tools.auth.scopes import default_client_id, scopes_for_endpoint

if TYPE_CHECKING:
    from copilot_tools.auth.public import Interaction, MsalTokenProvider
    from copilot_tools.settings import Settings

ENV_AUTHORITY = "COPILOT_TOOLS_AUTHORITY"
ENV_CA_BUNDLE = "COPILOT_TOOLS_CA_BUNDLE"
ENV_SCOPES = "COPILOT_TOOLS_SCOPES"
EMULATOR_TOKEN = "emulator"


def scopes_from_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    override = env.get(ENV_SCOPES, "").replace(",", " ").split()
    return override or scopes_for_endpoint(settings.endpoint)


def msal_provider_from_settings(
    settings: Settings,
    *,
    interaction: Interaction = "none",
    environ: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> MsalTokenProvider:
    """The MSAL public-client provider for ``settings`` (``kwargs`` go to its constructor)."""
    from copilot_tools.auth.public import MsalTokenProvider

    from copilot_tools._protocol import validate_authority_host, validate_tenant

    env = os.environ if environ is None else environ
    kwargs.setdefault("authority_host", validate_authority_host(env.get(ENV_AUTHORITY) or None))
    kwargs.setdefault("ca_bundle", env.get(ENV_CA_BUNDLE) or None)
    return MsalTokenProvider(
        client_id=settings.client_id or default_client_id(settings.endpoint),
        scopes=scopes_from_settings(settings, env),
        tenant=validate_tenant(settings.tenant_id),
        account=settings.account,
        interaction=interaction,
        broker=settings.broker,
        **kwargs,
    )


def provider_from_settings(settings: Settings, *, interactive: bool, **kwargs: Any) -> TokenProvider:
    """The token provider every front end uses (see the module docstring).

    ``kwargs`` go to ``MsalTokenProvider`` (``token_cache``, ``device_code_prompt``,
    ``min_poll_interval``, ...) when MSAL is used.
    """
    if settings.access_token is not None:
        return StaticTokenProvider(settings.access_token)
    if is_loopback_url(settings.endpoint):
        return StaticTokenProvider(EMULATOR_TOKEN)
    if interactive:
        return msal_provider_from_settings(settings, interaction="auto", **kwargs)
    from copilot_tools.auth.device_flow import BackgroundDeviceFlowProvider

    return BackgroundDeviceFlowProvider(msal_provider_from_settings(settings, interaction="none", **kwargs))


def default_token_provider(settings: Settings) -> TokenProvider:
    """The provider a client uses when given neither ``token`` nor ``token_provider``.

    It never prompts: without a saved sign-in it raises ``SignInRequiredError`` at once,
    with a device code that keeps polling in the background.
    """
    return provider_from_settings(settings, interactive=False)
