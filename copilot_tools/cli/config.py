"""``copilot-tools config``: every setting, its value, and where that value came from.

The answer to "why is it talking to that endpoint?": each value is shown with its
source (argument, environment variable, config file or default). Secrets are only
shown as set or unset.
"""

from __future__ import annotations

import argparse

from copilot_tools.cli.common import PREFERENCES, config_path, load_settings, preference

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
                        help="print the settings as JSON: {name: {value, source}}")


def rows(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(name, shown value, source) for the client settings, then the CLI's own."""
    settings = load_settings(args)
    table = list(settings.describe())
    shown = {name for name, _, _ in table}
    for name in PREFERENCES:
        if name in shown:  # once Settings carries it, Settings' answer wins
            continue
        value, source = preference(args, name) if name != "json" else _json_preference(args)
        table.append((name, str(value).lower() if isinstance(value, bool) else str(value), source))
    return table


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
    if out.rich:
        from rich.table import Table
        from rich.text import Text

        grid = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
        grid.add_column("setting")
        grid.add_column("value", overflow="fold")
        grid.add_column("source", style="dim", overflow="fold")
        for name, value, source in table:
            grid.add_row(name, Text(value, style="dim" if value == "(unset)" else ""), source)
        out.console.print(Text("config file: ", style="bold").append(str(path)).append(found, style="dim"))
        out.console.print()
        out.console.print(grid)
    else:
        width = max(len(name) for name, _, _ in table)
        value_width = min(40, max(len(value) for _, value, _ in table))
        out.stdout.write(f"config file: {path}{found}\n\n")
        for name, value, source in table:
            out.stdout.write(f"{name:<{width}}  {value:<{value_width}}  {source}\n")
    return 0
