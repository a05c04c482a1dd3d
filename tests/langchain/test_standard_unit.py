"""langchain-tests' standard unit suites for the chat model and the four tools.

Copilot calls no tools, so tool calling (and the structured output that rides on it)
is declared unsupported with the suite's own flag; everything else runs as written.
"""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests, ToolsUnitTests

from tests.langchain.standard_cases import (
    AskToolCase,
    AskWithFilesToolCase,
    ChatCopilotCase,
    ContinueConversationToolCase,
    RetrieveToolCase,
    StatusToolCase,
)


class TestChatCopilotUnit(ChatCopilotCase, ChatModelUnitTests):
    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return {"COPILOT_TOOLS_ACCESS_TOKEN": "token-from-env"}, {}, {"access_token": "token-from-env"}


class TestAskToolUnit(AskToolCase, ToolsUnitTests):
    pass


class TestAskWithFilesToolUnit(AskWithFilesToolCase, ToolsUnitTests):
    pass


class TestContinueConversationToolUnit(ContinueConversationToolCase, ToolsUnitTests):
    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"conversation_id": "0d110e7e-2b7e-4270-a899-fd2af6fde333", "message": "Who organises it?"}


class TestRetrieveToolUnit(RetrieveToolCase, ToolsUnitTests):
    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "engineering standup", "data_sources": ["sharePoint", "oneDriveBusiness"], "max_results": 5}


class TestStatusToolUnit(StatusToolCase, ToolsUnitTests):
    pass
