"""``CopilotToolkit``: every Copilot tool for an agent, sharing one set of clients."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, BaseToolkit
from pydantic import ConfigDict, Field, PrivateAttr

from copilot_tools.client import AsyncCopilotClient, CopilotClient
from copilot_tools.langchain._clients import ClientSource
from copilot_tools.langchain.tools import (
    CopilotAskTool,
    CopilotAskWithFilesTool,
    CopilotContinueConversationTool,
    CopilotRetrieveTool,
)
from copilot_tools.settings import Settings


class CopilotToolkit(BaseToolkit):
    """ask_copilot, ask_with_files, continue_conversation and retrieve, ready for an agent.

    >>> from langchain.agents import create_agent
    >>> toolkit = CopilotToolkit()                        # or client=..., or settings=...
    >>> agent = create_agent(model, toolkit.get_tools())

    The tools share the toolkit's clients: the ones passed in (never closed here), or
    ones built from settings on first use and closed by ``close()``. Set
    ``include_retrieval=False`` to leave out ``retrieve`` (the Retrieval API needs
    Microsoft Graph; it is not on the Work IQ endpoint).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: CopilotClient | None = Field(default=None, exclude=True)
    async_client: AsyncCopilotClient | None = Field(default=None, exclude=True)
    settings: Settings | None = Field(default=None, exclude=True)
    include_retrieval: bool = True

    _source: ClientSource = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._source = ClientSource(client=self.client, async_client=self.async_client,
                                    settings=self.settings, owner="CopilotToolkit")

    def get_tools(self) -> list[BaseTool]:
        """The tools, in the order an agent usually needs them."""
        classes: list[type[Any]] = [CopilotAskTool, CopilotAskWithFilesTool, CopilotContinueConversationTool]
        if self.include_retrieval:
            classes.append(CopilotRetrieveTool)
        tools = []
        for cls in classes:
            tool = cls(client=self.client, async_client=self.async_client, settings=self.settings)
            tool._source = self._source  # one client pool for the whole toolkit
            tools.append(tool)
        return tools

    def close(self) -> None:
        """Close the sync client built for the tools (clients passed in stay open)."""
        self._source.close()

    async def aclose(self) -> None:
        """Close the clients built for the tools in the running event loop."""
        await self._source.aclose()
