"""Sign-in as the user with MSAL's public client: silent first, then browser, then device code.

``MsalTokenProvider.get_token()``:

1. silent: an access token from the shared cache, refreshed through the cached refresh
   token when it has less than five minutes left (MSAL writes the new one back);
2. when that is not possible and the provider may interact: the system browser where
   one can open on this machine (a display, not over SSH, not in a container), else a
   device code, whose prompt goes to stderr (never stdout);
3. when it may not interact: an ``AuthenticationError`` (the MCP server wraps this
   provider in ``BackgroundDeviceFlowProvider`` instead).

Every app declares the ``CP1`` client capability, so Graph may send continuous-access
claims challenges; ``get_token(claims=...)`` re-acquires with them.

Accounts are chosen by username (``account=``), else the account last signed in with
``copilot-tools login`` (kept next to the cache), else the only one. Listing accounts,
signing out and ``cached_token_info`` read the cache only: no network, no MSAL app.

MSAL is imported when the first token is needed, not when this module is.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Generic, Literal, TypeVar

from copilot_tools.auth.errors import SignInFailedError, error_from_msal_result
from copilot_tools.auth.scopes import DEFAULT_TENANT
from copilot_tools.errors import AuthenticationError, TransportError

T = TypeVar("T")

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
CLIENT_CAPABILITIES = ["CP1"]

Interaction = Literal["auto", "browser", "device_code", "none"]


@dataclass(frozen=True)
class Account:
    """A signed-in account as the cache knows it (no secrets)."""

    username: str
    home_account_id: str
    tenant_id: str | None
    environment: str
    is_default: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DeviceCode:
    """What the user needs to finish a device-code sign-in."""

    verification_uri: str
    user_code: str
    expires_at: float
    message: str


def _stderr_prompt(code: DeviceCode) -> None:
    print(code.message, file=sys.stderr, flush=True)


def _in_container() -> bool:
    env = os.environ
    if env.get("container") or env.get("KUBERNETES_SERVICE_HOST") or env.get("CODESPACES"):  # noqa: SIM112 - systemd sets it lowercase
        return True
    if os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"):
        return True
    try:
        with open("/proc/1/cgroup", encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return False
    return any(marker in text for marker in ("docker", "kubepods", "containerd", "lxc", "podman"))


def _is_wsl() -> bool:
    try:
        with open("/proc/version", encoding="utf-8") as handle:
            return "microsoft" in handle.read().lower()
    except OSError:
        return False


def browser_available() -> bool:
    """Whether a browser can open on this machine and reach a loopback redirect."""
    env = os.environ
    if env.get("SSH_CONNECTION") or env.get("SSH_CLIENT") or env.get("SSH_TTY"):
        return False
    if _in_container():
        return False
    if sys.platform.startswith("linux"):
        if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
            return _is_wsl() and shutil.which("wslview") is not None
    try:
        import webbrowser

        webbrowser.get()
    except Exception:  # noqa: BLE001 - webbrowser.Error, or no usable browser at all
        return False
    return True


class MsalApplicationOwner:
    """Base of the token providers: their MSAL application, built by ``_build_app`` (with
    ``build_msal_app``) on first use and once only, as building it sends a discovery request."""

    def __init__(self) -> None:
        self._app: BuiltOnce[Any] = BuiltOnce(self._build_app)

    @property
    def app(self) -> Any:
        """The MSAL application (created, with its discovery request, on first use)."""
        return self._app.get()

    def _build_app(self) -> Any:
        raise NotImplementedError


class MsalTokenProvider(MsalApplicationOwner):
    """The user's own delegated token for one endpoint's scopes (see the module docstring).

    ``token_cache``: an MSAL token cache (default: the shared persistent cache, opened
    on first use). ``authority_host``/``ca_bundle``: another cloud or a test stand-in.
    ``interaction``: ``auto`` (browser where possible, else device code), ``browser``,
    ``device_code``, or ``none`` (never prompt). ``device_code_prompt`` shows the code
    (default: stderr).
    """

    def __init__(
        self,
        *,
        client_id: str,
        scopes: Sequence[str],
        tenant: str | None = None,
        authority_host: str | None = None,
        account: str | None = None,
        token_cache: Any = None,
        interaction: Interaction = "auto",
        ca_bundle: str | None = None,
        http_timeout: float = 30.0,
        login_timeout: float = 300.0,
        device_code_prompt: Callable[[DeviceCode], None] | None = None,
        min_poll_interval: float = 1.0,
        remember_account: bool = True,
        http_client: Any = None,
        broker: bool = True,
    ) -> None:
        if not scopes:
            raise ValueError("MsalTokenProvider needs at least one scope")
        self.client_id = client_id
        self.scopes = list(scopes)
        self.tenant = tenant or DEFAULT_TENANT
        self.authority_host = (authority_host or DEFAULT_AUTHORITY_HOST).rstrip("/")
        self.username = account
        self.interaction: Interaction = interaction
        self._cache = token_cache
        self._ca_bundle = ca_bundle
        self._http_timeout = http_timeout
        self._login_timeout = login_timeout
        self._prompt = device_code_prompt if device_code_prompt is not None else _stderr_prompt
        self.min_poll_interval = min_poll_interval
        self._remember = remember_account
        self._http_client = http_client
        self.broker = broker
        super().__init__()
        self._lock = threading.RLock()  # the cache and small state; never held across network calls
        self._preferred: str | None = None  # set after a sign-in in this process
        self.last_error: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return (
            f"MsalTokenProvider(client_id={self.client_id!r}, authority={self.authority!r}, "
            f"account={self.username!r}, interaction={self.interaction!r})"
        )

    # ------------------------------------------------------------------ plumbing

    @property
    def authority(self) -> str:
        return f"{self.authority_host}/{self.tenant}"

    @property
    def environment(self) -> str:
        from urllib.parse import urlsplit

        return (urlsplit(self.authority_host).hostname or "").lower()

    @property
    def token_cache(self) -> Any:
        with self._lock:
            if self._cache is None:
                from copilot_tools.auth.cache import open_token_cache

                self._cache = open_token_cache()
            return self._cache

    def _build_app(self) -> Any:
        """The MSAL ``PublicClientApplication``."""
        try:
            return build_msal_app(
                "PublicClientApplication", self.client_id, self.authority_host, timeout=self._http_timeout,
                http_client=self._http_client, ca_bundle=self._ca_bundle, authority=self.authority,
                token_cache=self.token_cache, client_capabilities=CLIENT_CAPABILITIES, **broker_options(self.broker),
            )
        except ValueError as exc:
            raise AuthenticationError(
                f"Cannot use the sign-in authority {self.authority}: {str(exc).splitlines()[0]}",
                hint="Check the tenant (`--tenant`, COPILOT_TOOLS_TENANT_ID) and COPILOT_TOOLS_AUTHORITY.",
            ) from None

    def _error(self, result: dict[str, Any], action: str) -> AuthenticationError:
        return error_from_msal_result(
            result, action=action, client_id=self.client_id, tenant=self.tenant, authority_host=self.authority_host
        )

    # ------------------------------------------------------------------ accounts (cache only)

    def _cache_search(
        self, credential_type: str, query: dict[str, Any] | None = None, target: list[str] | None = None
    ) -> list[dict[str, Any]]:
        cache = self.token_cache
        kwargs: dict[str, Any] = {"query": query or {}}
        if target:
            kwargs["target"] = target
        return list(cache.search(credential_type, **kwargs))

    def default_username(self) -> str | None:
        from copilot_tools.auth.cache import read_state

        return self._preferred or read_state(self.token_cache).get("default_account")

    def accounts(self) -> list[Account]:
        """Every account signed in with this authority, from the cache (no network)."""
        import msal  # type: ignore[import-untyped]

        default = (self.username or self.default_username() or "").lower()
        seen: dict[str, Account] = {}
        for entry in self._cache_search(msal.TokenCache.CredentialType.ACCOUNT, {"environment": self.environment}):
            home = entry.get("home_account_id") or ""
            if home in seen:
                continue
            username = entry.get("username") or ""
            tenant = home.split(".", 1)[1] if "." in home else entry.get("realm")
            seen[home] = Account(
                username=username,
                home_account_id=home,
                tenant_id=tenant,
                environment=entry.get("environment") or self.environment,
                is_default=bool(default) and username.lower() == default,
            )
        accounts = sorted(seen.values(), key=lambda a: a.username.lower())
        if not default and len(accounts) == 1:
            accounts = [Account(**{**accounts[0].to_dict(), "is_default": True})]
        return accounts

    def current_account(self) -> Account | None:
        """The account ``get_token`` uses; None when nobody is signed in.

        Raises ``AuthenticationError`` when the configured account is not signed in or
        several are and none was chosen.
        """
        accounts = self.accounts()
        wanted = self.username or self.default_username()
        if wanted:
            for account in accounts:
                if account.username.lower() == wanted.lower():
                    return account
            if self.username:
                return None  # the configured account is not signed in: sign it in
        if len(accounts) == 1:
            return accounts[0]
        if not accounts:
            return None
        names = ", ".join(a.username for a in accounts)
        raise AuthenticationError(
            f"Several accounts are signed in ({names}) and none is chosen.",
            hint="Pick one with --account or COPILOT_TOOLS_ACCOUNT, or make one the default with "
            "`copilot-tools login --account USER`.",
        )

    def use_account(self, username: str, *, remember: bool | None = None) -> None:
        """Make ``username`` the account this provider (and, if remembered, later runs) uses."""
        from copilot_tools.auth.cache import write_state

        with self._lock:
            self._preferred = username
        if self._remember if remember is None else remember:
            write_state(self.token_cache, default_account=username)

    def sign_out(self, username: str | None = None, *, all_accounts: bool = False) -> list[str]:
        """Forget one account (by username, else the current one) or all; returns the usernames.

        Removes its refresh tokens (for any client id), access tokens, id tokens and
        account record from the shared cache. No network call.
        """
        import msal

        types = msal.TokenCache.CredentialType
        if all_accounts:
            targets = self.accounts()
        elif username:
            targets = [a for a in self.accounts() if a.username.lower() == username.lower()]
        else:
            current = self.current_account()
            targets = [current] if current else []
        cache = self.token_cache
        for account in targets:
            query = {"home_account_id": account.home_account_id, "environment": account.environment}
            for rt in self._cache_search(types.REFRESH_TOKEN, query):
                cache.remove_rt(rt)
            for at in self._cache_search(types.ACCESS_TOKEN, query):
                cache.remove_at(at)
            for idt in self._cache_search(types.ID_TOKEN, query):
                cache.remove_idt(idt)
            for entry in self._cache_search(types.ACCOUNT, query):
                cache.remove_account(entry)
        removed = [a.username for a in targets]
        default = self.default_username()
        if default and any(name.lower() == default.lower() for name in removed):
            from copilot_tools.auth.cache import write_state

            with self._lock:
                self._preferred = None
            write_state(cache, default_account=None)
        return removed

    def cached_token_info(self) -> dict[str, Any] | None:
        """What ``whoami`` shows: account, tenant, scopes, expiry of the cached token.

        Read from the cache for display only (the JWT is decoded without verification,
        and the token itself is never returned). None when nobody is signed in.
        """
        import msal

        from copilot_tools.auth.jwt_display import describe_token
        from copilot_tools.auth.scopes import short_scope_names

        account = self.current_account()
        if account is None:
            return None
        types = msal.TokenCache.CredentialType
        of_account = {"home_account_id": account.home_account_id, "environment": account.environment}
        query = {**of_account, "client_id": self.client_id}
        entries = self._cache_search(types.ACCESS_TOKEN, query, target=self.scopes) or self._cache_search(
            types.ACCESS_TOKEN, query
        )
        has_refresh = bool(self._cache_search(types.REFRESH_TOKEN, of_account))
        info: dict[str, Any] = {
            "username": account.username,
            "tenant_id": account.tenant_id,
            "client_id": self.client_id,
            "authority": self.authority,
            "scopes": [],
            "expires_at": None,
            "expired": True,
            "refreshable": has_refresh,
            "cae": False,
        }
        if entries:
            entry = max(entries, key=lambda e: int(e.get("expires_on", 0)))
            details = describe_token(entry.get("secret", ""))
            expires_on = int(entry.get("expires_on", 0))
            info.update(
                scopes=short_scope_names(entry.get("target", "")) or details["scopes"],
                expires_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires_on)),
                expired=expires_on <= time.time(),
                audience=details["audience"],
                cae=details["cae"],
            )
            if details["tenant_id"]:
                info["tenant_id"] = details["tenant_id"]
        return info

    # ------------------------------------------------------------------ tokens

    def try_silent(self, *, claims: str | None = None, force_refresh: bool = False) -> dict[str, Any] | None:
        """A token result from the cache (refreshing it if needed), or None.

        The last refresh error, if any, is kept in ``last_error`` (a MSAL error dict).
        """
        self.last_error = None
        account = self.current_account()
        if account is None:
            return None
        app = self.app
        matches = app.get_accounts(username=account.username)
        msal_account = next((a for a in matches if a.get("home_account_id") == account.home_account_id), None)
        if msal_account is None:
            return None
        try:
            result = app.acquire_token_silent_with_error(
                self.scopes, msal_account, force_refresh=force_refresh, claims_challenge=claims
            )
        except OSError as exc:  # requests' exceptions are OSErrors
            raise _network_error(self.authority_host, exc) from None
        if result and "access_token" in result:
            return dict(result)
        self.last_error = result
        return None

    def get_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
        result = self.try_silent(claims=claims, force_refresh=force_refresh)
        if result:
            return str(result["access_token"])
        if self.interaction == "none":
            raise self.not_signed_in(claims)
        return str(self.login(claims=claims)["access_token"])

    async def aget_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
        return await asyncio.to_thread(self.get_token, claims=claims, force_refresh=force_refresh)

    def not_signed_in(self, claims: str | None = None) -> AuthenticationError:
        """The error for "a token needs the user, and this provider may not ask"."""
        if self.last_error:
            error = self._error(self.last_error, "Refreshing the saved sign-in")
            if claims and error.claims is None:
                error = error.replace(claims=claims)
            return error
        who = f" as {self.username}" if self.username else ""
        if claims:
            return AuthenticationError(
                f"The service asks to sign in again{who} (a continuous access evaluation claims challenge).",
                claims=claims,
            )
        return AuthenticationError(f"Not signed in{who}.")

    # ------------------------------------------------------------------ interactive

    def login(
        self,
        *,
        device_code: bool | None = None,
        claims: str | None = None,
        username: str | None = None,
        select_account: bool = False,
    ) -> dict[str, Any]:
        """Sign in interactively (browser or device code); returns MSAL's result dict.

        The signed-in account becomes the default one (and this provider's).
        """
        username = username or self.username
        use_device_code = device_code
        if use_device_code is None:
            use_device_code = self.interaction == "device_code" or (
                self.interaction != "browser" and not browser_available()
            )
        if use_device_code:
            result = self._login_device_code(claims)
        else:
            result = self._login_browser(claims, username, select_account)
        if "access_token" not in result:
            raise self._error(result, "Sign-in")
        signed_in = self._username_of(result)
        if username and signed_in and signed_in.lower() != username.lower():
            raise SignInFailedError(
                f"You signed in as {signed_in}, but the account {username} was asked for.",
                hint="Sign in again with that account, or change --account / COPILOT_TOOLS_ACCOUNT.",
            )
        if signed_in:
            self.use_account(signed_in)
        return result

    @staticmethod
    def _username_of(result: dict[str, Any]) -> str | None:
        claims = result.get("id_token_claims") or {}
        return claims.get("preferred_username") or claims.get("upn")

    def _login_browser(self, claims: str | None, username: str | None, select_account: bool) -> dict[str, Any]:
        def announce(**_: Any) -> None:
            print(
                "Opening your browser to sign in to Microsoft 365… "
                "(no browser? press Ctrl+C and run `copilot-tools login --device-code`)",
                file=sys.stderr,
                flush=True,
            )

        def no_browser(uri: str) -> None:
            print(
                f"Could not open a browser. Open this address on this machine to sign in:\n{uri}",
                file=sys.stderr,
                flush=True,
            )

        try:
            return dict(
                self.app.acquire_token_interactive(
                    self.scopes,
                    login_hint=username,
                    prompt="select_account" if select_account and not username else None,
                    claims_challenge=claims,
                    timeout=self._login_timeout,
                    on_before_launching_ui=announce,
                    auth_uri_callback=no_browser,
                    # With the broker, its sign-in window is parented to this console.
                    parent_window_handle=self.app.CONSOLE_WINDOW_HANDLE,
                )
            )
        except OSError as exc:
            raise _network_error(self.authority_host, exc) from None
        except RuntimeError as exc:
            from msal.oauth2cli.oauth2 import BrowserInteractionTimeoutError  # type: ignore[import-untyped]

            if isinstance(exc, BrowserInteractionTimeoutError):
                message = f"The browser sign-in did not finish within {self._login_timeout:g} s."
            else:  # an id token that does not match this sign-in (nonce, state)
                message = f"The browser sign-in failed: {str(exc).splitlines()[0][:200]}"
            raise SignInFailedError(
                message, hint="Run `copilot-tools login` again, or `copilot-tools login --device-code`."
            ) from None

    def _login_device_code(self, claims: str | None) -> dict[str, Any]:
        from copilot_tools.auth.device_flow import DeviceCodeFlow

        flow = DeviceCodeFlow(self, claims=claims)
        code = flow.start()
        self._prompt(code)
        return flow.wait()


def broker_installed() -> bool:
    """Whether ``msal[broker]`` (its ``pymsalruntime``) is installed; it is not imported here."""
    import importlib.util

    try:
        return importlib.util.find_spec("pymsalruntime") is not None
    except (ImportError, ValueError):  # a broken or deliberately blocked installation
        return False


def broker_options(enabled: bool) -> dict[str, bool]:
    """The ``PublicClientApplication`` arguments that turn on the platform broker.

    Device-based Conditional Access (a compliant or hybrid-joined device) accepts only
    tokens obtained through the operating system's broker: WAM on Windows, the Enterprise
    SSO plug-in (Company Portal) on macOS. MSAL uses it when ``msal[broker]`` is installed
    and the app opts in; where the broker turns out to be unavailable MSAL falls back to
    the browser by itself. ``enabled=False`` (the ``broker`` setting,
    ``COPILOT_TOOLS_BROKER=false``) keeps the browser and device-code sign-in.
    """
    if not enabled or not broker_installed():
        return {}
    return {"enable_broker_on_windows": True, "enable_broker_on_mac": True}


class BuiltOnce(Generic[T]):
    """A value built on first use, once however many threads ask at the same time.

    ``functools.cached_property`` does not lock (since 3.12); building an MSAL application
    sends a discovery request, which two threads must not both send.
    """

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is not None:
            return value
        with self._lock:
            if self._value is None:
                self._value = self._build()
            return self._value


def build_msal_app(
    kind: Literal["PublicClientApplication", "ConfidentialClientApplication"], client_id: str, authority_host: str,
    *, timeout: float, http_client: Any, ca_bundle: str | None, **options: Any,
) -> Any:
    """``msal.<kind>(client_id, ...)`` with the arguments every MSAL application here is built with,
    plus ``options``; building it sends a discovery request, and a network failure is a ``TransportError``.

    ``authority_host`` (``https://login.microsoftonline.com``) outside MSAL's well-known clouds turns instance
    discovery and authority validation off (a sovereign cloud, a test identity provider);
    ``http_client`` wins over ``ca_bundle``.
    """
    from urllib.parse import urlsplit

    import msal
    from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS  # type: ignore[import-untyped]

    kwargs: dict[str, Any] = {**options, "timeout": timeout, "app_name": "copilot-tools"}
    if http_client is not None:
        kwargs["http_client"] = http_client
    elif ca_bundle:
        kwargs["http_client"] = http_session(ca_bundle, timeout)
    if (urlsplit(authority_host).hostname or "").lower() not in WELL_KNOWN_AUTHORITY_HOSTS:
        kwargs["instance_discovery"] = False
        kwargs["validate_authority"] = False
    try:
        return getattr(msal, kind)(client_id, **kwargs)
    except OSError as exc:
        raise _network_error(authority_host, exc) from None


def http_session(ca_bundle: str, timeout: float) -> Any:
    """A requests session that verifies TLS against ``ca_bundle`` whatever the environment says.

    MSAL's own session sets ``verify`` on the session, which ``REQUESTS_CA_BUNDLE`` and
    ``CURL_CA_BUNDLE`` silently override; a per-request ``verify`` wins over them.
    Proxies from the environment still apply.
    """
    import requests

    class _Session(requests.Session):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            kwargs.setdefault("verify", ca_bundle)
            kwargs.setdefault("timeout", timeout)
            return super().request(method, url, *args, **kwargs)

    session = _Session()
    adapter = requests.adapters.HTTPAdapter(max_retries=1)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _network_error(host: str, exc: BaseException) -> TransportError:
    return TransportError(
        f"Could not reach the sign-in service {host}: {type(exc).__name__}.",
        hint="Check the network connection and proxy settings, then try again.",
    )
