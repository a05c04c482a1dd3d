"""The request cycle, without I/O: token refresh on 401, throttling, backoff.

``exchange()`` is a generator that yields what to do next (``Send`` a request or
``Sleep``) and is sent back what happened (``Received`` or ``Failed``). The sync
client drives it with ``time.sleep`` and ``httpx.Client``, the async one with
``anyio.sleep`` and ``httpx.AsyncClient``, so every decision about retries and
re-authentication exists exactly once. Tests drive it by hand, as h11's tests drive
its state machine (``tests/unit/test_exchange.py``). It reads no clock: the driver
holds the call's ``Deadline`` and refuses a ``Sleep`` that would outlast it.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from copilot_tools._protocol import Endpoint, HttpRequest, error_from_response, parse_retry_after
from copilot_tools._retry import Operation, RetryPolicy
from copilot_tools.errors import APIConnectionError, APITimeoutError, AuthenticationError, CopilotError


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``request`` with a token obtained with these options."""

    request: HttpRequest
    attempt: int
    stream: bool
    claims: str | None = None
    force_refresh: bool = False
    operation: Operation = "read"


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``seconds`` before attempt ``attempt``; ``cause`` is the error being retried
    (what the caller gets when the wait is refused, e.g. because it outlasts the deadline)."""

    seconds: float
    cause: CopilotError | None = None
    attempt: int = 1


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


@dataclass(frozen=True, slots=True)
class RunFlow:
    """Ask the driver to run ``flow`` (one ``$batch`` POST) and send back its ``Received``."""

    flow: Flow


_T = TypeVar("_T")
#: A whole call without I/O: the requests, waits and nested flows it takes, ending in its result
#: (an ``Answer``, a ``Conversation``, hits...). A flow ``yield from`` another runs it inline;
#: ``RunFlow`` asks the driver to run one (the ``$batch`` plan does, so tests can see each POST).
#: Both clients run a plan with ``_io.Steps``; only the sleeping and sending differ.
Plan = Generator[Send | Sleep | RunFlow, Any, _T]


def request_was_sent(error: Exception) -> bool:
    """Whether the server may have seen the request: only connect-phase failures say no."""
    return not isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def exchange(
    request: HttpRequest,
    *,
    operation: Operation,
    policy: RetryPolicy,
    endpoint: Endpoint,
    stream: bool = False,
) -> Flow:
    """Drive one logical request to a 2xx ``Received`` or raise its typed error."""
    attempt = 0
    reauthenticated = False
    claims: str | None = None
    force_refresh = False
    while True:
        outcome = yield Send(request, attempt, stream, claims, force_refresh, operation)
        reason: CopilotError
        if isinstance(outcome, Failed):
            reason = _transport_error(outcome, operation, request, endpoint)
            delay = policy.delay_for_transport_error(operation, attempt, request_sent=outcome.request_sent)
            if delay is None:
                raise reason from outcome.error
        else:
            assert isinstance(outcome, Received)
            if 200 <= outcome.status < 300:
                return outcome
            reason = error_from_response(
                outcome.status, outcome.headers, outcome.body or b"",
                endpoint_name=endpoint.name, operation=operation, loopback=endpoint.is_loopback,
            )
            if isinstance(reason, AuthenticationError) and not reauthenticated:
                # A plain 401 refreshes once; a claims challenge re-acquires with its claims.
                reauthenticated = True
                claims, force_refresh = reason.claims, reason.claims is None
                continue
            retry_after = parse_retry_after(outcome.headers.get("retry-after"))
            delay = policy.delay_for_status(operation, outcome.status, attempt, retry_after)
            if delay is None:
                raise reason
        attempt += 1
        yield Sleep(delay, reason, attempt)


def _transport_error(
    outcome: Failed, operation: Operation, request: HttpRequest, endpoint: Endpoint
) -> APIConnectionError:
    name = type(outcome.error).__name__
    kind = APITimeoutError if isinstance(outcome.error, httpx.TimeoutException) else APIConnectionError
    if outcome.request_sent and operation == "turn":
        return kind(
            f"The connection to {request.url} failed after the question was sent ({name}); "
            "Copilot may have processed it.",
            hint="It was not re-sent automatically: ask again if you need the answer.",
        )
    if endpoint.is_loopback:
        hint = ("Is the emulator running? Start it with `copilot-tools emulator`, "
                "or point COPILOT_TOOLS_ENDPOINT at the right address.")
    else:
        hint = "Check the network, a proxy, or the endpoint setting (COPILOT_TOOLS_ENDPOINT)."
    return kind(f"Could not reach the Copilot service at {request.url} ({name}).", hint=hint)
