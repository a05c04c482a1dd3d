"""copilot-tools: Microsoft 365 Copilot for any agent, with structured citations.

The public surface is small on purpose: the two clients, ``Answer`` and its parts, the
stream events and the errors. Everything else is private and may change.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copilot_tools.answer import Answer, Citation, Entity, SensitivityLabel
    from copilot_tools.client import (
        AsyncCopilotClient,
        AsyncCopilotConversation,
        CopilotClient,
        CopilotConversation,
    )
    from copilot_tools.errors import (
        AuthenticationError,
        BadRequestError,
        ConversationNotFoundError,
        CopilotError,
        EmptyResponseError,
        InvalidInputError,
        LicenseRequiredError,
        PermissionDeniedError,
        ResponseDeclinedError,
        ServiceError,
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
            "AuthenticationError", "BadRequestError", "ConversationNotFoundError", "CopilotError",
            "EmptyResponseError", "InvalidInputError", "LicenseRequiredError", "PermissionDeniedError",
            "ResponseDeclinedError", "ServiceError", "StreamInterruptedError", "ThrottledError",
            "TransportError",
        ),
        "copilot_tools.errors",
    ),
    "Settings": "copilot_tools.settings",
    **dict.fromkeys(("AnswerComplete", "StreamEvent", "TextDelta", "TextReset"), "copilot_tools.streaming"),
}


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'copilot_tools' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "Answer",
    "AnswerComplete",
    "AsyncCopilotClient",
    "AsyncCopilotConversation",
    "AuthenticationError",
    "BadRequestError",
    "Citation",
    "ConversationNotFoundError",
    "CopilotClient",
    "CopilotConversation",
    "CopilotError",
    "EmptyResponseError",
    "Entity",
    "InvalidInputError",
    "LicenseRequiredError",
    "PermissionDeniedError",
    "ResponseDeclinedError",
    "SensitivityLabel",
    "ServiceError",
    "Settings",
    "StreamEvent",
    "StreamInterruptedError",
    "TextDelta",
    "TextReset",
    "ThrottledError",
    "TransportError",
    "__version__",
]
