"""What every command shares: global options, settings, exit codes, error reporting.

Errors are one line on stderr with a hint, and an exit code per class that scripts can
rely on; a traceback only with ``-v``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copilot_tools.settings import Settings

EXIT_OK = 0
EXIT_SERVICE = 1
EXIT_USAGE = 2
EXIT_NOT_SIGNED_IN = 3
EXIT_PERMISSION = 4
EXIT_THROTTLED = 5
EXIT_NOT_FOUND = 6
EXIT_DECLINED = 7
EXIT_INTERRUPTED = 130

#: CopilotError.kind -> exit code. Anything not listed is a service error.
EXIT_CODES: dict[str, int] = {
    "invalid_input": EXIT_USAGE,
    "bad_request": EXIT_USAGE,
    "not_signed_in": EXIT_NOT_SIGNED_IN,
    "permission_denied": EXIT_PERMISSION,
    "license_required": EXIT_PERMISSION,
    "throttled": EXIT_THROTTLED,
    "conversation_not_found": EXIT_NOT_FOUND,
    "declined": EXIT_DECLINED,
    "empty_response": EXIT_DECLINED,
}


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """Options every command accepts, before or after its name."""
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--endpoint",
        default=argparse.SUPPRESS,
        help="graph, workiq, or a base URL such as http://127.0.0.1:8000/beta "
        "(env COPILOT_TOOLS_ENDPOINT)",
    )
    group.add_argument("--tenant", default=argparse.SUPPRESS, help="Entra tenant id or domain (env COPILOT_TOOLS_TENANT_ID)")
    group.add_argument("--account", default=argparse.SUPPRESS, help="username of the signed-in account to use (env COPILOT_TOOLS_ACCOUNT)")
    group.add_argument("--config", default=argparse.SUPPRESS, help="config file (env COPILOT_TOOLS_CONFIG)")
    group.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS,
        help="show request ids and timings on stderr (-vv for debug); never tokens",
    )


def load_settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    """Settings from the global options and ``overrides``, then environment, then file."""
    from copilot_tools.settings import Settings

    values = {
        "endpoint": getattr(args, "endpoint", None),
        "tenant_id": getattr(args, "tenant", None),
        "account": getattr(args, "account", None),
        **overrides,
    }
    return Settings.load(values, config_path=getattr(args, "config", None))


def configure_logging(verbosity: int) -> None:
    if verbosity <= 0:
        return
    from copilot_tools.redact import install_redaction

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    install_redaction(handler)
    root = logging.getLogger("copilot_tools")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
    # hpack logs request headers at DEBUG under HTTP/2: keep it quiet whatever -v says.
    logging.getLogger("hpack").setLevel(logging.WARNING)


def error(message: str, hint: str | None = None) -> None:
    """One line on stderr (two with a hint)."""
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command, turning every failure into a message and an exit code."""
    from copilot_tools.errors import CopilotError

    verbosity = getattr(args, "verbose", 0) or 0
    configure_logging(verbosity)
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CopilotError as exc:
        if verbosity:
            import traceback

            traceback.print_exc()
        error(exc.message + (f" (request-id {exc.request_id})" if exc.request_id else ""), exc.hint)
        return EXIT_CODES.get(exc.kind, EXIT_SERVICE)
    except BrokenPipeError:
        # stdout closed early (`| head`): not an error, and no traceback on exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
