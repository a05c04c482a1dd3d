"""On-behalf-of: a server exchanges each user's incoming token for a Graph token.

For the MCP server over HTTP (many users). The server validates the incoming token
(signature, issuer, audience = its own API, scopes, expiry) first; then, per request::

    obo = OnBehalfOfProvider(client_id=..., client_credential=..., tenant_id=..., scopes=...)
    provider = obo.for_user(incoming_token)      # a TokenProvider for this user only
    client = CopilotClient(token_provider=provider, ...)

Exchanged tokens are cached in memory, keyed by (tenant id, object id, scopes) of the
user and bound to the exact incoming token that produced them (a SHA-256 of it), until
``expiry_margin`` seconds before they expire. They are never served to another user,
nor to a different incoming token claiming the same user: a forged or replayed
assertion cannot fish a cached token out, it has to go through the identity provider.
The cache is bounded (least recently used out).

Replicas of one server can share the exchanged tokens through a ``TokenStore``
(``token_store=``; the MCP server's Redis store seals them with a key from the
environment): the same rules apply to what it returns, and a store that fails is a
cache miss, never a failed exchange.

Failures are not retried: consent missing (``ConsentRequiredError``), a claims or MFA
challenge (``AuthenticationError`` with ``.claims`` for the server to send back in its
``WWW-Authenticate``), an invalid or expired assertion (``AuthenticationError``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from copilot_tools.auth.errors import error_from_msal_result
from copilot_tools.auth.jwt_display import decode_payload
from copilot_tools.auth.public import (
    CLIENT_CAPABILITIES,
    DEFAULT_AUTHORITY_HOST,
    MsalApplicationOwner,
    _network_error,
    build_msal_app,
)
from copilot_tools.errors import AuthenticationError

ClientCredential = str | dict[str, Any]
logger = logging.getLogger(__name__)


@dataclass
class _Entry:
    token: str
    expires_at: float
    assertion_digest: str


class TokenStore(Protocol):
    """Where exchanged tokens are shared (across replicas). ``key`` names the user and scopes;
    values come back exactly as put, or None. Implementations keep a value at most until
    ``expires_at`` (epoch seconds) and may raise on failure (treated as a miss)."""

    def get(self, key: str) -> tuple[str, float, str] | None:
        """``(token, expires_at, assertion digest)``."""

    def put(self, key: str, token: str, expires_at: float, assertion_digest: str) -> None: ...

    def delete(self, key: str) -> None: ...


def _digest(assertion: str) -> str:
    return hashlib.sha256(assertion.encode("utf-8")).hexdigest()


def _store_key(key: tuple[str, str, tuple[str, ...]]) -> str:
    """The shared store's key: a digest, so the store's keys name no user."""
    tenant, oid, scopes = key
    return hashlib.sha256("\n".join((tenant, oid, *scopes)).encode("utf-8")).hexdigest()


def _user_key(assertion: str, scopes: tuple[str, ...]) -> tuple[str, str, tuple[str, ...]]:
    claims = decode_payload(assertion) or {}
    tenant, oid = claims.get("tid"), claims.get("oid")
    if not tenant or not oid:
        # Not a JWT with tid/oid: key by the assertion itself (still one user's).
        return ("", _digest(assertion), scopes)
    return (str(tenant), str(oid), scopes)


class OnBehalfOfProvider(MsalApplicationOwner):
    """Exchanges incoming user tokens for downstream tokens with a confidential client.

    ``client_credential``: a client secret, ``{"private_key": ..., "thumbprint": ...}``
    for a certificate, or ``{"client_assertion": callable}`` for a federated credential
    (managed identity); see MSAL's ``ConfidentialClientApplication``. ``tenant_id`` is
    the tenant of the server's app registration (a GUID or domain).
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_credential: ClientCredential,
        tenant_id: str,
        scopes: Sequence[str],
        authority_host: str | None = None,
        ca_bundle: str | None = None,
        expiry_margin: float = 300.0,
        max_entries: int = 10_000,
        http_timeout: float = 30.0,
        http_client: Any = None,
        client_capabilities: Sequence[str] | None = tuple(CLIENT_CAPABILITIES),
        token_store: TokenStore | None = None,
    ) -> None:
        if not scopes:
            raise ValueError("OnBehalfOfProvider needs at least one scope")
        self.client_id = client_id
        self.tenant_id = tenant_id
        self.scopes = tuple(scopes)
        self.authority_host = (authority_host or DEFAULT_AUTHORITY_HOST).rstrip("/")
        self.expiry_margin = expiry_margin
        self.max_entries = max_entries
        self._credential = client_credential
        self._ca_bundle = ca_bundle
        self._http_timeout = http_timeout
        self._http_client = http_client
        self._capabilities = list(client_capabilities) if client_capabilities else None
        super().__init__()
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str, tuple[str, ...]], _Entry] = OrderedDict()
        self._key_locks: dict[tuple[str, str, tuple[str, ...]], threading.Lock] = {}
        self.token_store = token_store
        #: How many exchanges went to the identity provider (for metrics and tests).
        self.exchanges = 0

    def __repr__(self) -> str:
        return (
            f"OnBehalfOfProvider(client_id={self.client_id!r}, tenant_id={self.tenant_id!r}, "
            f"scopes={list(self.scopes)!r})"
        )

    def _build_app(self) -> Any:
        """The MSAL ``ConfidentialClientApplication``."""
        return build_msal_app(
            "ConfidentialClientApplication", self.client_id, self.authority_host, timeout=self._http_timeout,
            http_client=self._http_client, ca_bundle=self._ca_bundle,
            authority=f"{self.authority_host}/{self.tenant_id}", client_credential=self._credential,
            client_capabilities=self._capabilities,
            # Never keep other users' tokens inside MSAL: this class is the only cache.
            token_cache=_NoStoreTokenCache(),
        )

    # ------------------------------------------------------------------ exchange

    def exchange(self, user_assertion: str, *, claims: str | None = None, force_refresh: bool = False) -> str:
        """A downstream token for the user of ``user_assertion`` (cached; see the module docstring)."""
        if not user_assertion or not user_assertion.strip():
            raise AuthenticationError(
                "No user token to exchange.", hint="The request must carry the user's bearer token."
            )
        key = _user_key(user_assertion, self.scopes)
        digest = _digest(user_assertion)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if not (claims or force_refresh):
                cached = self._lookup(key, digest)
                if cached is not None:
                    return cached
            token, expires_in = self._exchange(user_assertion, claims)
            self._store(key, _Entry(token, time.time() + expires_in, digest))
            return token

    async def aexchange(self, user_assertion: str, *, claims: str | None = None, force_refresh: bool = False) -> str:
        return await asyncio.to_thread(self.exchange, user_assertion, claims=claims, force_refresh=force_refresh)

    def for_user(self, user_assertion: str) -> UserTokenProvider:
        """A ``TokenProvider`` for this one user's requests (cheap: create one per request)."""
        return UserTokenProvider(self, user_assertion)

    def forget(self, user_assertion: str) -> None:
        """Drop the cached token of the user of ``user_assertion`` (say, on sign-out)."""
        key = _user_key(user_assertion, self.scopes)
        with self._lock:
            self._entries.pop(key, None)
            self._key_locks.pop(key, None)
        if self.token_store is not None:
            try:
                self.token_store.delete(_store_key(key))
            except Exception as exc:  # noqa: BLE001
                logger.warning("On-behalf-of token not forgotten in the shared store (%s)", type(exc).__name__)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._key_locks.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _lookup(self, key: tuple[str, str, tuple[str, ...]], digest: str) -> str | None:
        local = self._lookup_local(key, digest)
        if local is not None or self.token_store is None:
            return local
        try:
            shared = self.token_store.get(_store_key(key))
        except Exception as exc:  # noqa: BLE001 - a store that fails is a miss
            logger.warning("On-behalf-of token store unavailable (%s); exchanging instead", type(exc).__name__)
            return None
        if shared is None:
            return None
        entry = _Entry(*shared)
        if entry.assertion_digest != digest or entry.expires_at - self.expiry_margin <= time.time():
            return None
        self._store_local(key, entry)
        return entry.token

    def _lookup_local(self, key: tuple[str, str, tuple[str, ...]], digest: str) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires_at - self.expiry_margin <= time.time():
                del self._entries[key]
                return None
            if entry.assertion_digest != digest:
                return None  # same user id, different incoming token: exchange again
            self._entries.move_to_end(key)
            return entry.token

    def _store(self, key: tuple[str, str, tuple[str, ...]], entry: _Entry) -> None:
        if entry.expires_at - self.expiry_margin <= time.time():
            return  # too short-lived to be worth caching
        self._store_local(key, entry)
        if self.token_store is not None:
            try:
                self.token_store.put(_store_key(key), entry.token, entry.expires_at, entry.assertion_digest)
            except Exception as exc:  # noqa: BLE001 - the token is still served from this replica
                logger.warning("On-behalf-of token not shared (%s)", type(exc).__name__)

    def _store_local(self, key: tuple[str, str, tuple[str, ...]], entry: _Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                old, _ = self._entries.popitem(last=False)
                self._key_locks.pop(old, None)

    def _exchange(self, user_assertion: str, claims: str | None) -> tuple[str, float]:
        try:
            result = self.app.acquire_token_on_behalf_of(user_assertion, list(self.scopes), claims_challenge=claims)
        except OSError as exc:
            raise _network_error(self.authority_host, exc) from None
        self.exchanges += 1
        if "access_token" not in result:
            raise error_from_msal_result(
                result,
                action="Exchanging the user's token (on-behalf-of)",
                client_id=self.client_id,
                tenant=self.tenant_id,
                authority_host=self.authority_host,
                hint="The user's token was not accepted for the exchange: the client must sign the user in again "
                "(send the claims, if any, in the 401's WWW-Authenticate).",
            )
        return str(result["access_token"]), float(result.get("expires_in") or 0)


class UserTokenProvider:
    """``TokenProvider`` view of ``OnBehalfOfProvider`` for one incoming token."""

    def __init__(self, exchanger: OnBehalfOfProvider, user_assertion: str) -> None:
        self._exchanger = exchanger
        self._assertion = user_assertion

    def get_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
        return self._exchanger.exchange(self._assertion, claims=claims, force_refresh=force_refresh)

    async def aget_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
        return await self._exchanger.aexchange(self._assertion, claims=claims, force_refresh=force_refresh)

    def __repr__(self) -> str:
        return "UserTokenProvider(user_assertion='**********')"


def _no_store_cache_class() -> type:
    import msal  # type: ignore[import-untyped]

    class NoStore(msal.TokenCache):  # type: ignore[misc]
        def add(self, event: dict[str, Any], now: Any = None) -> None:
            return None

    return NoStore


def _NoStoreTokenCache() -> Any:
    return _no_store_cache_class()()


__all__ = ["OnBehalfOfProvider", "TokenStore", "UserTokenProvider"]
