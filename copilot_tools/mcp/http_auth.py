"""Inbound authentication for the MCP server over streamable HTTP, with Microsoft Entra ID.

Over HTTP the server is an OAuth 2.1 resource server (the MCP authorization spec): every
request carries the user's access token for *this server's own API* (audience
``api://<client-id>``), never a Graph token. The pieces:

- ``EntraAuthConfig``: what an operator configures (tenant, the API's client id and
  credential, the required scope, the public URL of the MCP endpoint), validated
  on construction so a bad value stops the server at start-up with a message.
- ``EntraTokenVerifier``: the SDK's ``TokenVerifier``. It checks the RS256 signature
  against the tenant's published keys (fetched from the OpenID configuration, cached,
  refetched when a token names a key it has not seen), the issuer, the tenant, the
  audience, expiry and not-before (with a small leeway), and that the token is a user's
  (delegated, with ``scp``) rather than an application's. The SDK's middleware then
  answers 401 to a token it refuses and 403 to one without the required scope, with
  ``WWW-Authenticate`` pointing at the protected-resource metadata.
- ``EntraAuth``: the above plus on-behalf-of. A tool asks ``caller()`` who the current
  request is for (the validated token the SDK put in its request context) and
  ``token_provider(caller)`` for a Graph token exchanged for that user alone. The
  incoming token is never sent anywhere but the identity provider.

Nothing here logs a token: rejections are logged with their reason only.
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import jwt
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from pydantic import AnyHttpUrl, SecretStr

from copilot_tools.errors import AuthConfigError, AuthenticationError
from copilot_tools.mcp.resources import owner_of_token, token_owner

if TYPE_CHECKING:
    from copilot_tools.auth.base import TokenProvider
    from copilot_tools.auth.obo import OnBehalfOfProvider, TokenStore

logger = logging.getLogger(__name__)

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_SCOPE = "access_as_user"
#: Clock skew tolerated on ``exp`` and ``nbf`` (the Entra guidance: at most a minute).
DEFAULT_LEEWAY = 30.0
#: How long fetched signing keys are trusted before they are fetched again.
DEFAULT_KEYS_TTL = 6 * 3600.0
#: The least time between two fetches of the keys.
DEFAULT_KEYS_MIN_REFRESH = 60.0
V1_ISSUER = "https://sts.windows.net/{tid}/"

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SCOPE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EntraAuthConfig:
    """How the HTTP server authenticates its users (see ``servers/README.md``).

    - ``tenant_id``: the tenant (GUID) of the server's app registration.
    - ``client_id``: that app's client id: the audience of incoming tokens and the
      confidential client that exchanges them on-behalf-of.
    - ``client_secret`` or ``certificate_path`` (PEM: private key and certificate;
      ``certificate_thumbprint`` is computed from it when not given): its credential.
    - ``resource_url``: the URL clients use for the MCP endpoint (``https://host/mcp``),
      published as the protected resource (RFC 9728 wants an exact match).
    - ``scope``: the delegated scope tokens must carry (``access_as_user``).
    - ``app_id_uri``: the Application ID URI (default ``api://<client_id>``); tokens for it
      or for the bare client id are accepted, and the scope is published as
      ``<app_id_uri>/<scope>`` for clients to request.
    - ``allowed_tenants``: the tenants whose users may call (default: ``tenant_id`` alone).
    - ``allowed_client_ids``: if set, only tokens obtained by these client apps (``azp``).
    - ``accept_v1_tokens``: also accept v1.0 tokens (issuer ``https://sts.windows.net/{tid}/``).
    - ``authority_host`` / ``ca_bundle``: another cloud, or a test stand-in and its CA.
    - ``downstream_scopes``: what the on-behalf-of exchange asks for (Graph by default).
    """

    tenant_id: str
    client_id: str
    resource_url: str
    client_secret: SecretStr | None = None
    certificate_path: Path | None = None
    certificate_thumbprint: str | None = None
    scope: str = DEFAULT_SCOPE
    app_id_uri: str | None = None
    allowed_tenants: tuple[str, ...] = ()
    allowed_client_ids: tuple[str, ...] = ()
    accept_v1_tokens: bool = False
    authority_host: str = DEFAULT_AUTHORITY_HOST
    ca_bundle: str | None = None
    downstream_scopes: tuple[str, ...] = ("https://graph.microsoft.com/.default",)
    leeway: float = DEFAULT_LEEWAY
    _credential: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not self.tenant_id or not _GUID.fullmatch(self.tenant_id.strip()):
            raise AuthConfigError(
                f"the tenant id {self.tenant_id or '(none)'!r} is not a GUID",
                "Set --auth-tenant (or COPILOT_TOOLS_MCP_TENANT_ID) to the Directory (tenant) ID of the "
                "server's app registration, e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47.",
            )
        if not self.client_id or not _GUID.fullmatch(self.client_id.strip()):
            raise AuthConfigError(
                f"the API client id {self.client_id or '(none)'!r} is not a GUID",
                "Set --auth-client-id (or COPILOT_TOOLS_MCP_CLIENT_ID) to the Application (client) ID of the "
                "app registration that exposes the server's API.",
            )
        set_(self, "tenant_id", self.tenant_id.strip().lower())
        set_(self, "client_id", self.client_id.strip().lower())
        tenants = tuple(t.strip().lower() for t in self.allowed_tenants if t.strip()) or (self.tenant_id,)
        bad = [t for t in tenants if not _GUID.fullmatch(t)]
        if bad:
            raise AuthConfigError(f"allowed tenants must be tenant GUIDs, not {', '.join(map(repr, bad))}",
                                  "List tenant ids separated by commas.")
        set_(self, "allowed_tenants", tenants)
        set_(self, "allowed_client_ids", tuple(c.strip().lower() for c in self.allowed_client_ids if c.strip()))
        if not _SCOPE_NAME.fullmatch(self.scope or ""):
            raise AuthConfigError(f"the scope {self.scope!r} is not a scope name",
                                  f"Give the scope's name as exposed by the API, e.g. {DEFAULT_SCOPE}.")
        set_(self, "app_id_uri", (self.app_id_uri or f"api://{self.client_id}").rstrip("/"))
        set_(self, "authority_host", _checked_authority(self.authority_host))
        try:
            url = AnyHttpUrl(self.resource_url)
        except ValueError:
            raise AuthConfigError(
                f"the resource URL {self.resource_url!r} is not an http(s) URL",
                "Set --auth-resource-url to the URL clients use, e.g. https://mcp.contoso.com/mcp.",
            ) from None
        if url.scheme != "https" and not _is_loopback(url.host or ""):
            raise AuthConfigError(
                f"the resource URL {self.resource_url} is plain http on a non-loopback host: bearer tokens would "
                "cross the network unencrypted",
                "Serve it behind TLS (a reverse proxy terminating https) and give the https URL.",
            )
        if not self.downstream_scopes:
            raise AuthConfigError("no scopes to request on-behalf-of the user")
        set_(self, "_credential", self._load_credential())

    # --- derived values ---------------------------------------------------------------------

    @property
    def issuer_url(self) -> str:
        """The authorization server clients get tokens from (published in the resource metadata)."""
        return f"{self.authority_host}/{self.tenant_id}/v2.0"

    @property
    def required_scope(self) -> str:
        """The scope as clients request it: ``<app_id_uri>/<scope>``."""
        return f"{self.app_id_uri}/{self.scope}"

    @property
    def audiences(self) -> tuple[str, ...]:
        """What ``aud`` may be: v2 tokens carry the client id, v1 tokens the App ID URI."""
        return tuple(dict.fromkeys((self.app_id_uri or "", self.client_id, f"api://{self.client_id}")))

    @property
    def client_credential(self) -> Any:
        """The confidential client's credential, in MSAL's shape (never logged or shown)."""
        return self._credential

    def issuers(self, tenant: str) -> tuple[str, ...]:
        v2 = f"{self.authority_host}/{tenant}/v2.0"
        return (v2, V1_ISSUER.format(tid=tenant)) if self.accept_v1_tokens else (v2,)

    def auth_settings(self) -> AuthSettings:
        """The SDK's settings: protected-resource metadata, required scope; audience is ours to check."""
        return AuthSettings(
            issuer_url=AnyHttpUrl(self.issuer_url),
            resource_server_url=AnyHttpUrl(self.resource_url),
            required_scopes=[self.required_scope],
            validate_token_resource=False,  # EntraTokenVerifier checks the audience itself
        )

    def _load_credential(self) -> Any:
        secret = self.client_secret.get_secret_value().strip() if self.client_secret is not None else ""
        if secret and self.certificate_path is not None:
            raise AuthConfigError("both a client secret and a certificate are configured",
                                  "Keep one: unset COPILOT_TOOLS_MCP_CLIENT_SECRET or --auth-certificate.")
        if secret:
            return secret
        if self.certificate_path is None:
            raise AuthConfigError(
                "the server has no credential to exchange users' tokens for Microsoft Graph tokens (on-behalf-of)",
                "Set COPILOT_TOOLS_MCP_CLIENT_SECRET to a client secret of the API's app registration, or "
                "--auth-certificate to a PEM file holding its certificate and private key.",
            )
        return _certificate_credential(self.certificate_path, self.certificate_thumbprint)


def _certificate_credential(path: Path, thumbprint: str | None) -> dict[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        pem = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthConfigError(f"cannot read the certificate {path}: {type(exc).__name__}",
                              "Give a PEM file with the private key and the certificate.") from None
    key = re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", pem, re.DOTALL)
    cert = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", pem, re.DOTALL)
    if key is None or (cert is None and not thumbprint):
        raise AuthConfigError(f"{path} must hold the private key and the certificate (PEM)",
                              "Concatenate them: cat key.pem cert.pem > server.pem.")
    if "ENCRYPTED" in key.group(0).split("\n", 1)[0]:
        raise AuthConfigError(f"the private key in {path} is encrypted, and no passphrase can be given",
                              "Store it unencrypted in a file only the server's account can read (chmod 600).")
    credential = {"private_key": key.group(0)}
    if cert is not None:
        try:
            certificate = x509.load_pem_x509_certificate(cert.group(0).encode())
        except ValueError:
            raise AuthConfigError(f"the certificate in {path} does not parse",
                                  "Give the PEM certificate uploaded to the app registration.") from None
        credential["public_certificate"] = cert.group(0)  # sends x5c: subject-name/issuer auth works too
        computed = certificate.fingerprint(hashes.SHA1()).hex()
        if thumbprint and thumbprint.replace(":", "").lower() != computed:
            raise AuthConfigError(f"the thumbprint given does not match the certificate in {path}",
                                  f"Its SHA-1 thumbprint is {computed.upper()}; or leave the thumbprint out.")
        thumbprint = computed
    credential["thumbprint"] = (thumbprint or "").replace(":", "").upper()
    return credential


def _checked_authority(value: str) -> str:
    """The identity provider's base URL: https (plain http only on loopback, for test stand-ins),
    because the token-signing keys come from it and a key fetched in clear text can be forged."""
    from copilot_tools._protocol import split_base_url
    from copilot_tools.errors import InvalidInputError

    hint = "Set COPILOT_TOOLS_AUTHORITY to an https URL such as https://login.microsoftonline.us (or unset it)."
    try:
        parts = split_base_url("authority", value.strip().rstrip("/"))
    except InvalidInputError as exc:
        raise AuthConfigError(f"the authority host is not usable: {exc.message}", hint) from None
    if parts.scheme != "https" and not _is_loopback(parts.hostname or ""):
        raise AuthConfigError(
            f"the authority host {value[:200]!r} is plain http: the token-signing keys would be fetched unencrypted",
            hint,
        )
    return value.strip().rstrip("/")


def is_secure_url(url: object) -> bool:
    """https, or plain http to this machine (a test stand-in): where signing keys may come from."""
    from urllib.parse import urlsplit

    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname or ""))


def _is_loopback(host: str) -> bool:
    from copilot_tools._net import is_loopback_host

    return is_loopback_host(host)


# --- signing keys ----------------------------------------------------------------------------


class SigningKeys:
    """The identity provider's token-signing keys by ``kid``, from its OpenID configuration.

    Fetched on first use, kept ``ttl`` seconds, fetched again when a token names a key
    not in the set (Entra rotates keys and publishes the new one first). Two fetches are
    at least ``min_refresh`` seconds apart, so made-up key ids cannot turn the server into
    a load generator for the identity provider. When a fetch fails, the keys already
    known stay in use.
    """

    def __init__(
        self,
        discovery_url: str,
        *,
        ca_bundle: str | None = None,
        ttl: float = DEFAULT_KEYS_TTL,
        min_refresh: float = DEFAULT_KEYS_MIN_REFRESH,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.discovery_url = discovery_url
        self.ttl = ttl
        self.min_refresh = min_refresh
        self._ca_bundle = ca_bundle
        self._http = http_client
        self._owns_http = http_client is None
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = anyio.Lock()
        #: How many times the key set was fetched (for tests and metrics).
        self.fetches = 0

    async def get(self, kid: str) -> Any | None:
        """The public key for ``kid``, or None when the identity provider does not publish it."""
        if kid in self._keys and self._fresh():
            return self._keys[kid]
        async with self._lock:
            if kid in self._keys and self._fresh():
                return self._keys[kid]  # another request fetched it meanwhile
            if time.monotonic() - self._attempted_at >= self.min_refresh:
                await self._refresh()
            return self._keys.get(kid)

    def _fresh(self) -> bool:
        return time.monotonic() - self._fetched_at < self.ttl

    async def _refresh(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            client = self._client()
            discovery = await client.get(self.discovery_url)
            discovery.raise_for_status()
            jwks_uri = discovery.json()["jwks_uri"]
            if not is_secure_url(jwks_uri):
                raise ValueError("the published jwks_uri is not https")
            response = await client.get(jwks_uri)
            response.raise_for_status()
            keys = {}
            for item in response.json().get("keys", []):
                if item.get("kty") != "RSA" or item.get("use", "sig") != "sig" or not item.get("kid"):
                    continue
                keys[str(item["kid"])] = jwt.PyJWK(item, algorithm="RS256").key
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError, jwt.PyJWTError) as exc:
            # Keep what we had: an identity-provider hiccup must not lock every user out.
            logger.warning("Could not fetch the token-signing keys from %s: %s", self.discovery_url,
                           type(exc).__name__)
            return
        self._keys = keys
        self._fetched_at = time.monotonic()
        self.fetches += 1
        logger.info("Fetched %d token-signing key(s) from %s", len(keys), jwks_uri)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            verify: Any = ssl.create_default_context(cafile=self._ca_bundle) if self._ca_bundle else True
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), verify=verify, follow_redirects=False)
        return self._http

    async def aclose(self) -> None:
        client, self._http = self._http, None
        if client is not None and self._owns_http:
            await client.aclose()


# --- the verifier ----------------------------------------------------------------------------


class EntraAccessToken(AccessToken):
    """The SDK's ``AccessToken`` whose ``repr`` (and so any log line or traceback showing it)
    does not contain the token itself."""

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, ("**********" if name == "token" else value)


class TokenRejected(Exception):
    """Why a token was refused (logged; never shown with the token)."""


class EntraTokenVerifier(TokenVerifier):
    """Validates Entra access tokens for this server's API (see the module docstring).

    Returns the SDK's ``AccessToken`` (an ``EntraAccessToken``, whose ``repr`` hides the
    token): ``token`` is the raw incoming token (the on-behalf-of assertion), ``subject``
    the user's object id, ``client_id`` the app that obtained it (``azp``), ``scopes`` the
    delegated scopes as ``<app_id_uri>/<name>`` (what the SDK compares with the required
    scope, so a missing scope is a 403), ``claims`` the validated claims (``tid``, ``oid``,
    ``iss``...). Any other failure returns None, which the SDK answers with a 401.
    """

    def __init__(self, config: EntraAuthConfig, *, keys: SigningKeys | None = None) -> None:
        self.config = config
        self.keys = keys or SigningKeys(
            f"{config.issuer_url}/.well-known/openid-configuration", ca_bundle=config.ca_bundle
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            return await self._verify(token)
        except TokenRejected as exc:
            logger.info("Refused a bearer token: %s", exc)
            return None

    async def _verify(self, token: str) -> AccessToken:
        config = self.config
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("not a JWT") from None
        if header.get("alg") != "RS256":
            raise TokenRejected(f"algorithm {str(header.get('alg'))[:16]!r} is not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("no key id (kid)")
        key = await self.keys.get(kid)
        if key is None:
            raise TokenRejected(f"signed with key {kid[:64]!r}, which the identity provider does not publish")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=["RS256"], audience=list(config.audiences), leeway=config.leeway,
                options={"require": ["exp", "iss", "aud", "tid", "oid"], "verify_iss": False},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"{type(exc).__name__}: {exc}") from None
        tenant = str(claims["tid"]).lower()
        if tenant not in config.allowed_tenants:
            raise TokenRejected(f"tenant {tenant} is not allowed")
        if claims["iss"] not in config.issuers(tenant):
            raise TokenRejected("unexpected issuer for the tenant (or a v1.0 token, which is not accepted)")
        if claims.get("idtyp") == "app" or not isinstance(claims.get("scp"), str) or not claims["scp"].strip():
            raise TokenRejected("an application token (no delegated scope): the server acts for users only")
        client = str(claims.get("azp") or claims.get("appid") or "").lower()
        if config.allowed_client_ids and client not in config.allowed_client_ids:
            raise TokenRejected(f"client app {client!r} is not allowed")
        audience = claims["aud"] if isinstance(claims["aud"], str) else next(iter(claims["aud"]), "")
        return EntraAccessToken(
            token=token,
            client_id=client,
            scopes=[f"{config.app_id_uri}/{name}" for name in claims["scp"].split()],
            expires_at=int(claims["exp"]),
            resource=str(audience),
            subject=str(claims["oid"]),
            claims=claims,
        )

    async def aclose(self) -> None:
        await self.keys.aclose()


# --- who is calling, and their Graph token ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Caller:
    """The user behind the current request: ``key`` is ``<tenant id>/<object id>``."""

    tenant_id: str
    object_id: str
    access_token: AccessToken = field(repr=False)

    @property
    def key(self) -> str:
        return owner_of_token(self.access_token)


class EntraAuth:
    """Everything the server needs for authenticated HTTP: the verifier, the SDK settings,
    the current caller, and an on-behalf-of token provider per caller.

    There is one ``OnBehalfOfProvider`` per tenant (the exchange must go to the user's
    own tenant); each caches exchanged tokens per user and per incoming token, in
    memory only.
    """

    def __init__(self, config: EntraAuthConfig, *, verifier: EntraTokenVerifier | None = None) -> None:
        self.config = config
        self.verifier = verifier or EntraTokenVerifier(config)
        self._exchangers: dict[str, OnBehalfOfProvider] = {}
        #: Where replicas share exchanged tokens (set before the first request; see ``mcp/state/tokens``).
        self.token_store: TokenStore | None = None

    def auth_settings(self) -> AuthSettings:
        return self.config.auth_settings()

    def caller(self) -> Caller:
        """The validated user of the current request (raises when there is none)."""
        access = get_access_token()
        ids = token_owner(access)
        if access is None or ids is None:
            raise AuthenticationError(
                "This request carries no validated access token.",
                hint="Connect over HTTP with an access token for this server's API "
                f"(scope {self.config.required_scope}).",
            )
        return Caller(*ids, access)

    def token_provider(self, caller: Caller) -> TokenProvider:
        """A token provider for ``caller`` alone: their token exchanged on their behalf."""
        return self._exchanger(caller.tenant_id).for_user(caller.access_token.token)

    def _exchanger(self, tenant: str) -> OnBehalfOfProvider:
        exchanger = self._exchangers.get(tenant)
        if exchanger is None:
            from copilot_tools.auth.obo import OnBehalfOfProvider

            config = self.config
            exchanger = OnBehalfOfProvider(
                client_id=config.client_id, client_credential=config.client_credential, tenant_id=tenant,
                scopes=list(config.downstream_scopes), authority_host=config.authority_host,
                ca_bundle=config.ca_bundle, token_store=self.token_store,
            )
            self._exchangers[tenant] = exchanger
        return exchanger

    async def aclose(self) -> None:
        await self.verifier.aclose()
        for exchanger in self._exchangers.values():
            exchanger.clear()


def downstream_scopes(endpoint: str, environ: Mapping[str, str]) -> tuple[str, ...]:
    """What the on-behalf-of exchange asks for: ``COPILOT_TOOLS_SCOPES``, else the endpoint's
    ``.default`` (Graph for the emulator, which takes any token)."""
    from copilot_tools.auth.factory import ENV_SCOPES
    from copilot_tools.auth.scopes import GRAPH_RESOURCE, scopes_for_endpoint

    override = environ.get(ENV_SCOPES, "").replace(",", " ").split()
    scopes: Sequence[str] = override or scopes_for_endpoint(endpoint, default_scope=True)
    return tuple(scopes) or (f"{GRAPH_RESOURCE}/.default",)


__all__ = [
    "AuthConfigError",
    "Caller",
    "EntraAccessToken",
    "EntraAuth",
    "EntraAuthConfig",
    "EntraTokenVerifier",
    "SigningKeys",
]
