"""``copilot-tools login | logout | accounts | whoami``.

Prompts and status lines go to stderr; stdout carries only what a script asks for
(``accounts``, ``whoami``, and their ``--json``). Exit codes: 0 done, 2 usage, 3 not
signed in (or sign-in failed), 4 consent missing, 1 anything else (network).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from copilot_tools.cli.common import EXIT_NOT_SIGNED_IN, EXIT_OK, error, load_settings


def _add_client_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--client-id",
        dest="client_id",
        default=None,
        help="the app registration (public client) to sign in with (env COPILOT_TOOLS_CLIENT_ID; "
        "default: Microsoft Graph Command Line Tools for graph, the Work IQ CLI for workiq)",
    )


def configure_login(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "examples:\n"
        "  copilot-tools login\n"
        "  copilot-tools login --device-code --tenant contoso.onmicrosoft.com\n"
        "  copilot-tools login --endpoint workiq\n"
        "  copilot-tools login --account adele@contoso.com   # switch the default account"
    )
    parser.description = (
        "Sign in to Microsoft 365 and keep the sign-in in the shared token cache (the MCP "
        "server and every command read it). Opens the browser where one is available, "
        "otherwise shows a device code on stderr. With --account, switches to that account "
        "if it is already signed in."
    )
    parser.add_argument("--device-code", action="store_true", help="sign in with a code on another device")
    parser.add_argument("--force", action="store_true", help="sign in again even if the account's saved sign-in works")
    _add_client_id(parser)


def configure_logout(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "examples:\n"
        "  copilot-tools logout\n"
        "  copilot-tools logout --account adele@contoso.com\n"
        "  copilot-tools logout --all"
    )
    parser.description = "Sign out of the current account (or --account USER), or of all accounts."
    parser.add_argument("--all", action="store_true", dest="all_accounts", help="sign out of every account")
    _add_client_id(parser)


def configure_accounts(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "examples:\n  copilot-tools accounts\n  copilot-tools accounts --json"
    parser.description = "List the signed-in accounts (the default one is marked)."
    parser.add_argument(
        "--json", action="store_true", default=None, help="print JSON on stdout (env COPILOT_TOOLS_JSON)"
    )
    _add_client_id(parser)


def configure_whoami(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "examples:\n  copilot-tools whoami\n  copilot-tools whoami --json | jq .expires_at"
    parser.description = (
        "Show the account, tenant, endpoint, granted scopes and expiry of the cached token "
        "(read from the cache for display; no network call). Exits 3 when not signed in."
    )
    parser.add_argument(
        "--json", action="store_true", default=None, help="print JSON on stdout (env COPILOT_TOOLS_JSON)"
    )
    _add_client_id(parser)


def configure(parser: argparse.ArgumentParser) -> None:  # pragma: no cover - table uses the named ones
    configure_login(parser)


def run(args: argparse.Namespace) -> int:
    handlers = {"login": _login, "logout": _logout, "accounts": _accounts, "whoami": _whoami}
    return int(handlers[args._command](args))


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _json(args: argparse.Namespace) -> bool:
    from copilot_tools.cli.common import preference

    return bool(preference(args, "json")[0])


def _settings(args: argparse.Namespace) -> Any:
    return load_settings(args, client_id=getattr(args, "client_id", None))


def _provider(settings: Any) -> Any:
    from copilot_tools._net import is_loopback_url
    from copilot_tools.auth.factory import msal_provider_from_settings

    if is_loopback_url(settings.endpoint):
        # The emulator needs no sign-in; the accounts live in the shared Graph cache.
        settings = settings.model_copy(update={"endpoint": "graph"})

    return msal_provider_from_settings(settings, interaction="auto")


def _recovering(settings: Any, action: Callable[[Any], int]) -> int:
    """``action(provider)``; when the token cache is corrupt, set it aside, say so, and run
    ``action`` once more with a fresh cache (``login`` and ``logout --all`` must always work)."""
    from copilot_tools.auth.cache import CorruptTokenCacheError, TokenCacheError, set_aside

    try:
        return action(_provider(settings))
    except CorruptTokenCacheError as exc:
        try:
            moved = set_aside(exc.path)
        except FileNotFoundError:
            moved = None  # another process set it aside first
        except OSError as os_error:
            raise TokenCacheError(
                f"The token cache {exc.path} is unreadable ({exc.problem}) and cannot be set aside: "
                f"{os_error.strerror}.", hint=f"Remove {exc.path} yourself, then run this again.",
            ) from None
        where = f" as {moved}" if moved else ""
        _note(f"The token cache {exc.path} was unreadable ({exc.problem}); it is set aside{where} "
              "and a fresh one is used.")
        return action(_provider(settings))


def _endpoint_label(settings: Any) -> str:
    return str(settings.endpoint)


# ---------------------------------------------------------------------------- login


def _login(args: argparse.Namespace) -> int:
    from copilot_tools._net import is_loopback_url

    settings = _settings(args)
    if is_loopback_url(settings.endpoint):
        _note(f"The emulator at {settings.endpoint} accepts any token: no sign-in needed.")
        return EXIT_OK
    if settings.access_token is not None:
        _note("note: COPILOT_TOOLS_ACCESS_TOKEN is set and takes precedence over this sign-in until you unset it.")
    return _recovering(settings, lambda provider: _login_with(args, settings, provider))


def _login_with(args: argparse.Namespace, settings: Any, provider: Any) -> int:
    if settings.account and not args.force:
        result = provider.try_silent()
        if result:
            provider.use_account(settings.account)
            _note(f"Already signed in as {settings.account}; it is now the default account.")
            return EXIT_OK
    result = provider.login(
        device_code=True if args.device_code else None, username=settings.account, select_account=True
    )
    claims = result.get("id_token_claims") or {}
    who = claims.get("preferred_username") or "your account"
    tenant = claims.get("tid")
    _note(f"Signed in as {who}{f' (tenant {tenant})' if tenant else ''} for {_endpoint_label(settings)}.")
    return EXIT_OK


# ---------------------------------------------------------------------------- logout


def _logout(args: argparse.Namespace) -> int:
    from copilot_tools.errors import AuthenticationError, InvalidInputError

    settings = _settings(args)
    if args.all_accounts:
        return _recovering(settings, lambda provider: _report_signed_out(provider.sign_out(all_accounts=True)))
    provider = _provider(settings)
    if settings.account:
        removed = provider.sign_out(settings.account)
        if not removed:
            raise AuthenticationError(
                f"{settings.account} is not signed in.", hint="`copilot-tools accounts` lists who is."
            )
    else:
        from copilot_tools.auth.cache import TokenCacheError

        try:
            removed = provider.sign_out()
        except TokenCacheError:
            raise
        except AuthenticationError as exc:
            hint = "Name one with --account USER, or use --all."
            raise InvalidInputError("account", exc.message, hint=hint) from None
    return _report_signed_out(removed)


def _report_signed_out(removed: list[str]) -> int:
    if not removed:
        _note("Nobody was signed in.")
    for username in removed:
        _note(f"Signed out of {username}.")
    return EXIT_OK


# ---------------------------------------------------------------------------- accounts


def _accounts(args: argparse.Namespace) -> int:
    settings = _settings(args)
    accounts = _provider(settings).accounts()
    if _json(args):
        print(json.dumps([a.to_dict() for a in accounts], indent=2))
        return EXIT_OK
    if not accounts:
        _note("No account is signed in. Run `copilot-tools login`.")
        return EXIT_OK
    for account in accounts:
        suffix = "  (default)" if account.is_default else ""
        print(f"{account.username}  tenant {account.tenant_id or '?'}{suffix}")
    return EXIT_OK


# ---------------------------------------------------------------------------- whoami


def _expiry_text(expires_at: str | None, expired: bool, refreshable: bool) -> str:
    if not expires_at:
        return "no access token cached" + ("; the next call gets one silently" if refreshable else "")
    if expired:
        return f"expired at {expires_at}" + ("; the next call refreshes it silently" if refreshable else "")
    from datetime import datetime

    left = datetime.fromisoformat(expires_at).timestamp() - time.time()
    return f"{expires_at} (in {max(0, int(left // 60))} min)"


def _whoami(args: argparse.Namespace) -> int:
    from copilot_tools._net import is_loopback_url

    settings = _settings(args)
    info: dict[str, Any]
    if settings.access_token is not None:
        from copilot_tools.auth.jwt_display import describe_token

        details = describe_token(settings.access_token.get_secret_value())
        if not details["is_jwt"]:
            return _opaque_token(args, settings)
        info = {
            "source": "access token (COPILOT_TOOLS_ACCESS_TOKEN or configuration)",
            "username": details["username"],
            "tenant_id": details["tenant_id"],
            "endpoint": settings.endpoint,
            "scopes": details["scopes"],
            "expires_at": details["expires_at"],
            "expired": bool(details["expires_at"])
            and datetime_passed(details["expires_at"]),
            "refreshable": False,
        }
    elif is_loopback_url(settings.endpoint):
        info = {"source": "emulator (any token is accepted)", "endpoint": settings.endpoint, "username": None}
        if _json(args):
            print(json.dumps(info, indent=2))
        else:
            print(f"endpoint:  {settings.endpoint} (the emulator accepts any token; no sign-in)")
        return EXIT_OK
    else:
        from copilot_tools.auth.cache import describe_cache

        provider = _provider(settings)
        cached = provider.cached_token_info()
        if cached is None:
            who = f" as {settings.account}" if settings.account else ""
            error(f"Not signed in{who}.", "Run `copilot-tools login`.")
            return EXIT_NOT_SIGNED_IN
        cache_description = describe_cache(provider.token_cache)
        info = {"source": "token cache", "endpoint": settings.endpoint, **cached, "cache": cache_description}
    signed_in = not info.get("expired") or info.get("refreshable")
    if _json(args):
        print(json.dumps(info, indent=2))
    else:
        rows = [
            ("account", info.get("username") or "(unknown)"),
            ("tenant", info.get("tenant_id") or "(unknown)"),
            ("endpoint", info["endpoint"]),
            ("client id", info.get("client_id")),
            ("scopes", " ".join(info.get("scopes") or []) or "(unknown)"),
            ("expires", _expiry_text(info.get("expires_at"), bool(info.get("expired")), bool(info.get("refreshable")))),
            ("source", info["source"]),
        ]
        cache = info.get("cache")
        if cache and cache.get("location"):
            rows.append(("cache", f"{cache['location']} ({'encrypted' if cache['encrypted'] else 'file, owner-only'})"))
        for label, value in rows:
            if value is not None:
                print(f"{label + ':':<11}{value}")
    if not signed_in:
        error("The token has expired and cannot be refreshed.", "Run `copilot-tools login` (or get a fresh token).")
        return EXIT_NOT_SIGNED_IN
    return EXIT_OK


def _opaque_token(args: argparse.Namespace, settings: Any) -> int:
    """A token given as is that is not a JWT: it is used, but there is nothing to show.

    Access tokens are opaque to clients by contract, so this is not an error: the
    service decides whether the token is good on the next call.
    """
    where = settings.sources.get("access_token", "configuration")
    through = f"the {where}" if where.startswith(("environment", "config")) else where
    if _json(args):
        info = {
            "source": f"access token from {through}", "endpoint": settings.endpoint, "jwt": False,
            "username": None, "tenant_id": None, "scopes": [], "expires_at": None, "expired": None,
            "refreshable": False,
        }
        print(json.dumps(info, indent=2))
    else:
        print(f"{'endpoint:':<11}{settings.endpoint}")
        print(f"{'source:':<11}access token from {through}")
    _note(
        f"An access token is set through {through}, but it is not a JWT, so its account, "
        "tenant, scopes and expiry cannot be shown; the service checks it on the next call."
    )
    return EXIT_OK


def datetime_passed(iso: str) -> bool:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp() <= time.time()
