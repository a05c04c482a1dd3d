"""What the two client loops share that touches the outside world.

``_base`` and ``_exchange`` decide; this module holds the few helpers that read
``httpx`` objects, the clock and the machine's time zone, so the sans-IO layer really
is free of I/O. Both ``CopilotClient`` and ``AsyncCopilotClient`` use every function
here; the only code they do not share is how they wait and move bytes.
"""

from __future__ import annotations

import logging
import time

import httpx

from copilot_tools import _protocol as protocol
from copilot_tools._exchange import Failed, Outcome, Received, Send, Sleep, request_was_sent
from copilot_tools._redact import redact
from copilot_tools._retry import Deadline
from copilot_tools.errors import ServiceError
from copilot_tools.settings import Settings

logger = logging.getLogger("copilot_tools.client")

#: A timeout that fires this close to the deadline is the deadline's doing (timers are coarse).
DEADLINE_SLACK = 0.05
#: Connecting and writing take seconds, never minutes.
CONNECT_TIMEOUT = 10.0
WRITE_TIMEOUT = 30.0


def user_agent() -> str:
    from copilot_tools import __version__

    return f"copilot-tools/{__version__} (python-httpx/{httpx.__version__})"


def local_time_zone() -> str:
    """The machine's own IANA zone name; UTC only when the machine has none configured."""
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception:  # noqa: BLE001 - tzlocal raises several kinds on odd systems
        name = None
    if name:
        try:
            return protocol.validate_time_zone(name)
        except ValueError:
            pass
    logger.info("no IANA time zone configured on this machine; using UTC")
    return "UTC"


def http_timeout(settings: Settings) -> httpx.Timeout:
    """The connection pool's default timeouts: ``settings.timeout`` bounds each silence.

    Each attempt overrides them with ``attempt_timeout`` so that no wait outlasts the
    call's deadline.
    """
    return httpx.Timeout(connect=CONNECT_TIMEOUT, read=settings.timeout, write=WRITE_TIMEOUT, pool=CONNECT_TIMEOUT)


def attempt_timeout(settings: Settings, send: Send, remaining: float) -> httpx.Timeout:
    """The timeouts of one attempt with ``remaining`` seconds left before the deadline.

    Where bytes flow (a stream, a retrieval) the read timeout is the silence bound
    ``timeout``. A synchronous turn (``/chat``) sends nothing until Copilot is done, so
    its read may last until the deadline (the service was seen taking 234 s).
    """
    remaining = max(remaining, 0.001)
    silent_until_done = send.operation == "turn" and not send.stream
    read = remaining if silent_until_done else min(settings.timeout, remaining)
    return httpx.Timeout(
        connect=min(CONNECT_TIMEOUT, remaining), read=read,
        write=min(WRITE_TIMEOUT, remaining), pool=min(CONNECT_TIMEOUT, remaining),
    )


def failed(error: Exception) -> Failed:
    return Failed(error, request_sent=request_was_sent(error))


def within_deadline(outcome: Outcome, send: Send, deadline: Deadline) -> Outcome:
    """``outcome``, unless it is a failure the deadline caused: then the deadline's error."""
    if isinstance(outcome, Failed) and deadline.expired(slack=DEADLINE_SLACK):
        raise deadline.exceeded(sent=outcome.request_sent and send.operation == "turn") from outcome.error
    return outcome


def head(response: httpx.Response) -> Received:
    """A successful stream's status and headers; the body stays with the response."""
    return Received(response.status_code, response.headers, None, handle=response)


def complete(response: httpx.Response, body: bytes) -> Received:
    return Received(response.status_code, response.headers, body)


def wants_body(send: Send, response: httpx.Response) -> bool:
    """Everything but a successful stream is read whole before ``exchange()`` sees it."""
    return not (send.stream and 200 <= response.status_code < 300)


def decoding_error(error: httpx.DecodingError, response: httpx.Response) -> ServiceError:
    encoding = response.headers.get("content-encoding", "")
    return ServiceError(
        f"The service's answer could not be decoded ({type(error).__name__}"
        f"{': it declares ' + encoding[:40] + ' but is not' if encoding else ''}).",
        hint="This is usually a proxy rewriting the answer; try again, or bypass the proxy.",
        request_id=response.headers.get("request-id"),
    )


def log_response(send: Send, response: httpx.Response, started: float) -> None:
    """One line per attempt: method, path, status, time, request-id (``-v``); the full URL
    and the attempt number at debug level (``-vv``)."""
    elapsed = (time.perf_counter() - started) * 1000
    request_id = response.headers.get("request-id", "-")
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s %s -> %s in %.0f ms (request-id %s, attempt %d)", send.request.method,
                     redact(str(response.request.url)), response.status_code, elapsed, request_id, send.attempt)
    else:
        logger.info("%s %s -> %s in %.0f ms (request-id %s)", send.request.method, response.request.url.path,
                    response.status_code, elapsed, request_id)


def log_failure(send: Send, error: Exception, started: float) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s %s -> %s after %.0f ms (attempt %d)", send.request.method, redact(send.request.url),
            type(error).__name__, (time.perf_counter() - started) * 1000, send.attempt,
        )


def log_retry(sleep: Sleep) -> None:
    """The retry decision: why, and how long the client waits before the next attempt."""
    if logger.isEnabledFor(logging.DEBUG):
        reason = redact(sleep.cause.message) if sleep.cause is not None else "a failed batch item"
        logger.debug("retrying (attempt %d) in %.2f s after: %s", sleep.attempt, sleep.seconds, reason)
