"""The ``copilot-tools`` command.

Start-up must stay fast, so this module imports only the standard library: the
command's own module is imported after the first argument names it, and a command that
does not need LangChain, the MCP SDK or the emulator never imports them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from copilot_tools.cli.common import EXIT_USAGE, add_global_options, error, program_name, run_command

#: name -> (module under copilot_tools, one-line summary). Each module defines
#: ``configure(parser)`` to add its options and ``run(args) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "ask": ("copilot_tools.cli.ask", "Ask Copilot a question and stream the answer"),
    "chat": ("copilot_tools.cli.chat", "Talk with Copilot in one conversation, interactively"),
    "retrieve": ("copilot_tools.cli.retrieve", "Fetch the passages Copilot would ground on"),
    "login": ("copilot_tools.cli.auth", "Sign in to Microsoft 365"),
    "logout": ("copilot_tools.cli.auth", "Sign out of one account or all"),
    "accounts": ("copilot_tools.cli.auth", "List the signed-in accounts"),
    "whoami": ("copilot_tools.cli.auth", "Show the current account, tenant and token expiry"),
    "mcp": ("copilot_tools.cli.mcp", "Serve the MCP server (stdio or streamable HTTP)"),
    "emulator": ("copilot_tools.cli.emulator", "Serve the local Copilot API emulator"),
    "demo": ("copilot_tools.cli.demo", "Ask the built-in emulator a question, end to end"),
    "config": ("copilot_tools.cli.config", "Show every setting and where its value came from"),
}

EPILOG = """examples:
  copilot-tools demo
  copilot-tools emulator --port 8000 &
  COPILOT_TOOLS_ENDPOINT=http://127.0.0.1:8000/beta copilot-tools ask "What meeting do I have at 9 AM tomorrow?"
  copilot-tools mcp
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("copilot-tools")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


class _VersionAction(argparse.Action):
    """``--version``, looked up only when asked for (package metadata costs ~50 ms to read)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        print(f"copilot-tools {_version()}")
        parser.exit()


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copilot-tools",
        description="Microsoft 365 Copilot for agents: ask, chat, retrieve, and serve MCP.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    add_global_options(parser)
    return parser


def _command_parser(name: str) -> argparse.ArgumentParser:
    module_name, summary = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(
        prog=f"copilot-tools {name}",
        description=summary,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_global_options(parser)
    configure = getattr(module, f"configure_{name}", None) or module.configure
    configure(parser)
    parser.set_defaults(_module=module, _command=name)
    return parser


def _value_options(parser: argparse.ArgumentParser) -> frozenset[str]:
    """The options of ``parser`` that take a value (the next argument, unless written ``--option=value``)."""
    return frozenset(option for action in parser._actions if action.nargs != 0 for option in action.option_strings)


def _first_positional(args: Sequence[str], value_options: frozenset[str]) -> str | None:
    """The first argument that is neither an option nor an option's value: the command as typed."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in value_options:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _unknown_command(name: str) -> int:
    """``error: unknown command 'askk'`` with the closest command, if one is close."""
    import difflib
    import shlex

    prog = program_name()
    close = difflib.get_close_matches(name.lower(), COMMANDS, n=1, cutoff=0.6)
    hint = f"Did you mean `{prog} {close[0]}`?" if close else None
    if hint is None and (" " in name.strip() or name.rstrip().endswith("?")):  # a question without its command
        hint = f"To ask it: `{prog} ask {shlex.quote(name)}`."
    listing = f"`{prog} --help` lists the commands: {', '.join(COMMANDS)}."
    error(f"unknown command {name!r}", f"{hint} {listing}" if hint else listing)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (the console script exits with it)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    top = _top_parser()
    subparsers = top.add_subparsers(title="commands", metavar="COMMAND")
    for name, (_, summary) in COMMANDS.items():
        subparsers.add_parser(name, help=summary, add_help=False)
    # Find the command name: the first argument that is one (global options may precede it).
    index = next((i for i, arg in enumerate(args_list) if arg in COMMANDS), None)
    if index is None:
        if not args_list:
            top.print_help()
            return EXIT_USAGE
        unknown = _first_positional(args_list, _value_options(top))
        if unknown is not None:
            return _unknown_command(unknown)
        top.parse_args(args_list)  # handles --help/--version and reports unknown commands
        top.print_help()
        return EXIT_USAGE
    name = args_list[index]
    parser = _command_parser(name)
    args = parser.parse_args(args_list[:index] + args_list[index + 1 :])
    return run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
