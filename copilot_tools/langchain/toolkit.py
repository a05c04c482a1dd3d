"""``CopilotToolkit``: every Copilot tool for an agent (the spec registry), sharing one set of clients."""

from __future__ import annotations

from langchain_core.tools import BaseTool, BaseToolkit
from pydantic import ConfigDict

from copilot_tools.agent import all_tools
from copilot_tools.agent.transcripts import MemoryTranscripts
from copilot_tools.langchain._clients import CopilotConnection
from copilot_tools.langchain.tools import NAMED_TOOLS, CopilotTool


class CopilotToolkit(CopilotConnection, BaseToolkit):
    """Every Copilot tool (``copilot_tools.agent.all_tools()``, the MCP server's tools), ready for an agent.

    Today: ask_copilot, ask_with_files, continue_conversation, retrieve, verify_answer (checks
    the citations of an answer these tools got) and whoami; a tool added to the registry appears
    here too.

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
        """The tools, in the registry's order (the MCP server lists them the same way)."""
        tools: list[BaseTool] = []
        transcripts = MemoryTranscripts()  # one per get_tools(): verify_answer finds what ask_copilot asked
        for spec in all_tools():
            if spec.name == "retrieve" and not self.include_retrieval:
                continue
            tool = NAMED_TOOLS.get(spec.name, CopilotTool)(spec=spec, **self.connection_arguments())
            tool._source = self._source  # one client pool for the whole toolkit
            tool._transcripts = transcripts
            tools.append(tool)
        return tools
