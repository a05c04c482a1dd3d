"""``copilot-tools emulator``: serve the Copilot API emulator until Ctrl-C.

It listens on loopback unless told otherwise, and refuses another interface without
``--token``: the emulator accepts any token by default, so on a shared network anyone
could read the folder it serves.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from pathlib import Path

from copilot_tools._net import is_loopback_host

EPILOG = """examples:
  copilot-tools emulator                                  the sample tenant Contoso on 127.0.0.1:8000
  copilot-tools emulator --corpus ~/notes --port 9000     your own markdown/text files
  copilot-tools emulator --fault 'throttle;count=1'       throttle the first request
  copilot-tools emulator --layout strict --words-per-event 3 --event-delay 0.1
then, in another shell:
  COPILOT_TOOLS_ENDPOINT=http://127.0.0.1:8000/beta copilot-tools ask "What meeting do I have at 9 AM tomorrow?"

fault language (--fault or the x-emulator-fault request header): NAME[;key=value]... with
NAME one of throttle, unavailable, gateway-timeout, server-error, ic3-500, forbidden,
license-403, claims, gone, latency (ms=), cut (after=), malformed (after=), rewrite, rai,
empty, no-final, unsupported-citation; every fault takes count=N (first N requests only), key=ANY, and in=batch
(aim it at the sub-requests of a $batch).
"""


def port_number(value: str) -> int:
    """``--port``: a TCP port, 0 to 65535 (0 picks a free one); anything else is a usage error."""
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port: use a whole number from 0 to 65535 "
                                         "(0 picks a free one)")
    return port


def _listen_failure(host: str, port: int, exc: OSError) -> tuple[str, str]:
    """(message, hint) for a socket that could not listen, worded for what actually failed."""
    if isinstance(exc, socket.gaierror):
        return (f"cannot resolve --host {host} ({exc.strerror or exc})",
                "Use an address of this machine such as 127.0.0.1 or ::1, or a host name it can resolve.")
    where = f"cannot listen on {f'[{host}]' if ':' in host else host}:{port} ({exc.strerror or exc})"
    if exc.errno == errno.EADDRINUSE:
        return where, "Another program is using this port. Pick another --port, or 0 for any free one."
    if exc.errno == errno.EACCES:
        return where, "Ports below 1024 need privileges. Pick another --port, or 0 for any free one."
    if exc.errno == errno.EADDRNOTAVAIL:
        return where, f"{host} is not an address of this machine: use --host 127.0.0.1, or one of its own addresses."
    return where, "Check --host and --port (0 picks any free port)."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--corpus", metavar="DIR", help="folder of .md/.txt documents to serve "
                        "(default: the bundled sample tenant Contoso)")
    parser.add_argument("--token", help="accept only this bearer token (default: any non-empty token)")
    parser.add_argument("--layout", choices=("captured", "strict", "pretty", "compact"), default="captured",
                        help="stream layout: as the service was captured sending it (default; a strict SSE "
                        "parser misses its last event), spec-conforming SSE (strict; compact is its old "
                        "name), or the reference's multi-line rendering (pretty); see docs/emulator.md")
    parser.add_argument("--words-per-event", type=int, default=8, metavar="N", help="stream growth per event")
    parser.add_argument("--event-delay", type=float, default=0.02, metavar="SECONDS", help="pause between events")
    parser.add_argument("--latency-ms", type=int, default=0, metavar="MS", help="delay before every answer")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="inject a fault into every request, e.g. 'throttle;retry-after=2' (repeatable)")
    parser.add_argument("--seed", type=int, help="make generated ids reproducible")


def run(args: argparse.Namespace) -> int:
    from copilot_tools.cli.common import EXIT_USAGE, error

    if not is_loopback_host(args.host) and not args.token:
        error(f"refusing to listen on {args.host} without --token: the emulator accepts any token by "
              "default, so anyone who can reach it could read the documents it serves",
              "Add --token SECRET (clients then send it as their bearer token), or keep --host 127.0.0.1.")
        return EXIT_USAGE
    corpus = Path(args.corpus).expanduser() if args.corpus else None
    if corpus is not None and not corpus.is_dir():
        error(f"--corpus {args.corpus}: no such folder")
        return EXIT_USAGE

    from copilot_tools.emulator.config import EmulatorConfig
    from copilot_tools.emulator.corpus import CorpusError, load_corpus
    from copilot_tools.emulator.server import bind, quiet_deliberate_cuts, url_host, uvicorn_config

    try:
        config = EmulatorConfig(corpus=corpus, token=args.token, layout=args.layout,
                                words_per_event=args.words_per_event, event_delay=args.event_delay,
                                latency_ms=args.latency_ms, faults=tuple(args.fault), seed=args.seed)
        loaded = load_corpus(corpus)
    except CorpusError as exc:
        error(f"--corpus: {exc}")
        return EXIT_USAGE
    except ValueError as exc:
        error(str(exc))
        return EXIT_USAGE
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        error(*_listen_failure(args.host, args.port, exc))
        return EXIT_USAGE
    import uvicorn

    base = f"http://{url_host(args.host)}:{sock.getsockname()[1]}/beta"
    what = "the sample tenant Contoso" if corpus is None else str(corpus)
    count = len(loaded.documents)
    print(f"copilot-tools emulator: serving {what} ({count} document{'' if count == 1 else 's'}) on {base}; "
          f"point the client at it with COPILOT_TOOLS_ENDPOINT={base}  (Ctrl-C stops)", file=sys.stderr)
    quiet_deliberate_cuts()
    try:
        # uvicorn shuts down gracefully on Ctrl-C, then re-raises the signal: that is the
        # normal way to stop this command, not an interruption.
        uvicorn.Server(uvicorn_config(config)).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("copilot-tools emulator: stopped", file=sys.stderr)
    return 0
