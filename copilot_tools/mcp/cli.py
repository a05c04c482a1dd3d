"""``copilot-tools mcp``: serve the MCP server, or register it with Claude Desktop.

stdio is the default (what Claude Desktop, VS Code and most hosts start). Streamable
HTTP binds to loopback only: this server has no inbound authentication, and whoever can
reach it acts with the signed-in user's Microsoft 365 identity, so a non-loopback
``--host`` is refused. Nothing here writes to stdout: under stdio, stdout is the
protocol.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from copilot_tools.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_global_options,
    error,
    extra_headers,
    load_settings,
    preference,
)
from copilot_tools.protocol import is_loopback_host

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
HTTP_PATH = "/mcp"

EPILOG = """examples:
  copilot-tools mcp                                   # stdio, for Claude Desktop / VS Code
  copilot-tools mcp --transport http --port 8765      # http://127.0.0.1:8765/mcp
  copilot-tools --endpoint http://127.0.0.1:8000/beta mcp   # against the local emulator
  copilot-tools mcp install claude-desktop            # add this server to Claude Desktop
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio",
                        help="stdio (default) or streamable HTTP")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"HTTP: address to bind (loopback only; default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP: port (default {DEFAULT_PORT})")
    _add_setting_options(parser)

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
    group.add_argument("--web-search", action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                       help="ground answers in web results by default (env COPILOT_TOOLS_WEB_SEARCH)")
    group.add_argument("--file-hosts", default=argparse.SUPPRESS,
                       help="comma-separated allowed file host suffixes (env COPILOT_TOOLS_FILE_HOSTS)")


#: Settings field → (argparse attribute, environment variable).
_SETTING_OPTIONS = {
    "endpoint": ("endpoint", "COPILOT_TOOLS_ENDPOINT"),
    "tenant_id": ("tenant", "COPILOT_TOOLS_TENANT_ID"),
    "account": ("account", "COPILOT_TOOLS_ACCOUNT"),
    "client_id": ("client_id", "COPILOT_TOOLS_CLIENT_ID"),
    "time_zone": ("time_zone", "COPILOT_TOOLS_TIME_ZONE"),
    "web_search": ("web_search", "COPILOT_TOOLS_WEB_SEARCH"),
    "file_hosts": ("file_hosts", "COPILOT_TOOLS_FILE_HOSTS"),
}


def run(args: argparse.Namespace) -> int:
    if getattr(args, "mcp_action", None) == "install":
        return _install(args)
    overrides = {field: getattr(args, attr, None) for field, (attr, _) in _SETTING_OPTIONS.items()
                 if field not in ("endpoint", "tenant_id", "account")}
    settings = load_settings(args, **overrides)
    if args.transport == "http" and not is_loopback_host(args.host):
        error(
            f"refusing to serve HTTP on {args.host}: this server has no inbound authentication, and anyone "
            "who can reach it would act with your Microsoft 365 identity.",
            f"Bind to loopback (--host {DEFAULT_HOST}, the default) and, to share it, put an authenticating "
            "reverse proxy in front of it; or use --transport stdio.",
        )
        return EXIT_USAGE

    from copilot_tools.client import AsyncCopilotClient
    from copilot_tools.mcp.server import build_server

    headers = extra_headers(args)  # --header / COPILOT_TOOLS_EXTRA_HEADERS: the emulator's fault switches
    verbose = bool(preference(args, "verbose")[0])
    if verbose:
        # -v already sends copilot_tools logs to stderr; keep the SDK's root handler from repeating them.
        logging.getLogger("copilot_tools").propagate = False
    server = build_server(
        settings,
        client_factory=(lambda s: AsyncCopilotClient(settings=s, headers=headers)) if headers else None,
        log_level="INFO" if verbose else "WARNING",
    )
    if args.transport == "stdio":
        server.run()
    else:
        _say(f"Serving MCP over streamable HTTP at http://{args.host}:{args.port}{HTTP_PATH}")
        server.run("streamable-http", host=args.host, port=args.port, streamable_http_path=HTTP_PATH)
    return EXIT_OK


def _install(args: argparse.Namespace) -> int:
    from copilot_tools.mcp.install import claude_desktop_config_path, install_entry, server_entry

    env = {}
    for field, (attr, variable) in _SETTING_OPTIONS.items():
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
