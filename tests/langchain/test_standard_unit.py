"""langchain-tests' standard unit suites for the chat model and the four tools.

Copilot calls no tools, so tool calling (and the structured output that rides on it)
is declared unsupported with the suite's own flag; everything else runs as written.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ChatModelUnitTests, ToolsUnitTests

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


class TestChatCopilotUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatCopilot]:
        return ChatCopilot

    @property
    def has_tool_calling(self) -> bool:
        # bind_tools is overridden only to explain that Copilot calls no tools.
        return False

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return {"COPILOT_TOOLS_ACCESS_TOKEN": "token-from-env"}, {}, {"access_token": "token-from-env"}


class TestAskToolUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return CopilotAskTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"question": MEETING}


class TestAskWithFilesToolUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return CopilotAskWithFilesTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"question": "Summarize this document for me.", "files": [BUSINESS_MODEL]}


class TestContinueConversationToolUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return CopilotContinueConversationTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"conversation_id": "0d110e7e-2b7e-4270-a899-fd2af6fde333", "message": "Who organises it?"}


class TestRetrieveToolUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return CopilotRetrieveTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "engineering standup", "data_sources": ["sharePoint", "oneDriveBusiness"], "max_results": 5}


class TestStatusToolUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return CopilotStatusTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {}
