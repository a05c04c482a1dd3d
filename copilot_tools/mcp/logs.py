"""The server's log on stderr: one line per record, whatever the record holds.

Over stdio, stderr is where hosts collect a server's log (Claude Desktop writes it to a
file, VS Code to an output pane): each record must be one line there, so a multi-line
message or a traceback is folded onto its line (line breaks written as ``⏎``). Python
warnings (urllib3's, say) go through the same log instead of printing their own
blocks. Only on an interactive terminal does the SDK's Rich handler draw its columns.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class OneLineFormatter(logging.Formatter):
    """A record, its exception and its stack, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        return " ⏎ ".join(line for line in super().format(record).splitlines() if line.strip())


def configure_logging(level: LogLevel = "WARNING") -> None:
    """Send the log to stderr at ``level``, one line per record, unless logging is already set up.

    Called before the SDK's ``MCPServer`` is built, so its own ``basicConfig`` (a Rich
    handler that wraps lines to the terminal's width) finds the root logger taken. An
    application or a test runner that configured logging first keeps its own set-up.
    """
    root = logging.getLogger()
    if root.handlers:
        return
    handler: logging.Handler
    if sys.stderr.isatty():
        try:
            from rich.console import Console
            from rich.logging import RichHandler

            handler = RichHandler(console=Console(stderr=True), show_path=False)
        except ImportError:  # pragma: no cover - rich comes with the SDK
            handler = _one_line_handler()
    else:
        handler = _one_line_handler()
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)


def _one_line_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(FORMAT))
    return handler
