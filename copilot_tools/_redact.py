"""Keep bearer tokens and JWTs out of every text that leaves the package.

Two uses. Installed on the CLI's and the servers' log handlers (the clients never log a
token in the first place; this is the second line of defence for third-party loggers).
And applied to every error text a front end shows: the CLI's stderr line and ``-v``
traceback (:func:`format_exception`), the MCP tool error and the LangChain tool error
(``agent_text.error_text``), because an error message quotes a response, a response can
quote the request (some proxies echo the ``Authorization`` header), and an HTTP library's
exception can quote a header value it refused.
"""

from __future__ import annotations

import logging
import re

_FIELDS = (
    "access_token|refresh_token|id_token|client_secret|client_assertion|assertion|"
    "device_code|code_verifier|password|secret|user_assertion"
)

#: Headers whose whole value is a credential, as a proxy or a library may quote them:
#: ``Authorization: Basic …``, ``"authorization": "Bearer …"``, ``(b'authorization', b'…')``.
_HEADERS = (
    "authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|"
    "ocp-apim-subscription-key|x-ms-token[a-z-]*"
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(?i)(\b(?:" + _HEADERS + r")b?['\"]?(?:\s*[:=]\s*|['\"]?\s*,\s*b?)['\"]?)[^'\"\r\n,}\]]+"),
        r"\1[redacted]",
    ),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*"), "Bearer [redacted]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    (
        re.compile(r"(?i)(['\"]?\b(?:" + _FIELDS + r")['\"]?\s*[:=]\s*['\"]?)[^\s'\",&}]+"),
        r"\1[redacted]",
    ),
    (re.compile(r"(?i)((?:^|[?&#\s])code=)[^&\s]+"), r"\1[redacted]"),
    # Entra's opaque refresh tokens ("0.AXoA…", "1.AQ…"): long, dotted, no JWT header.
    (re.compile(r"\b[01]\.A[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]+)*[A-Za-z0-9_-]{20,}"), "[redacted-token]"),
)


def redact(text: str) -> str:
    """``text`` with every token-looking part replaced. Linear in ``len(text)``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def format_exception(exc: BaseException) -> str:
    """The traceback of ``exc`` (with its chain), redacted: what ``-v`` may print."""
    import traceback

    return redact("".join(traceback.format_exception(exc)))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message after formatting its arguments.

    A record's traceback and stack are formatted and redacted here too (exception
    messages quote responses, and responses quote tokens).
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - bad %-arguments: keep the record, scrub the template
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redaction(handler: logging.Handler) -> None:
    handler.addFilter(RedactingFilter())
