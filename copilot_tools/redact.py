"""Keep bearer tokens and JWTs out of every log line.

Installed on the CLI's and the servers' log handlers; the clients never log a token
in the first place, this is the second line of defence for third-party loggers.
"""

from __future__ import annotations

import logging
import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*"), "Bearer [redacted]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    (
        re.compile(r"(?i)(\"?(?:access_token|refresh_token|id_token|client_secret|assertion)\"?\s*[:=]\s*\"?)[^\s\",&]+"),
        r"\1[redacted]",
    ),
    (re.compile(r"(?i)([?&]code=)[^&\s]+"), r"\1[redacted]"),
)


def redact(text: str) -> str:
    """``text`` with every token-looking part replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message after formatting its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_redaction(handler: logging.Handler) -> None:
    handler.addFilter(RedactingFilter())
