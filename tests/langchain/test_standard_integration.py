"""langchain-tests' standard integration suites, against the emulator over loopback.

Flags set, and why (the suites' own capability flags; nothing is skipped or xfailed by hand):
- has_tool_calling = False: Copilot calls no tools (bind_tools only explains that), which
  also turns off structured output, the tool-message histories and the agent loop.
- returns_usage_metadata = False: Copilot reports no token counts, and none is invented.
- supports_model_override = False: Copilot has no model choice to override.
The multimodal flags keep their default (False): Copilot takes text, and files as links.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import (
    ChatModelIntegrationTests,
    RetrieversIntegrationTests,
    ToolsIntegrationTests,
)

from copilot_tools.langchain import CopilotRetriever
from tests.langchain.standard_cases import (
    MEETING,
    AskToolCase,
    AskWithFilesToolCase,
    ChatCopilotCase,
    ContinueConversationToolCase,
    RetrieveToolCase,
    StatusToolCase,
)


class _OnTheEmulator:
    """Hands the emulator's clients to the objects the suites build."""

    clients: dict[str, Any]

    @pytest.fixture(autouse=True)
    def _emulator_clients(self, copilot_client, async_copilot_client) -> None:
        self.clients = {"client": copilot_client, "async_client": async_copilot_client}


class TestChatCopilotIntegration(ChatCopilotCase, _OnTheEmulator, ChatModelIntegrationTests):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return dict(self.clients)

    @property
    def returns_usage_metadata(self) -> bool:
        return False

    @property
    def supports_model_override(self) -> bool:
        return False


class _ToolOnTheEmulator(_OnTheEmulator):
    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return dict(self.clients)


class TestAskToolIntegration(AskToolCase, _ToolOnTheEmulator, ToolsIntegrationTests):
    pass


class TestAskWithFilesToolIntegration(AskWithFilesToolCase, _ToolOnTheEmulator, ToolsIntegrationTests):
    pass


class TestContinueConversationToolIntegration(ContinueConversationToolCase, _ToolOnTheEmulator, ToolsIntegrationTests):
    conversation_id: str

    @pytest.fixture(autouse=True)
    def _conversation(self, copilot_client) -> None:
        self.conversation_id = copilot_client.ask(MEETING).conversation_id

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "message": "Who organises it?"}


class TestRetrieveToolIntegration(RetrieveToolCase, _ToolOnTheEmulator, ToolsIntegrationTests):
    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "engineering standup", "data_sources": ["sharePoint", "oneDriveBusiness"]}


class TestStatusToolIntegration(StatusToolCase, _ToolOnTheEmulator, ToolsIntegrationTests):
    pass


class TestCopilotRetrieverIntegration(_OnTheEmulator, RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return CopilotRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return dict(self.clients)

    @property
    def retriever_query_example(self) -> str:
        return "engineering standup"
