"""One error hierarchy for every front end.

Each error says what happened and what to do about it, carries Graph's ``request-id``
when the service gave one, and never carries a token. The MCP server, the LangChain
tools and the CLI each map these classes to their own way of reporting, so the classes
(not the messages) are the contract.
"""

from __future__ import annotations


class CopilotError(Exception):
    """Base class: ``message`` for people, ``hint`` for what to do, ``request_id`` for support."""

    #: A short stable name front ends use (exit codes, tool error kinds).
    kind: str = "error"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message
        self.hint = hint
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.hint:
            parts.append(self.hint)
        if self.request_id:
            parts.append(f"(request-id {self.request_id})")
        return " ".join(parts)


class InvalidInputError(CopilotError, ValueError):
    """Caught before any request: the argument named in ``argument`` is wrong."""

    kind = "invalid_input"

    def __init__(self, argument: str, message: str, *, hint: str | None = None) -> None:
        self.argument = argument
        super().__init__(f"Invalid {argument}: {message}", hint=hint)


class BadRequestError(CopilotError):
    """The service refused the request body (400)."""

    kind = "bad_request"


class AuthenticationError(CopilotError):
    """No token, or the service rejected it (401)."""

    kind = "not_signed_in"

    def __init__(self, message: str, *, claims: str | None = None, **kwargs: object) -> None:
        self.claims = claims
        kwargs.setdefault("hint", "Sign in again with `copilot-tools login`, or pass a fresh token.")
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class PermissionDeniedError(CopilotError):
    """A permission, admin consent or licence is missing (403, and the shapes that mean it)."""

    kind = "permission_denied"


class LicenseRequiredError(PermissionDeniedError):
    """The user lacks a Microsoft 365 Copilot (or Exchange/Teams) licence."""

    kind = "license_required"


class ConversationNotFoundError(CopilotError):
    """The conversation does not exist or has expired (404/410)."""

    kind = "conversation_not_found"


class ThrottledError(CopilotError):
    """The service asked us to slow down (429); ``retry_after`` is in seconds when it said."""

    kind = "throttled"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        if "hint" not in kwargs:
            kwargs["hint"] = (
                f"Retry after {retry_after:g} s." if retry_after is not None else "Retry in a little while."
            )
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class ServiceError(CopilotError):
    """The service failed (5xx) or answered with something that is not its API."""

    kind = "service_error"


class ResponseDeclinedError(CopilotError):
    """Copilot declined to answer for responsible-AI reasons (``state: disengagedForRai``)."""

    kind = "declined"


class EmptyResponseError(CopilotError):
    """The turn finished without any reply text."""

    kind = "empty_response"


class StreamInterruptedError(CopilotError):
    """The stream broke after it started. The turn may have been processed; it is not re-sent.

    ``partial_text`` is the reply as far as it arrived.
    """

    kind = "stream_interrupted"

    def __init__(self, message: str, *, partial_text: str = "", **kwargs: object) -> None:
        self.partial_text = partial_text
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class TransportError(CopilotError):
    """The request could not be completed over the network (connect, timeout, reset)."""

    kind = "network_error"


__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConversationNotFoundError",
    "CopilotError",
    "EmptyResponseError",
    "InvalidInputError",
    "LicenseRequiredError",
    "PermissionDeniedError",
    "ResponseDeclinedError",
    "ServiceError",
    "StreamInterruptedError",
    "ThrottledError",
    "TransportError",
]
