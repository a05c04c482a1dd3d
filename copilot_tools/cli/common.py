"""What every command shares: global options, settings, exit codes, error reporting.

Errors are one line on stderr with a hint, and an exit code per class that scripts can
rely on; a traceback only with ``-v``. Nothing here imports more than the standard
library at module level: ``copilot-tools --help`` must stay fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copilot_tools.client import CopilotClient
    from copilot_tools.errors import CopilotError, InvalidInputError
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

#: ``InvalidInputError.argument`` (the client's parameter names) -> how the CLI spells it,
#: so a usage error names the option the user typed.
OPTION_NAMES: dict[str, str] = {
    "message": "QUESTION",
    "question": "QUESTION",
    "time_zone": "--time-zone",
    "files": "--file",
    "conversation_id": "--conversation",
    "additional_context": "--context",
    "context_file": "--context-file",
    "endpoint": "--endpoint",
    "tenant_id": "--tenant",
    "account": "--account",
    "query": "QUERY",
    "queries": "QUERY",
    "max_results": "--max",
    "filter": "--filter",
    "data_source": "--source",
    "data_sources": "--source",
    "connections": "--connection",
    "header": "--header",
}

#: Environment variable with extra request headers, one ``Name: value`` per line.
EXTRA_HEADERS_ENV = "COPILOT_TOOLS_EXTRA_HEADERS"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """Options every command accepts, before or after its name."""
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--endpoint",
        default=argparse.SUPPRESS,
        help="graph, workiq, or a base URL such as http://127.0.0.1:8000/beta "
        "(env COPILOT_TOOLS_ENDPOINT)",
    )
    group.add_argument(
        "--tenant", default=argparse.SUPPRESS, help="Entra tenant id or domain (env COPILOT_TOOLS_TENANT_ID)"
    )
    group.add_argument(
        "--account",
        default=argparse.SUPPRESS,
        help="username of the signed-in account to use (env COPILOT_TOOLS_ACCOUNT)",
    )
    group.add_argument("--config", default=argparse.SUPPRESS, help="config file (env COPILOT_TOOLS_CONFIG)")
    group.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS,
        help="show request ids and timings on stderr (-vv for debug); never tokens "
        "(env COPILOT_TOOLS_VERBOSE)",
    )
    group.add_argument(
        "--header", action="append", default=argparse.SUPPRESS, metavar="'NAME: VALUE'",
        help="add a request header, for testing against the emulator, e.g. "
        "--header 'x-emulator-fault: throttle' (env COPILOT_TOOLS_EXTRA_HEADERS, one per line)",
    )


def add_web_search_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup, default: Any = None) -> None:
    """``--web-search/--no-web-search``, spelled as the setting, its variable and the MCP argument.

    ``--web/--no-web`` (the first spelling of ``ask`` and ``chat``) still works, hidden.
    """
    parser.add_argument(
        "--web-search", action=argparse.BooleanOptionalAction, default=default, dest="web_search",
        help="let Copilot ground answers in web results (default on; --no-web-search keeps to work data; "
        "env COPILOT_TOOLS_WEB_SEARCH)",
    )
    parser.add_argument("--web", action=argparse.BooleanOptionalAction, default=default, dest="web_search",
                        help=argparse.SUPPRESS)


def program_name(environ: Mapping[str, str] | None = None) -> str:
    """How the user runs the command: ``copilot-tools``, or ``./dev`` from a clone (``COPILOT_TOOLS_PROG``)."""
    env = os.environ if environ is None else environ
    return env.get("COPILOT_TOOLS_PROG", "").strip() or "copilot-tools"


# --- settings and preferences -------------------------------------------------------------


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


def config_path(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Path:
    """The config file this invocation reads (``--config`` > ``COPILOT_TOOLS_CONFIG`` > default)."""
    env = os.environ if environ is None else environ
    explicit = getattr(args, "config", None) or env.get("COPILOT_TOOLS_CONFIG")
    if explicit:
        return Path(explicit)
    from copilot_tools.settings import default_config_path

    return default_config_path()


#: Preferences of the command line itself (not of the client): name -> default. Each is
#: read from its option, then ``COPILOT_TOOLS_<NAME>``, then the ``[cli]`` table of the
#: config file, so that, like every setting, it can be made permanent.
PREFERENCES: dict[str, Any] = {"verbose": 0, "json": False, "stream": True}


def preference(args: argparse.Namespace, name: str, environ: Mapping[str, str] | None = None) -> tuple[Any, str]:
    """(value, where it came from) for one CLI preference; a bad value is a usage error."""
    default = PREFERENCES[name]
    value = getattr(args, name, None)
    if value is not None:
        return value, "argument"
    env = os.environ if environ is None else environ
    variable = f"COPILOT_TOOLS_{name.upper()}"
    raw = env.get(variable)
    if raw is not None and raw.strip() != "":
        return _coerce(name, raw, default, f"environment ({variable})"), f"environment ({variable})"
    path = config_path(args, env)
    table = _cli_table(path)
    if name in table:
        return _coerce(name, table[name], default, f"config file ({path})"), f"config file ({path})"
    return default, "default"


def _coerce(name: str, raw: Any, default: Any, source: str) -> Any:
    from copilot_tools.errors import InvalidInputError

    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidInputError(name, f"{raw!r} from {source} is not a boolean", hint="Use true or false.")
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise InvalidInputError(name, f"{raw!r} from {source} is not a whole number") from None
    if number < 0:
        raise InvalidInputError(name, f"{raw!r} from {source} is negative")
    return number


def _cli_table(path: Path) -> dict[str, Any]:
    """The ``[cli]`` table of the config file (top level, or under ``[copilot-tools]``); an unknown
    key is an error, spelled as ``Settings.load`` spells an unknown key of ``[copilot-tools]``."""
    values = front_end_table(path, "cli")
    unknown = set(values) - set(PREFERENCES)
    if unknown:
        from copilot_tools.errors import InvalidInputError

        raise InvalidInputError("config file", f"{path} has unknown keys {sorted(unknown)} in [cli]",
                                hint=f"Known keys: {', '.join(PREFERENCES)}.")
    return values


def front_end_table(path: Path, name: str) -> dict[str, Any]:
    """A front end's table of the config file (``[cli]``, ``[mcp]``; top level, or under ``[copilot-tools]``)."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return {}  # Settings.load reports a broken file, with its name, where it matters
    table = data.get(name)
    if table is None and isinstance(data.get("copilot-tools"), dict):
        table = data["copilot-tools"].get(name)
    return {key.replace("-", "_"): value for key, value in table.items()} if isinstance(table, dict) else {}


def extra_headers(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Request headers from ``--header`` and ``COPILOT_TOOLS_EXTRA_HEADERS`` (testing aid)."""
    from copilot_tools.errors import InvalidInputError

    env = os.environ if environ is None else environ
    lines = [line for line in env.get(EXTRA_HEADERS_ENV, "").splitlines() if line.strip()]
    lines += list(getattr(args, "header", None) or [])
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or not name or any(ch in name for ch in " \t()<>@,;\\\"/[]?={}") or not name.isascii():
            raise InvalidInputError("header", f"{line!r} is not 'Name: value'",
                                    hint="For example --header 'x-emulator-fault: throttle'.")
        if name.lower() in ("authorization", "host", "content-length"):
            raise InvalidInputError("header", f"{name} cannot be set this way")
        value = value.strip()
        if not _printable_ascii(value):
            raise InvalidInputError("header", f"the value of {name} must be printable ASCII "
                                    "(no line breaks, control characters or non-ASCII letters)",
                                    hint="Write it on one line in plain ASCII, percent-encoding anything else.")
        headers[name] = value
    return headers


def _printable_ascii(text: str) -> bool:
    """What an HTTP/1.1 header value may safely hold (httpx refuses the rest deep inside)."""
    return all(" " <= ch <= "~" for ch in text)


def make_client(args: argparse.Namespace, settings: Settings, **kwargs: Any) -> CopilotClient:
    """The synchronous client every command uses, with the extra headers applied."""
    from copilot_tools.client import CopilotClient

    headers = extra_headers(args)
    if "token" not in kwargs and "token_provider" not in kwargs:
        kwargs["token_provider"] = token_provider(settings)
    return CopilotClient(settings=settings, headers=headers or None, **kwargs)


def token_provider(settings: Settings) -> Any:
    """The configured sign-in; it may prompt only when a person is at the terminal.

    In a terminal a missing sign-in opens the browser (or shows a device code on
    stderr), as ``copilot-tools login`` would. In a script it never prompts: the command
    fails with "not signed in" (exit 3) and the hint to run ``copilot-tools login``; a
    device code shown to a pipe would only expire with the process.
    """
    from copilot_tools.auth import provider_from_settings

    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    provider: Any = provider_from_settings(settings, interactive=True)
    if not interactive and getattr(provider, "interaction", None) is not None:
        provider.interaction = "none"  # MSAL's provider: silent sign-in only
    return provider


# --- reporting ----------------------------------------------------------------------------


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now, so log lines land above a live answer."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(verbosity: int) -> None:
    if verbosity <= 0:
        return
    from copilot_tools._redact import install_redaction

    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    install_redaction(handler)
    root = logging.getLogger("copilot_tools")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
    # hpack logs request headers at DEBUG under HTTP/2: keep it quiet whatever -v says.
    logging.getLogger("hpack").setLevel(logging.WARNING)


def error(message: str, hint: str | None = None) -> None:
    """One line on stderr (two with a hint); the labels in colour on a terminal.

    The one place the CLI writes an error: its text is redacted (it may quote a response
    that echoed the request's token) and made encodable (it may quote hostile reply text).
    """
    from copilot_tools._redact import redact
    from copilot_tools._text import encodable

    message = encodable(redact(message))
    hint = encodable(redact(hint)) if hint else hint
    color = _stderr_color()
    print(f"{color('error:', '31;1')} {message}", file=sys.stderr)
    if hint:
        print(f"{color('hint:', '33')} {hint}", file=sys.stderr)


def _stderr_color() -> Any:
    try:
        plain = not sys.stderr.isatty() or "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb"
    except (AttributeError, ValueError):
        plain = True
    if plain:
        return lambda text, _code: text
    return lambda text, code: f"\033[{code}m{text}\033[0m"


def usage_message(exc: InvalidInputError) -> str:
    """``invalid --time-zone: 'Mars/Base' is not an IANA time zone``: the option as typed."""
    argument = getattr(exc, "argument", "") or ""
    detail = exc.message.removeprefix(f"Invalid {argument}: ")
    return f"invalid {OPTION_NAMES.get(argument, argument)}: {detail}"


def verbosity_level(args: argparse.Namespace) -> int:
    """``-v`` count (option > environment > config file); 0 when it cannot be read."""
    try:
        return int(preference(args, "verbose")[0])
    except Exception:  # noqa: BLE001 - a bad COPILOT_TOOLS_VERBOSE must not hide the real error
        return 0


def report_error(exc: CopilotError, verbosity: int = 0) -> int:
    """Report ``exc`` in one line (and its hint) on stderr; returns its exit code.

    The one place a ``CopilotError`` becomes what the user reads: a usage error names
    the option as typed, a service error carries its request id, and ``-v`` adds the
    traceback.
    """
    from copilot_tools.errors import InvalidInputError

    if verbosity:
        print_traceback(exc)
    if isinstance(exc, InvalidInputError):
        error(usage_message(exc), exc.hint)
        return EXIT_USAGE
    error(exc.message + (f" (request-id {exc.request_id})" if exc.request_id else ""), exc.hint)
    return EXIT_CODES.get(exc.kind, EXIT_SERVICE)


def print_traceback(exc: BaseException) -> None:
    """The traceback ``-v`` shows, redacted: a refused header value quotes the token."""
    from copilot_tools._redact import format_exception
    from copilot_tools._text import encodable

    print(encodable(format_exception(exc)), file=sys.stderr, end="")


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command, turning every failure into a message and an exit code."""
    from copilot_tools.errors import CopilotError

    level = verbosity_level(args)
    configure_logging(level)
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CopilotError as exc:
        return report_error(exc, level)
    except BrokenPipeError:
        # stdout closed early (`| head`): not an error, and no traceback on exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug: say so in one line, the traceback with -v
        if level:
            print_traceback(exc)
        error(f"unexpected {type(exc).__name__}: {exc}",
              "Run again with -v for the traceback, and please report it.")
        return EXIT_SERVICE
