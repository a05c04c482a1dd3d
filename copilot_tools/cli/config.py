"""``copilot-tools config``: every setting, its value, and where that value came from.

The answer to "why is it talking to that endpoint?": each value is shown with its
source (argument, environment variable, config file or default); an unset setting shows
the value that stands in for it (the machine's time zone, the default sign-in app) and
says so. ``--json`` keeps each value's type (booleans, numbers, lists, null). Secrets are
only shown as set or unset.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from copilot_tools.cli.common import PREFERENCES, config_path, load_settings, preference

if TYPE_CHECKING:
    from copilot_tools.settings import Settings

EXAMPLES = """examples:
  copilot-tools config
  COPILOT_TOOLS_ENDPOINT=http://127.0.0.1:8000/beta copilot-tools config
  copilot-tools config --json

config file (TOML), e.g. ~/.config/copilot-tools/config.toml on Linux:
  [copilot-tools]
  endpoint = "graph"
  time_zone = "Europe/Paris"
  web_search = false

  [cli]
  stream = true
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("--json", action="store_true", default=None,
                        help="print the settings as JSON: {name: {value, source}}, values typed (null when unset)")


#: One row: the setting's name, its value as the program uses it (typed; ``None`` when unset
#: and nothing stands in for it) and where that value comes from.
Row = tuple[str, Any, str]


def rows(args: argparse.Namespace) -> list[Row]:
    """The client settings, then the CLI's own preferences, each with its value and source."""
    from pydantic import SecretStr  # here, not at import: `config --help` needs no pydantic

    settings = load_settings(args)
    table: list[Row] = []
    for name, text, source in settings.describe():  # its fields, sources and secrets; typed values here
        value: Any = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = text  # never the secret: describe's "set (hidden)"
        elif isinstance(value, tuple):
            value = list(value)
        if value is None and source == "default":
            value, source = _effective_default(name, settings)
        elif name == "broker" and value:
            from copilot_tools.auth.public import broker_installed

            if broker_installed():
                source += " (msal[broker] is installed)"
            else:
                source += " (no effect: msal[broker] is not installed)"
        table.append((name, value, source))
    shown = {name for name, _, _ in table}
    for name in PREFERENCES:
        if name in shown:  # once Settings carries it, Settings' answer wins
            continue
        value, source = preference(args, name) if name != "json" else _json_preference(args)
        table.append((name, value, source))
    return table


def _effective_default(name: str, settings: Settings) -> tuple[Any, str]:
    """What an unset setting means in practice, and why: the value used, not "(unset)"."""
    if name == "time_zone":
        from copilot_tools._io import local_time_zone

        return local_time_zone(), "default (this machine's time zone)"
    if name == "tenant_id":
        from copilot_tools.auth.scopes import DEFAULT_TENANT

        return DEFAULT_TENANT, "default (any work or school account)"
    if name == "client_id":
        from copilot_tools.auth.scopes import GRAPH_DEFAULT_CLIENT_ID, default_client_id

        client_id = default_client_id(settings.endpoint)
        app = "Microsoft Graph Command Line Tools" if client_id == GRAPH_DEFAULT_CLIENT_ID else "Work IQ CLI"
        return client_id, f"default ({app})"
    if name == "workiq_conversations_path":
        from copilot_tools._protocol import WORKIQ_CONVERSATIONS_PATH

        return WORKIQ_CONVERSATIONS_PATH, "default"
    if name == "account":
        return None, "default (the account last signed in with login, or the only one)"
    if name == "access_token":
        return None, "default (the sign-in from login)"
    return None, "default"


def shown(value: Any) -> str:
    """A value as the table prints it: ``true``/``false`` like the config file, lists comma-joined."""
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def _json_preference(args: argparse.Namespace) -> tuple[object, str]:
    # ``config --json`` formats this listing; it is not the saved preference being shown.
    probe = argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "json"})
    return preference(probe, "json")


def run(args: argparse.Namespace) -> int:
    from copilot_tools.cli.render import Output, print_json

    table = rows(args)
    path = config_path(args)
    if args.json:
        print_json({
            "config_file": {"path": str(path), "exists": path.is_file()},
            "settings": {name: {"value": value, "source": source} for name, value, source in table},
        })
        return 0
    out = Output()
    found = "" if path.is_file() else " (not found; defaults apply)"
    text_rows = [(name, shown(value), source) for name, value, source in table]
    if out.rich:
        from rich.table import Table
        from rich.text import Text

        grid = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
        grid.add_column("setting")
        grid.add_column("value", overflow="fold")
        grid.add_column("source", style="dim", overflow="fold")
        for name, value, source in text_rows:
            grid.add_row(name, Text(value, style="dim" if value == "(unset)" else ""), source)
        out.console.print(Text("config file: ", style="bold").append(str(path)).append(found, style="dim"))
        out.console.print()
        out.console.print(grid)
    else:
        width = max(len(name) for name, _, _ in text_rows)
        value_width = min(40, max(len(value) for _, value, _ in text_rows))
        out.stdout.write(f"config file: {path}{found}\n\n")
        for name, value, source in text_rows:
            out.stdout.write(f"{name:<{width}}  {value:<{value_width}}  {source}\n")
    return 0
