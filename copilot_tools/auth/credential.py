"""Use any ``azure.core`` ``TokenCredential`` the caller already has.

``azure-core`` is optional (the ``[azure]`` extra): this module imports it only to
recognise its errors, and accepts any object with the credential's shape::

    from azure.identity import DefaultAzureCredential
    provider = CredentialTokenProvider(DefaultAzureCredential())

Scopes default to the endpoint's ``/.default`` scope (credentials such as the Azure
CLI's accept exactly one scope); pass ``scopes=`` for explicit permissions. Tokens are
reused until five minutes before they expire; ``force_refresh`` and claims
challenges (passed on as ``claims=`` with ``enable_cae=True``) bypass that. An async
credential (``azure.core.credentials_async.AsyncTokenCredential``) works through
``aget_token``.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Sequence
from typing import Any

from copilot_tools.auth.scopes import scopes_for_endpoint
from copilot_tools.errors import AuthenticationError

_MARGIN = 300.0


def _is_async(method: Any) -> bool:
    return inspect.iscoroutinefunction(method)


def _auth_error(exc: BaseException) -> AuthenticationError:
    from copilot_tools._redact import redact

    text = redact(str(getattr(exc, "message", None) or exc).strip().splitlines()[0] if str(exc).strip() else "")
    return AuthenticationError(
        f"The Azure credential could not get a token ({type(exc).__name__}{': ' + text if text else ''}).",
        hint="Check the credential's own sign-in (for example `az login`).",
    )


def _credential_errors() -> tuple[type[BaseException], ...]:
    try:
        from azure.core.exceptions import ClientAuthenticationError
    except ImportError:  # duck-typed credential without azure-core installed
        return ()
    return (ClientAuthenticationError,)


class CredentialTokenProvider:
    """``TokenProvider`` over an ``azure.core`` (async) ``TokenCredential`` (module docstring)."""

    def __init__(
        self,
        credential: Any,
        *,
        scopes: Sequence[str] | None = None,
        endpoint: str = "graph",
        tenant_id: str | None = None,
    ) -> None:
        if not (hasattr(credential, "get_token") or hasattr(credential, "get_token_info")):
            raise TypeError("credential must be an azure.core TokenCredential (with get_token)")
        self.credential = credential
        self.scopes = list(scopes) if scopes else scopes_for_endpoint(endpoint, default_scope=True)
        self.tenant_id = tenant_id
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0

    def __repr__(self) -> str:
        return f"CredentialTokenProvider({type(self.credential).__name__}, scopes={self.scopes!r})"

    def _cached(self, claims: str | None, force_refresh: bool) -> str | None:
        if claims or force_refresh:
            return None
        with self._lock:
            if self._token and self._expires_on - _MARGIN > time.time():
                return self._token
        return None

    def _keep(self, token: str, expires_on: float) -> str:
        with self._lock:
            self._token, self._expires_on = token, float(expires_on)
        return token

    def _kwargs(self, claims: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"enable_cae": True}
        if claims:
            kwargs["claims"] = claims
        if self.tenant_id:
            kwargs["tenant_id"] = self.tenant_id
        return kwargs

    def _options(self, claims: str | None) -> dict[str, Any]:
        return self._kwargs(claims)

    def get_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
        cached = self._cached(claims, force_refresh)
        if cached:
            return cached
        info_method = getattr(self.credential, "get_token_info", None)
        method = info_method or self.credential.get_token
        if _is_async(method):
            raise TypeError("This credential is async: use `await provider.aget_token()` (the async client does).")
        try:
            if info_method is not None:
                info = info_method(*self.scopes, options=self._options(claims))
            else:
                info = self.credential.get_token(*self.scopes, **self._kwargs(claims))
        except _credential_errors() as exc:
            raise _auth_error(exc) from None
        return self._keep(info.token, info.expires_on)

    async def aget_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
        cached = self._cached(claims, force_refresh)
        if cached:
            return cached
        info_method = getattr(self.credential, "get_token_info", None)
        method = info_method or self.credential.get_token
        if not _is_async(method):
            import asyncio

            return await asyncio.to_thread(self.get_token, claims=claims, force_refresh=force_refresh)
        try:
            if info_method is not None:
                info = await info_method(*self.scopes, options=self._options(claims))
            else:
                info = await self.credential.get_token(*self.scopes, **self._kwargs(claims))
        except _credential_errors() as exc:
            raise _auth_error(exc) from None
        return self._keep(info.token, info.expires_on)
