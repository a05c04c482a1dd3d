"""The request cycle, without I/O: token refresh on 401, throttling, backoff.

``exchange()`` is a generator that yields what to do next (``Send`` a request or
``Sleep``) and is sent back what happened (``Received`` or ``Failed``). The sync
client drives it with ``time.sleep`` and ``httpx.Client``, the async one with
``anyio.sleep`` and ``httpx.AsyncClient``, so every decision about retries and
re-authentication exists exactly once.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from copilot_tools.errors import AuthenticationError, CopilotError, TransportError
from copilot_tools._protocol import HttpRequest, error_from_response
from copilot_tools._retry import Operation, RetryPolicy


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``request`` with a token obtained with these options."""

    request: HttpRequest
    attempt: int
    stream: bool
    claims: str | None = None
    force_refresh: bool = False


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float
    #: The error this wait retries (None after a network failure): raised if the wait is refused.
    cause: CopilotError | None = None


@dataclass(slots=True)
class Received:
    """A response: ``body`` is read unless this is a successful stream (then ``handle``)."""

    status: int
    headers: Mapping[str, str]
    body: bytes | None = None
    handle: Any = None

    @property
    def request_id(self) -> str | None:
        return self.headers.get("request-id")


@dataclass(frozen=True, slots=True)
class Failed:
    """The request did not complete over the network."""

    error: Exception
    request_sent: bool


Outcome = Received | Failed | None
Flow = Generator[Send | Sleep, Outcome, Received]


def request_was_sent(error: Exception) -> bool:
    """Whether the server may have seen the request: only connect-phase failures say no."""
    return not isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def exchange(
    request: HttpRequest,
    *,
    operation: Operation,
    policy: RetryPolicy,
    endpoint_name: str,
    stream: bool = False,
) -> Flow:
    """Drive one logical request to a 2xx ``Received`` or raise its typed error."""
    attempt = 0
    reauthenticated = False
    claims: str | None = None
    force_refresh = False
    while True:
        cause: CopilotError | None = None
        outcome = yield Send(request, attempt, stream, claims, force_refresh)
        if isinstance(outcome, Failed):
            delay = policy.delay_for_transport_error(operation, attempt, request_sent=outcome.request_sent)
            if delay is None:
                raise _transport_error(outcome, operation) from outcome.error
        else:
            assert isinstance(outcome, Received)
            if 200 <= outcome.status < 300:
                return outcome
            error = error_from_response(
                outcome.status, outcome.headers, outcome.body or b"",
                endpoint_name=endpoint_name, operation=operation,
            )
            if isinstance(error, AuthenticationError) and not reauthenticated:
                # A plain 401 refreshes once; a claims challenge re-acquires with its claims.
                reauthenticated = True
                claims, force_refresh = error.claims, error.claims is None
                continue
            retry_after = getattr(error, "retry_after", None)
            delay = policy.delay_for_status(operation, outcome.status, attempt, retry_after)
            if delay is None:
                raise error
            cause = error
        attempt += 1
        yield Sleep(delay, cause)


def _transport_error(outcome: Failed, operation: Operation) -> TransportError:
    name = type(outcome.error).__name__
    if outcome.request_sent and operation == "turn":
        return TransportError(
            f"The connection failed after the question was sent ({name}); Copilot may have processed it.",
            hint="It was not re-sent automatically: ask again if you need the answer.",
        )
    return TransportError(
        f"Could not reach the Copilot service ({name}).",
        hint="Check the network, a proxy, or the endpoint setting.",
    )
