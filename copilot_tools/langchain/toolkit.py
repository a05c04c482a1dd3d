"""``CopilotToolkit``: every Copilot tool for an agent, sharing one set of clients."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, BaseToolkit
from pydantic import ConfigDict

from copilot_tools.langchain._clients import CopilotConnection
from copilot_tools.langchain.tools import (
    CopilotAskTool,
    CopilotAskWithFilesTool,
    CopilotContinueConversationTool,
    CopilotRetrieveTool,
)


class CopilotToolkit(CopilotConnection, BaseToolkit):
    """ask_copilot, ask_with_files, continue_conversation and retrieve, ready for an agent.

    >>> from langchain.agents import create_agent
    >>> toolkit = CopilotToolkit(api_key=token)           # or base_url=..., client=..., settings=...
    >>> agent = create_agent(model, toolkit.get_tools())

    The toolkit takes the connection arguments every class here takes
    (``CopilotConnection``) and refuses unknown ones. The tools share the toolkit's
    clients: the ones passed in (never closed here), or ones built on first use and
    closed by ``close()``. Set ``include_retrieval=False`` to leave out ``retrieve``
    (the Retrieval API needs Microsoft Graph; it is not on the Work IQ endpoint).
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid", arbitrary_types_allowed=True)

    include_retrieval: bool = True

    def get_tools(self) -> list[BaseTool]:
        """The tools, in the order an agent usually needs them."""
        classes: list[type[Any]] = [CopilotAskTool, CopilotAskWithFilesTool, CopilotContinueConversationTool]
        if self.include_retrieval:
            classes.append(CopilotRetrieveTool)
        tools = []
        for cls in classes:
            tool = cls(**self.connection_arguments())
            tool._source = self._source  # one client pool for the whole toolkit
            tools.append(tool)
        return tools
