"""copilot-tools: Microsoft 365 Copilot for any agent, with structured citations.

The public surface is small on purpose: the two clients, ``Answer`` and its parts, the
stream events and the errors. Everything else is private and may change.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copilot_tools._retrieval import RetrievalHit
    from copilot_tools._stream import AsyncStream, Stream
    from copilot_tools.answer import Answer, Citation, Entity, SensitivityLabel
    from copilot_tools.client import (
        AsyncCopilotClient,
        AsyncCopilotConversation,
        CopilotClient,
        CopilotConversation,
    )
    from copilot_tools.errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AuthConfigError,
        AuthenticationError,
        BadRequestError,
        ConsentRequiredError,
        ConversationNotFoundError,
        CopilotError,
        DeadlineExceededError,
        EmptyResponseError,
        InvalidInputError,
        LicenseRequiredError,
        PermissionDeniedError,
        ResponseDeclinedError,
        ServiceError,
        SignInFailedError,
        SignInRequiredError,
        StreamInterruptedError,
        ThrottledError,
        TransportError,
    )
    from copilot_tools.settings import Settings
    from copilot_tools.streaming import AnswerComplete, StreamEvent, TextDelta, TextReset

# Public name -> the module that defines it. Imported on first use, so that commands
# that need none of it (``copilot-tools --help``) do not pay for pydantic and httpx.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("Answer", "Citation", "Entity", "SensitivityLabel"), "copilot_tools.answer"),
    **dict.fromkeys(
        ("AsyncCopilotClient", "AsyncCopilotConversation", "CopilotClient", "CopilotConversation"),
        "copilot_tools.client",
    ),
    **dict.fromkeys(
        (
            "APIConnectionError", "APIStatusError", "APITimeoutError", "AuthConfigError",
            "AuthenticationError", "BadRequestError", "ConsentRequiredError", "ConversationNotFoundError",
            "CopilotError", "DeadlineExceededError", "EmptyResponseError", "InvalidInputError",
            "LicenseRequiredError", "PermissionDeniedError", "ResponseDeclinedError", "ServiceError",
            "SignInFailedError", "SignInRequiredError", "StreamInterruptedError", "ThrottledError",
            "TransportError",
        ),
        "copilot_tools.errors",
    ),
    **dict.fromkeys(("AsyncStream", "Stream"), "copilot_tools._stream"),
    "RetrievalHit": "copilot_tools._retrieval",
    "Settings": "copilot_tools.settings",
    **dict.fromkeys(("AnswerComplete", "StreamEvent", "TextDelta", "TextReset"), "copilot_tools.streaming"),
}


def __getattr__(name: str) -> Any:
    from copilot_tools._exports import import_export

    return import_export(__name__, _EXPORTS, globals(), name)


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Answer",
    "AnswerComplete",
    "AsyncCopilotClient",
    "AsyncCopilotConversation",
    "AsyncStream",
    "AuthConfigError",
    "AuthenticationError",
    "BadRequestError",
    "Citation",
    "ConsentRequiredError",
    "ConversationNotFoundError",
    "CopilotClient",
    "CopilotConversation",
    "CopilotError",
    "DeadlineExceededError",
    "EmptyResponseError",
    "Entity",
    "InvalidInputError",
    "LicenseRequiredError",
    "PermissionDeniedError",
    "ResponseDeclinedError",
    "RetrievalHit",
    "SensitivityLabel",
    "ServiceError",
    "Settings",
    "SignInFailedError",
    "SignInRequiredError",
    "Stream",
    "StreamEvent",
    "StreamInterruptedError",
    "TextDelta",
    "TextReset",
    "ThrottledError",
    "TransportError",
    "__version__",
]
