"""``copilot-tools mcp``: serve the MCP server, or register it with Claude Desktop.

stdio is the default (what Claude Desktop, VS Code and most hosts start). Streamable
HTTP without authentication binds to loopback only: whoever can reach such a server
acts with the signed-in user's Microsoft 365 identity, so a non-loopback ``--host`` is
refused. With ``--auth entra`` the server is a multi-user OAuth resource server: every
request needs a Microsoft Entra access token for the server's own API and each user
acts as themselves (on-behalf-of), so it may bind any address. Nothing here writes to
stdout: under stdio, stdout is the protocol.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot_tools._net import is_loopback_host
from copilot_tools.cli.common import (
    EXIT_OK,
    EXIT_SERVICE,
    EXIT_USAGE,
    add_global_options,
    add_web_search_option,
    error,
    extra_headers,
    load_settings,
    preference,
)

if TYPE_CHECKING:
    from copilot_tools.mcp.http_auth import EntraAuth
    from copilot_tools.mcp.server import LogLevel
    from copilot_tools.mcp.http_security import TransportSecurity
    from copilot_tools.mcp.state import StateBackend, StateConfig
    from copilot_tools.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
HTTP_PATH = "/mcp"

EPILOG = """examples:
  copilot-tools mcp                                   # stdio, for Claude Desktop / VS Code
  copilot-tools mcp --transport http --port 8765      # http://127.0.0.1:8765/mcp
  copilot-tools mcp --transport http --host 0.0.0.0 --auth entra --auth-tenant TENANT_ID \\
      --auth-client-id API_CLIENT_ID --auth-resource-url https://mcp.contoso.com/mcp
                                                      # multi-user; secret in COPILOT_TOOLS_MCP_CLIENT_SECRET
  copilot-tools --endpoint http://127.0.0.1:8000/beta mcp   # against the local emulator
  copilot-tools mcp install claude-desktop            # add this server to Claude Desktop
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio",
                        help="stdio (default) or streamable HTTP")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"HTTP: address to bind (loopback only without --auth; default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP: port (default {DEFAULT_PORT})")
    _add_setting_options(parser)
    _add_auth_options(parser)
    _add_state_options(parser)
    _add_security_options(parser)

    actions = parser.add_subparsers(dest="mcp_action", metavar="ACTION", title="actions")
    install = actions.add_parser(
        "install", help="add this server to an MCP host's configuration",
        description="Add `copilot-tools mcp` to Claude Desktop's configuration. Other entries are kept, "
        "the old file is backed up next to it, and a file that does not parse is left alone.",
    )
    install.add_argument("host_app", choices=("claude-desktop",), metavar="HOST", help="claude-desktop")
    install.add_argument("--name", default="copilot", help="the server's name in the host (default: copilot)")
    install.add_argument("--config-file", type=Path, default=None,
                         help="the host's config file (default: Claude Desktop's on this platform)")
    install.add_argument("--force", action="store_true", help="replace an existing entry with the same name")
    add_global_options(install)
    _add_setting_options(install)


def _add_setting_options(parser: argparse.ArgumentParser) -> None:
    """Settings the server takes (also written into a host's config by ``install``)."""
    group = parser.add_argument_group("server settings (default: environment, then config file)")
    group.add_argument("--client-id", default=argparse.SUPPRESS,
                       help="Entra app (client) id to sign in with (env COPILOT_TOOLS_CLIENT_ID)")
    group.add_argument("--time-zone", default=argparse.SUPPRESS,
                       help="default IANA time zone for questions (env COPILOT_TOOLS_TIME_ZONE)")
    add_web_search_option(group, default=argparse.SUPPRESS)
    group.add_argument("--file-hosts", default=argparse.SUPPRESS,
                       help="comma-separated allowed file host suffixes (env COPILOT_TOOLS_FILE_HOSTS)")


#: Settings field → (argparse attribute, environment variable): each variable is the field's
#: name under the prefix ``Settings.load`` reads; the global ``--tenant`` sets ``tenant_id``.
_SETTING_OPTIONS = {
    field: ("tenant" if field == "tenant_id" else field, f"COPILOT_TOOLS_{field.upper()}")
    for field in ("endpoint", "tenant_id", "account", "client_id", "time_zone", "web_search", "file_hosts")
}


#: HTTP authentication: argparse attribute → environment variable. The client secret is
#: read from the environment only (a command line is visible to every local user).
_AUTH_OPTIONS = {
    "auth": "COPILOT_TOOLS_MCP_AUTH",
    "auth_tenant": "COPILOT_TOOLS_MCP_TENANT_ID",
    "auth_client_id": "COPILOT_TOOLS_MCP_CLIENT_ID",
    "auth_resource_url": "COPILOT_TOOLS_MCP_RESOURCE_URL",
    "auth_scope": "COPILOT_TOOLS_MCP_SCOPE",
    "auth_app_id_uri": "COPILOT_TOOLS_MCP_APP_ID_URI",
    "auth_allowed_tenants": "COPILOT_TOOLS_MCP_ALLOWED_TENANTS",
    "auth_allowed_clients": "COPILOT_TOOLS_MCP_ALLOWED_CLIENTS",
    "auth_certificate": "COPILOT_TOOLS_MCP_CLIENT_CERTIFICATE",
    "auth_certificate_thumbprint": "COPILOT_TOOLS_MCP_CLIENT_CERTIFICATE_THUMBPRINT",
    "auth_accept_v1_tokens": "COPILOT_TOOLS_MCP_ACCEPT_V1_TOKENS",
}
#: The HTTP-authentication options that take a value: argparse attribute → (metavar, help, default
#: or ""); the help names the environment variable of ``_AUTH_OPTIONS`` and then the default.
_AUTH_HELP = {
    "auth_tenant": ("TENANT_ID", "tenant id of the API's app registration", "--tenant"),
    "auth_client_id": ("CLIENT_ID", "client id of the app registration exposing the server's API: the tokens' "
                       "audience and the on-behalf-of client", ""),
    "auth_resource_url": ("URL", "the URL clients use for this endpoint, published as the protected resource, "
                          "e.g. https://mcp.contoso.com/mcp", "http://HOST:PORT/mcp on loopback, required otherwise"),
    "auth_scope": ("NAME", "delegated scope tokens must carry", "access_as_user"),
    "auth_app_id_uri": ("URI", "the API's Application ID URI", "api://CLIENT_ID"),
    "auth_allowed_tenants": ("IDS", "comma-separated tenant ids whose users may call", "the --auth-tenant"),
    "auth_allowed_clients": ("IDS", "comma-separated client app ids allowed to obtain tokens for the server", "any"),
    "auth_certificate": ("PEM", "the API app's certificate and private key, instead of a client secret", ""),
    "auth_certificate_thumbprint": ("HEX", "its SHA-1 thumbprint", "computed"),
}
CLIENT_SECRET_ENV = "COPILOT_TOOLS_MCP_CLIENT_SECRET"
AUTH_MODES = ("none", "entra")


def _add_auth_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "HTTP authentication (multi-user; --transport http only)",
        "With --auth entra every request needs a Microsoft Entra access token for the server's own API, "
        "and each user's Graph calls use their own token (on-behalf-of). The API app's client secret "
        f"is read from {CLIENT_SECRET_ENV} only.",
    )
    group.add_argument("--auth", choices=AUTH_MODES, default=argparse.SUPPRESS,
                       help=f"none (default: one user, loopback only) or entra (env {_AUTH_OPTIONS['auth']})")
    for attr, (metavar, text, default) in _AUTH_HELP.items():
        where = f"env {_AUTH_OPTIONS[attr]}; default {default}" if default else f"env {_AUTH_OPTIONS[attr]}"
        group.add_argument(f"--{attr.replace('_', '-')}", metavar=metavar, default=argparse.SUPPRESS,
                           help=f"{text} ({where})")
    group.add_argument("--auth-accept-v1-tokens", action="store_true", default=argparse.SUPPRESS,
                       help=f"also accept v1.0 access tokens (env {_AUTH_OPTIONS['auth_accept_v1_tokens']})")


#: State and limit options: argparse attribute → (StateConfig field, help). Environment
#: variables are in ``copilot_tools.mcp.state.config.ENVIRONMENT``.
_STATE_OPTIONS = {
    "state": ("state_url", "memory (default: this process) or redis://HOST:PORT/DB / rediss://… shared by replicas"),
    "max_turns_per_user": ("max_turns_per_user", "Copilot questions one user may have running at once (default 4)"),
    "max_sessions_per_user": ("max_sessions_per_user", "open MCP sessions per user (default 20)"),
    "max_sessions": ("max_sessions", "open MCP sessions in total (default 10000)"),
    "requests_per_minute": ("requests_per_minute", "HTTP requests per user per minute (default 240)"),
    "session_idle_timeout": ("session_idle_timeout",
                             "seconds without a request before a session closes (default 1800)"),
    "transcript_ttl": ("transcript_ttl", "seconds transcripts are kept after their last turn (default 604800)"),
}


def _add_state_options(parser: argparse.ArgumentParser) -> None:
    """One option per ``_STATE_OPTIONS`` entry; its help names the variable ``load_state_config``
    reads for it (``ENVIRONMENT``), so the help and the loader cannot disagree."""
    from copilot_tools.mcp.state.config import ENVIRONMENT

    group = parser.add_argument_group(
        "shared state and limits (--transport http)",
        "Replicas started with the same --state share sessions, resumable streams, transcripts, "
        "on-behalf-of tokens (sealed with COPILOT_TOOLS_STATE_KEY) and the per-user limits; "
        "see docs/deployment.md.",
    )
    for attr, (field, text) in _STATE_OPTIONS.items():
        group.add_argument(f"--{attr.replace('_', '-')}", dest=attr, metavar="URL" if attr == "state" else "N",
                           default=None, help=f"{text} (env {ENVIRONMENT[field]})")


def _state_config(args: argparse.Namespace, environ: Mapping[str, str]) -> StateConfig:
    from copilot_tools.mcp.state import load_state_config

    options = {field: getattr(args, attr, None) for attr, (field, _) in _STATE_OPTIONS.items()}
    return load_state_config(options, environ)


#: Allowed Host/Origin values: argparse attribute -> environment variable (the ``[mcp]`` table
#: of the config file holds them under the attribute's name).
_SECURITY_OPTIONS = {
    "allowed_hosts": "COPILOT_TOOLS_MCP_ALLOWED_HOSTS",
    "allowed_origins": "COPILOT_TOOLS_MCP_ALLOWED_ORIGINS",
}


def _add_security_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "DNS-rebinding protection (--transport http)",
        "Every request's Host (and Origin, when sent) must name this server: by default loopback names "
        "on a loopback bind, and the --auth-resource-url's host and origin otherwise. Behind a reverse "
        "proxy or for a browser-based client, allow more; see docs/security.md.",
    )
    group.add_argument("--allowed-host", dest="allowed_hosts", action="append", metavar="HOST[:PORT]",
                       default=None, help="also answer this Host header (repeatable; PORT may be *; "
                       "env COPILOT_TOOLS_MCP_ALLOWED_HOSTS, comma-separated; config [mcp] allowed_hosts)")
    group.add_argument("--allowed-origin", dest="allowed_origins", action="append", metavar="ORIGIN",
                       default=None, help="also accept requests from this web origin, e.g. https://app.contoso.com "
                       "(repeatable; env COPILOT_TOOLS_MCP_ALLOWED_ORIGINS; config [mcp] allowed_origins)")


def transport_security(args: argparse.Namespace, auth: EntraAuth | None,
                       environ: Mapping[str, str] | None = None) -> TransportSecurity:
    """The Host/Origin check for this server: derived from ``--host``/``--port`` and the resource
    URL, plus what the options, the environment and the ``[mcp]`` table of the config file allow.
    A malformed value is an ``InvalidInputError`` naming the setting."""
    from copilot_tools.cli.common import config_path, front_end_table
    from copilot_tools.mcp.http_security import derive, parse_allowed

    env = os.environ if environ is None else environ
    table = front_end_table(config_path(args, env), "mcp")
    extra: dict[str, tuple[str, ...]] = {}
    for attr, variable in _SECURITY_OPTIONS.items():
        values: list[str] = list(getattr(args, attr, None) or [])
        if env.get(variable, "").strip():
            values.append(env[variable])
        configured = table.get(attr)
        if isinstance(configured, str):
            values.append(configured)
        elif isinstance(configured, list):
            values.extend(str(item) for item in configured)
        elif configured is not None:
            from copilot_tools.errors import InvalidInputError

            raise InvalidInputError(attr, "the [mcp] table's value must be a list of strings")
        extra[attr] = parse_allowed(attr, values)
    return derive(args.host, args.port, resource_url=auth.config.resource_url if auth is not None else None,
                  allowed_hosts=extra["allowed_hosts"], allowed_origins=extra["allowed_origins"])


def _auth_values(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, str]:
    """Each HTTP-auth option from its argument, else its environment variable (non-empty)."""
    values = {}
    for attr, variable in _AUTH_OPTIONS.items():
        value = getattr(args, attr, None)
        if value is None or value is False:
            value = environ.get(variable, "").strip() or None
        if value is not None:
            values[attr] = str(value).strip() if not isinstance(value, bool) else "true"
    return values


def _auth_from_options(args: argparse.Namespace, settings: Settings,
                       environ: Mapping[str, str] | None = None) -> EntraAuth | None:
    """The HTTP authentication configured, or None; an incomplete configuration raises
    ``AuthConfigError`` naming what is missing."""
    from copilot_tools.errors import InvalidInputError

    env = os.environ if environ is None else environ
    values = _auth_values(args, env)
    mode = values.get("auth", "none").lower()
    if mode not in AUTH_MODES:
        raise InvalidInputError("auth", f"{mode!r} (COPILOT_TOOLS_MCP_AUTH) is not an authentication mode",
                                hint="Use none or entra.")
    if mode == "none":
        return None

    from pydantic import SecretStr

    from copilot_tools.auth.factory import ENV_AUTHORITY, ENV_CA_BUNDLE
    from copilot_tools.mcp.http_auth import (
        DEFAULT_AUTHORITY_HOST,
        DEFAULT_SCOPE,
        AuthConfigError,
        EntraAuth,
        EntraAuthConfig,
        downstream_scopes,
    )

    tenant = values.get("auth_tenant") or settings.tenant_id
    resource_url = values.get("auth_resource_url")
    secret = env.get(CLIENT_SECRET_ENV, "")
    certificate = values.get("auth_certificate")
    missing = [
        name for name, absent in (
            ("--auth-tenant (the API app's tenant id)", not tenant),
            ("--auth-client-id (the API app's client id)", "auth_client_id" not in values),
            (f"--auth-resource-url (the URL clients reach, required to serve on {args.host})",
             resource_url is None and not is_loopback_host(args.host)),
            (f"a credential ({CLIENT_SECRET_ENV} or --auth-certificate)", not secret.strip() and not certificate),
        ) if absent
    ]
    if missing:
        raise AuthConfigError(
            "missing " + "; ".join(missing),
            "Register an app that exposes an API scope (access_as_user) and give its ids and credential; "
            "see `copilot-tools mcp --help` and servers/README.md.",
        )
    if resource_url is None:
        host = f"[{args.host}]" if ":" in args.host else args.host
        resource_url = f"http://{host}:{args.port}{HTTP_PATH}"
    config = EntraAuthConfig(
        tenant_id=tenant or "",
        client_id=values.get("auth_client_id", ""),
        resource_url=resource_url,
        client_secret=SecretStr(secret) if secret.strip() else None,
        certificate_path=Path(certificate).expanduser() if certificate else None,
        certificate_thumbprint=values.get("auth_certificate_thumbprint"),
        scope=values.get("auth_scope") or DEFAULT_SCOPE,
        app_id_uri=values.get("auth_app_id_uri"),
        allowed_tenants=tuple(values.get("auth_allowed_tenants", "").split(",")),
        allowed_client_ids=tuple(values.get("auth_allowed_clients", "").split(",")),
        accept_v1_tokens=values.get("auth_accept_v1_tokens", "").lower() in ("1", "true", "yes", "on"),
        authority_host=env.get(ENV_AUTHORITY) or DEFAULT_AUTHORITY_HOST,
        ca_bundle=env.get(ENV_CA_BUNDLE) or None,
        downstream_scopes=downstream_scopes(settings.endpoint, env),
    )
    return EntraAuth(config)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "mcp_action", None) == "install":
        return _install(args)
    if args.transport == "stdio":
        from copilot_tools.mcp._startup import stdio_start_up

        # No garbage collection until the server serves (CopilotServer.run), no httpx CLI: mcp/_startup.py.
        with stdio_start_up():
            return _serve(args)
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    overrides = {field: getattr(args, attr, None) for field, (attr, _) in _SETTING_OPTIONS.items()
                 if field not in ("endpoint", "tenant_id", "account")}
    settings = load_settings(args, **overrides)
    from copilot_tools.errors import InvalidInputError

    auth = None
    if args.transport == "http":  # stdio ignores the HTTP authentication options
        try:
            auth = _auth_from_options(args, settings)
        except InvalidInputError as exc:  # AuthConfigError too: its message says it cannot start
            error(exc.message, exc.hint)
            return EXIT_USAGE
    if args.transport == "http" and auth is None and not is_loopback_host(args.host):
        error(
            f"refusing to serve HTTP on {args.host} without authentication: anyone who can reach it would act "
            "with your Microsoft 365 identity.",
            f"Bind to loopback (--host {DEFAULT_HOST}, the default), or configure authentication so that "
            "each user signs in as themselves (--auth entra; see `copilot-tools mcp --help`), "
            "or use --transport stdio.",
        )
        return EXIT_USAGE
    state_config: StateConfig | None = None
    security: TransportSecurity | None = None
    if args.transport == "http":
        try:
            state_config = _state_config(args, os.environ)
            security = transport_security(args, auth)
        except InvalidInputError as exc:
            error(exc.message, exc.hint)
            return EXIT_USAGE
    if auth is not None and settings.access_token is not None:
        _say("Note: COPILOT_TOOLS_ACCESS_TOKEN is ignored with --auth entra: each user's own token is used.")

    from copilot_tools._redact import redact_handlers
    from copilot_tools.client import AsyncCopilotClient
    from copilot_tools.mcp.server import build_server

    headers = extra_headers(args)  # --header / COPILOT_TOOLS_EXTRA_HEADERS: the emulator's fault switches
    verbose = bool(preference(args, "verbose")[0])
    if verbose:
        # -v already sends copilot_tools logs to stderr; keep the SDK's root handler from repeating them.
        logging.getLogger("copilot_tools").propagate = False
    factory = _with_headers(AsyncCopilotClient, headers) if headers else None
    log_level: LogLevel = "INFO" if verbose else "WARNING"
    if args.transport == "stdio":
        server = build_server(settings, client_factory=factory, log_level=log_level)
        redact_handlers()  # the SDK's stderr handler (set up with the server) logs tool tracebacks
        server.run()
        return EXIT_OK
    assert security is not None and state_config is not None
    return _start_http(args, settings, auth, security, state_config, factory, log_level)


def _start_http(args: argparse.Namespace, settings: Settings, auth: EntraAuth | None, security: TransportSecurity,
                state_config: StateConfig, factory: Any, log_level: LogLevel) -> int:
    from copilot_tools._redact import redact_handlers
    from copilot_tools.mcp.server import build_server
    from copilot_tools.mcp.state import open_state

    try:
        state = open_state(state_config)
    except ValueError as exc:  # InvalidInputError: the redis extra is missing
        error(getattr(exc, "message", str(exc)), getattr(exc, "hint", ""))
        return EXIT_USAGE
    if auth is not None:
        try:
            _share_tokens(auth, state_config, os.environ)
        except ValueError as exc:  # InvalidInputError: a malformed key
            error(getattr(exc, "message", str(exc)), getattr(exc, "hint", ""))
            return EXIT_USAGE
    from copilot_tools.mcp.telemetry import TracedTransport, traced_factory

    server = build_server(settings, client_factory=traced_factory(factory), log_level=log_level, auth=auth,
                          state=state, http_transport=TracedTransport())
    redact_handlers()  # the SDK's stderr handler (set up with the server) logs tool tracebacks
    _say(f"Serving MCP over streamable HTTP at http://{args.host}:{args.port}{HTTP_PATH} "
         f"(state: {state_config.redacted_url()}; /healthz, /readyz)")
    if auth is not None:
        config = auth.config
        _say(f"Authentication: Microsoft Entra tokens for {config.app_id_uri} with scope {config.scope}, "
             f"tenant(s) {', '.join(config.allowed_tenants)}; resource {config.resource_url}")
    served = _serve_http(server, args.host, args.port, security, auth, log_level=log_level.lower(),
                         state=state, state_config=state_config)
    return EXIT_SERVICE if served is False else EXIT_OK


def _share_tokens(auth: EntraAuth, state_config: StateConfig, environ: Mapping[str, str]) -> None:
    """On-behalf-of tokens in the shared store, sealed with COPILOT_TOOLS_STATE_KEY; without a
    key they stay in each replica's memory (said once, at start)."""
    if not state_config.shared:
        return
    from copilot_tools.mcp.state.tokens import SealedTokenStore, sealing_key

    fernet = sealing_key(environ)
    if fernet is None:
        _say("Note: COPILOT_TOOLS_STATE_KEY is not set, so on-behalf-of tokens are not shared: each replica "
             "exchanges its users' tokens itself.")
        return
    auth.token_store = SealedTokenStore(state_config, fernet)


def _serve_http(server: Any, host: str, port: int, security: TransportSecurity, auth: EntraAuth | None, *,
                log_level: str, state: StateBackend, state_config: StateConfig) -> bool:
    """Serve ``guarded_http_app`` under uvicorn until stopped; False (said) when the state store
    cannot be reached at start-up."""
    from copilot_tools.mcp.http_app import serve_http

    app = guarded_http_app(server, host, security, auth, state=state, state_config=state_config)
    return serve_http(app, state, state_config, host=host, port=port, log_level=log_level, say=_say)


def guarded_http_app(server: Any, host: str, security: TransportSecurity, auth: EntraAuth | None, *,
                     state: StateBackend | None = None, state_config: StateConfig | None = None) -> Any:
    """The ASGI app ``mcp --transport http`` serves: the shared-state app (``mcp.http_app``, its
    SDK transport's own Host/Origin check set to the same lists) behind ``HttpGuard`` (Host/Origin
    before authentication; the auth challenges completed); only the health probes skip the guard.
    Without ``state``: this process's memory."""
    from copilot_tools.mcp.http_app import build_http_app, guarded
    from copilot_tools.mcp.state import StateConfig, open_state

    config = state_config if state_config is not None else StateConfig()
    store = state if state is not None else open_state(config)
    app = build_http_app(server, store, config, auth=auth, host=host, path=HTTP_PATH,
                         transport_security=security.sdk_settings())
    return guarded(app, security, auth)


def _with_headers(client_class: Any, headers: dict[str, str]) -> Any:
    def factory(settings: Settings, **options: Any) -> Any:
        return client_class(settings=settings, headers=headers, **options)

    return factory


def _install(args: argparse.Namespace) -> int:
    from copilot_tools.mcp.install import claude_desktop_config_path, install_entry, server_entry

    env = {}
    for attr, variable in _SETTING_OPTIONS.values():
        value = getattr(args, attr, None)
        if value is not None:
            env[variable] = str(value).lower() if isinstance(value, bool) else str(value)
    path = args.config_file or claude_desktop_config_path()
    result = install_entry(path, args.name, server_entry(env), force=args.force)
    if result.action == "unchanged":
        _say(f"{path} already runs this server as {args.name!r}; nothing changed.")
        return EXIT_OK
    _say(f"{result.action.capitalize()} the MCP server {args.name!r} in {path}.")
    if result.backup is not None:
        _say(f"The previous file is saved as {result.backup}.")
    _say("Restart Claude Desktop to load it; sign in first with `copilot-tools login` if you have not.")
    return EXIT_OK


def _say(message: str) -> None:
    # stderr, like every message of this package's MCP code (stdout is reserved for the protocol).
    print(message, file=sys.stderr)
