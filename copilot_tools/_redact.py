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

import functools
import logging
import re
from collections.abc import Callable

_FIELDS = (
    "access_token|refresh_token|id_token|client_secret|client_assertion|assertion|"
    "device_code|code_verifier|password|secret|user_assertion"
)

#: Headers whose whole value is a credential, as a proxy or a library may quote them:
#: ``Authorization: Basic …``, ``"authorization": "Bearer …"``, ``(b'authorization', b'…')``.
#: The ``x-ms-token-…`` suffix is bounded (App Service's longest is 18 characters): unbounded, every
#: ``x-ms-token`` in a long run of letters and dashes rescanned the rest of it (quadratic).
_HEADERS = (
    "authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|"
    "ocp-apim-subscription-key|x-ms-token[a-z-]{0,64}+"
)

_Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]


@functools.cache
def _patterns() -> tuple[_Rule, ...]:
    """The patterns and their replacements, compiled at the first ``redact``: 0.9 ms that the import of
    the client would pay otherwise, and only an error text or a debug log line needs them."""
    return (
        (
            re.compile(r"(?i)(\b(?:" + _HEADERS + r")b?['\"]?(?:\s*[:=]\s*|['\"]?\s*,\s*b?)['\"]?)([^'\"\r\n,}\]]+)"),
            # A value already redacted is left alone (it reads "[redacted", the "]" ending the match):
            # messages are redacted where they are built and again where they are shown.
            lambda match: match.group() if match.group(2) == "[redacted" else match.group(1) + "[redacted]",
        ),
        (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*"), "Bearer [redacted]"),
        # A JWT is tried only from the first ``eyJ`` of a run of its characters (a later one in the
        # same run has a shorter first part and the same rest, so it cannot match where the first
        # did not): tried from each, ``eyJ-eyJ-…`` rescanned the rest of the run (quadratic).
        (
            re.compile(r"(?<![A-Za-z0-9_-])(?>([A-Za-z0-9_-]*?)\beyJ)"
                       r"[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]*+"),
            r"\1[redacted-jwt]",
        ),
        (
            re.compile(r"(?i)(['\"]?\b(?:" + _FIELDS + r")['\"]?\s*[:=]\s*['\"]?)[^\s'\",&}]+"),
            r"\1[redacted]",
        ),
        (re.compile(r"(?i)((?:^|[?&#\s])code=)[^&\s]+"), r"\1[redacted]"),
        # Entra's opaque refresh tokens ("0.AXoA…", "1.AQ…"): long, dotted, no JWT header.
        (re.compile(r"\b[01]\.A[A-Za-z0-9_-]{8,}+(?:\.[A-Za-z0-9_-]++)*+"), lambda match: _opaque_token(match.group())),
    )


def _opaque_token(run: str) -> str:
    """``run`` (``0.A…`` and its dotted parts) redacted up to the end of its last part of 20+ characters.

    What ``[01]\\.A[…]{8,}(?:\\.[…]+)*[…]{20,}`` would match, found without that pattern's
    backtracking: on a long run of short dotted parts it took time quadratic in the text.
    """
    parts = run.split(".")  # "0", "A" and the first part (8+ characters), then the dotted parts
    end = len(run)
    for index in range(len(parts) - 1, 0, -1):
        if len(parts[index]) >= (29 if index == 1 else 21):
            return "[redacted-token]" + run[end:]
        end -= len(parts[index]) + 1
    return run


def redact(text: str) -> str:
    """``text`` with every token-looking part replaced. Linear in ``len(text)``."""
    for pattern, replacement in _patterns():
        text = pattern.sub(replacement, text)
    return text


def redact_bytes(data: bytes) -> bytes:
    """``data`` redacted like ``redact``: what an error keeps of a response body.

    Read as UTF-8 with every undecodable byte kept as it was (``surrogateescape``), so a body
    in another encoding, or cut mid-character, comes back byte for byte outside what is redacted.
    """
    text = data.decode("utf-8", "surrogateescape")
    cleaned = redact(text)
    return data if cleaned == text else cleaned.encode("utf-8", "surrogateescape")


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
            # Handlers that render the exception themselves (rich's) would show it unredacted;
            # every formatter still appends the redacted ``exc_text``.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redaction(handler: logging.Handler) -> None:
    handler.addFilter(RedactingFilter())


def redact_handlers(logger: logging.Logger | None = None) -> None:
    """Install redaction on every handler of ``logger`` (default: the root logger, where the MCP
    SDK and uvicorn put theirs), so a traceback a library logs is redacted too. Idempotent."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            install_redaction(handler)
