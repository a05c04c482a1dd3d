"""One error tree for every front end.

Each error says what happened (``message``) and what to do about it (``hint``), carries
Graph's ``request-id`` when the service gave one, and never carries a token. The MCP
server, the LangChain tools and the CLI map these classes (``isinstance``, or the stable
``kind`` string) to their own way of reporting, so the classes, not the messages, are
the contract::

    CopilotError                         message, hint, request_id, kind
    ├── InvalidInputError (ValueError)   argument, detail: caught before anything is sent
    │   └── AuthConfigError              the HTTP server's Entra configuration
    ├── APIStatusError                   status_code, code (the service's), request_id, body
    │   ├── BadRequestError              400, and other 4xx
    │   ├── AuthenticationError          401, or no token at all
    │   │   ├── SignInRequiredError      a device-code sign-in waits for the user
    │   │   ├── SignInFailedError        an interactive sign-in ended without a token
    │   │   └── ConsentRequiredError     (also a PermissionDeniedError) consent missing
    │   ├── PermissionDeniedError        403
    │   │   └── LicenseRequiredError     no Copilot (or Exchange/Teams) licence
    │   ├── ConversationNotFoundError    404/410 on a turn
    │   ├── ThrottledError               429; retry_after in seconds
    │   └── ServiceError                 5xx, or an answer that is not the API's
    ├── APIConnectionError               the request did not complete over the network
    │   └── APITimeoutError              a connect or silence timeout
    │       └── DeadlineExceededError    the call's total deadline passed (also a StreamInterruptedError)
    ├── StreamInterruptedError           a stream broke after it started; partial_text
    ├── ResponseDeclinedError            Copilot declined (responsible AI)
    └── EmptyResponseError               the turn finished without reply text

``TransportError`` is the old name of ``APIConnectionError`` (kept as an alias; it shared
its name with ``httpx.TransportError``). Errors are immutable once built: to add context,
build a new one with ``replace(...)``.
"""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime
from typing import Any, Self, TypedDict, Unpack

#: What every error holds; these may not change once the error is built.
_FIELDS = frozenset({
    "message", "hint", "request_id", "status_code", "code", "body", "argument", "detail", "claims",
    "retry_after", "partial_text", "deadline",
})


def _restore(cls: type[CopilotError], state: dict[str, Any]) -> CopilotError:
    error = cls.__new__(cls)
    for name, value in state.items():
        object.__setattr__(error, name, value)
    Exception.__init__(error, error._render())
    object.__setattr__(error, "_frozen", True)
    return error


class NoticeDetails(TypedDict, total=False):
    """What every error may say besides its message: what to do, and Graph's ``request-id``."""

    hint: str | None
    request_id: str | None


class ErrorDetails(NoticeDetails, total=False):
    """The keyword arguments every error takes besides its message (see ``CopilotError``)."""

    status_code: int | None
    code: str | None


class StatusDetails(ErrorDetails, total=False):
    """The keyword arguments of ``APIStatusError`` and its subclasses besides their message."""

    body: bytes | None


class CopilotError(Exception):
    """Base class: ``message`` for people, ``hint`` for what to do, ``request_id`` for support.

    ``status_code`` and ``code`` are None here and set on ``APIStatusError``; they exist on
    every error so that reading them never needs ``getattr``.
    """

    #: A short stable name front ends use (exit codes, tool error kinds).
    kind: str = "error"

    message: str
    hint: str | None
    request_id: str | None
    status_code: int | None
    code: str | None

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        request_id: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
    ) -> None:
        self._set(message=message, hint=hint, request_id=request_id, status_code=status_code, code=code)
        super().__init__(self._render())
        object.__setattr__(self, "_frozen", True)

    def _set(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FIELDS and getattr(self, "_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable; use replace({name}=...)")
        object.__setattr__(self, name, value)

    def _render(self) -> str:
        parts = [self.message]
        if self.hint:
            parts.append(self.hint)
        if self.request_id:
            parts.append(f"(request-id {self.request_id})")
        return " ".join(parts)

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (``message=``, ``hint=``, ``claims=``...)."""
        unknown = set(changes) - _FIELDS
        if unknown:
            raise TypeError(f"unknown error fields {sorted(unknown)}")
        clone = copy.copy(self)
        clone._set(**changes)
        clone.args = (clone._render(),)
        return clone

    def __reduce__(self) -> tuple[Any, ...]:
        state = {k: v for k, v in self.__dict__.items() if k != "_frozen"}
        return _restore, (type(self), state)


class InvalidInputError(CopilotError, ValueError):
    """Caught before any request: the argument (or setting) named ``argument`` is wrong."""

    kind = "invalid_input"

    argument: str
    detail: str

    def __init__(self, argument: str, detail: str, *, hint: str | None = None) -> None:
        self._set(argument=argument, detail=detail)
        super().__init__(f"Invalid {argument}: {detail}", hint=hint)


class AuthConfigError(InvalidInputError):
    """A configuration the HTTP server cannot start with (``mcp --auth entra``)."""

    def __init__(self, message: str, hint: str | None = None, *, argument: str = "HTTP authentication") -> None:
        self._set(argument=argument, detail=message)
        CopilotError.__init__(self, f"Cannot start with {argument}: {message}", hint=hint or None)


class APIStatusError(CopilotError):
    """The service answered with an error status: ``status_code``, its ``code``, ``body``.

    ``body`` is kept with credentials redacted, like the message: a proxy may echo the request's
    ``Authorization`` header in its error page, and errors end up in logs.
    """

    body: bytes | None

    def __init__(self, message: str, *, body: bytes | None = None, **details: Unpack[ErrorDetails]) -> None:
        if body:
            from copilot_tools._redact import redact_bytes

            body = redact_bytes(body)
        self._set(body=body)
        super().__init__(message, **details)


class BadRequestError(APIStatusError):
    """The service refused the request body (400, and other 4xx)."""

    kind = "bad_request"


#: What a user without a token can do; the emulator and the CLI refine it.
SIGN_IN_HINT = "Sign in with `copilot-tools login`, or set COPILOT_TOOLS_ACCESS_TOKEN to a valid access token."


class AuthenticationError(APIStatusError):
    """No token, or the service rejected it (401). ``claims``: a claims challenge to answer."""

    kind = "not_signed_in"

    claims: str | None

    def __init__(self, message: str, *, claims: str | None = None, **details: Unpack[StatusDetails]) -> None:
        self._set(claims=claims)
        details.setdefault("hint", SIGN_IN_HINT)
        super().__init__(message, **details)


class PermissionDeniedError(APIStatusError):
    """A permission, admin consent or licence is missing (403, and the shapes that mean it)."""

    kind = "permission_denied"


class LicenseRequiredError(PermissionDeniedError):
    """The user lacks a Microsoft 365 Copilot (or Exchange/Teams) licence."""

    kind = "license_required"


class ConversationNotFoundError(APIStatusError):
    """The conversation does not exist or has expired (404/410)."""

    kind = "conversation_not_found"


class ThrottledError(APIStatusError):
    """The service asked us to slow down (429); ``retry_after`` is in seconds when it said."""

    kind = "throttled"

    retry_after: float | None

    def __init__(self, message: str, *, retry_after: float | None = None, **details: Unpack[StatusDetails]) -> None:
        self._set(retry_after=retry_after)
        if details.get("hint") is None:
            if retry_after is not None:
                details["hint"] = f"Retry after {retry_after:g} s."
            else:
                details["hint"] = "Retry in a little while."
        super().__init__(message, **details)


class ServiceError(APIStatusError):
    """The service failed (5xx) or answered with something that is not its API."""

    kind = "service_error"


class SignInRequiredError(AuthenticationError):
    """Nobody is signed in yet; a device-code sign-in is waiting for the user.

    Raised at once by the background provider that MCP stdio servers use, while a flow
    keeps polling: the user opens ``verification_uri``, enters ``user_code``, and the
    next call succeeds. ``expires_at`` is a Unix time; ``flow_id`` is stable for one flow.
    """

    def __init__(
        self,
        *,
        verification_uri: str,
        user_code: str,
        expires_at: float,
        flow_id: str,
        claims: str | None = None,
        message: str | None = None,
        previous_error: str | None = None,
    ) -> None:
        self._set(verification_uri=verification_uri, user_code=user_code, expires_at=expires_at,
                  flow_id=flow_id, previous_error=previous_error)
        text = message or (
            f"Sign-in required: open {verification_uri} and enter the code {user_code} "
            f"to sign in to Microsoft 365 (the code expires in {self.expires_in_minutes} min)."
        )
        if previous_error:
            text = f"{previous_error} {text}"
        super().__init__(
            text,
            claims=claims,
            hint=(
                "Show this to the user: only their own sign-in makes the code useful. "
                "The request succeeds once they have signed in; or run `copilot-tools login` in a terminal."
            ),
        )

    verification_uri: str
    user_code: str
    expires_at: float
    flow_id: str
    previous_error: str | None

    @property
    def expires_in_minutes(self) -> int:
        return max(0, round((self.expires_at - time.time()) / 60))

    @property
    def expires_at_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, tz=UTC)

    def to_dict(self) -> dict[str, Any]:
        """Structured form for tool results (no secrets: the code needs the user's sign-in)."""
        return {
            "error": "sign_in_required",
            "message": self.message,
            "verification_uri": self.verification_uri,
            "user_code": self.user_code,
            "expires_at": self.expires_at_datetime.isoformat(),
            "flow_id": self.flow_id,
        }


class ConsentRequiredError(AuthenticationError, PermissionDeniedError):
    """The app lacks (admin) consent for the permissions (AADSTS65001 and kin).

    An ``AuthenticationError`` for the clients, a permission problem for people: its
    ``kind`` makes the CLI exit with the permission code.
    """

    kind = "permission_denied"


class SignInFailedError(AuthenticationError):
    """An interactive sign-in ended without a token (declined, expired, blocked)."""


class APIConnectionError(CopilotError):
    """The request could not be completed over the network (connect, reset, proxy)."""

    kind = "network_error"


#: The old name (it shared its name with ``httpx.TransportError``).
TransportError = APIConnectionError


class APITimeoutError(APIConnectionError):
    """A connect timeout, or the service fell silent for longer than ``timeout``."""


class StreamInterruptedError(CopilotError):
    """The stream broke after it started. The turn may have been processed; it is not re-sent.

    ``partial_text`` is the reply as far as it arrived.
    """

    kind = "stream_interrupted"

    partial_text: str

    def __init__(self, message: str, *, partial_text: str = "", **details: Unpack[NoticeDetails]) -> None:
        self._set(partial_text=partial_text)
        super().__init__(message, **details)


class DeadlineExceededError(APITimeoutError, StreamInterruptedError):
    """The call's total ``deadline`` passed (retries, back-offs and streaming included).

    Also a ``StreamInterruptedError``: ``partial_text`` is the reply as far as it had
    arrived when a stream was cut (empty when none had started).
    """

    kind = "deadline_exceeded"

    deadline: float

    def __init__(
        self, message: str, *, deadline: float, partial_text: str = "", **details: Unpack[NoticeDetails]
    ) -> None:
        self._set(deadline=deadline)
        if details.get("hint") is None:
            details["hint"] = ("Raise the deadline (deadline=, COPILOT_TOOLS_DEADLINE, in seconds) for long "
                               "questions, or ask something narrower.")
        super().__init__(message, partial_text=partial_text, **details)


class ResponseDeclinedError(CopilotError):
    """Copilot declined to answer for responsible-AI reasons (``state: disengagedForRai``)."""

    kind = "declined"


class EmptyResponseError(CopilotError):
    """The turn finished without any reply text."""

    kind = "empty_response"


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthConfigError",
    "AuthenticationError",
    "BadRequestError",
    "ConsentRequiredError",
    "ConversationNotFoundError",
    "CopilotError",
    "DeadlineExceededError",
    "EmptyResponseError",
    "InvalidInputError",
    "LicenseRequiredError",
    "PermissionDeniedError",
    "ResponseDeclinedError",
    "ServiceError",
    "SignInFailedError",
    "SignInRequiredError",
    "StreamInterruptedError",
    "ThrottledError",
    "TransportError",
]
