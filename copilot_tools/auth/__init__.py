"""Token sources for the clients, the MCP server and LangChain.

One interface (``TokenProvider.get_token(claims=, force_refresh=)``), many sources:

- ``StaticTokenProvider``: a token given directly or through ``COPILOT_TOOLS_ACCESS_TOKEN``;
- ``MsalTokenProvider``: the user's own sign-in (silent, browser, device code) with the
  shared persistent cache (``open_token_cache``);
- ``BackgroundDeviceFlowProvider``: the same for hosts that cannot prompt (MCP stdio):
  raises ``SignInRequiredError`` with a device code and polls in the background;
- ``OnBehalfOfProvider``: a server exchanging each user's token (per-user cache);
- ``CredentialTokenProvider``: any ``azure.core`` ``TokenCredential``.

``provider_from_settings(settings, interactive=...)`` picks the right one. Importing
this package does not import MSAL (names below load their module on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from copilot_tools._lazy import lazy_exports
from copilot_tools.auth.base import AsyncTokenProvider, StaticTokenProvider, TokenProvider
from copilot_tools.auth.errors import ConsentRequiredError, SignInFailedError, SignInRequiredError

if TYPE_CHECKING:
    from copilot_tools.auth.cache import TokenCacheError, open_token_cache
    from copilot_tools.auth.credential import CredentialTokenProvider
    from copilot_tools.auth.device_flow import BackgroundDeviceFlowProvider, DeviceCodeFlow
    from copilot_tools.auth.factory import msal_provider_from_settings, provider_from_settings
    from copilot_tools.auth.obo import OnBehalfOfProvider, UserTokenProvider
    from copilot_tools.auth.public import Account, DeviceCode, MsalTokenProvider, browser_available
    from copilot_tools.auth.scopes import scopes_for_endpoint

_LAZY: dict[str, str] = {
    "TokenCacheError": ".cache",
    "open_token_cache": ".cache",
    "CredentialTokenProvider": ".credential",
    "BackgroundDeviceFlowProvider": ".device_flow",
    "DeviceCodeFlow": ".device_flow",
    "msal_provider_from_settings": ".factory",
    "provider_from_settings": ".factory",
    "OnBehalfOfProvider": ".obo",
    "UserTokenProvider": ".obo",
    "Account": ".public",
    "DeviceCode": ".public",
    "MsalTokenProvider": ".public",
    "browser_available": ".public",
    "scopes_for_endpoint": ".scopes",
}


__getattr__ = lazy_exports(__name__, globals(), _LAZY)


__all__ = [
    "Account",
    "AsyncTokenProvider",
    "BackgroundDeviceFlowProvider",
    "ConsentRequiredError",
    "CredentialTokenProvider",
    "DeviceCode",
    "DeviceCodeFlow",
    "MsalTokenProvider",
    "OnBehalfOfProvider",
    "SignInFailedError",
    "SignInRequiredError",
    "StaticTokenProvider",
    "TokenCacheError",
    "TokenProvider",
    "UserTokenProvider",
    "browser_available",
    "msal_provider_from_settings",
    "open_token_cache",
    "provider_from_settings",
    "scopes_for_endpoint",
]
