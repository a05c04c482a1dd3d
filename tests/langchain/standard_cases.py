"""What the standard suites (unit, and integration on the emulator) build and call, said once.

Each case is a mixin for a langchain-tests suite class: the class under test, and the example
its invocation tests use where both suites use the same one.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool

from copilot_tools.langchain import (
    ChatCopilot,
    CopilotAskTool,
    CopilotAskWithFilesTool,
    CopilotContinueConversationTool,
    CopilotRetrieveTool,
    CopilotStatusTool,
)

MEETING = "What meeting do I have at 9 AM tomorrow morning?"
BUSINESS_MODEL = "https://contoso.sharepoint.com/sites/Engineering/Shared%20Documents/Specs/Business-Model.docx"


class ChatCopilotCase:
    @property
    def chat_model_class(self) -> type[ChatCopilot]:
        return ChatCopilot

    @property
    def has_tool_calling(self) -> bool:
        # bind_tools is overridden only to explain that Copilot calls no tools.
        return False


class AskToolCase:
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return CopilotAskTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"question": MEETING}


class AskWithFilesToolCase:
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return CopilotAskWithFilesTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"question": "Summarize this document for me.", "files": [BUSINESS_MODEL]}


class ContinueConversationToolCase:
    """The conversation to continue differs: a made-up id in the unit suite, a real one on the emulator."""

    @property
    def tool_constructor(self) -> type[BaseTool]:
        return CopilotContinueConversationTool


class RetrieveToolCase:
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return CopilotRetrieveTool


class StatusToolCase:
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return CopilotStatusTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {}
