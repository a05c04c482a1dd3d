"""copilot-tools: Microsoft 365 Copilot for any agent, with structured citations.

The public surface is small on purpose: the two clients, ``Answer`` and its parts, the
stream events and the errors. Everything else is private and may change.
"""

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
