"""Token sources for the clients, the MCP server and LangChain."""

from copilot_tools.auth.base import AsyncTokenProvider, StaticTokenProvider, TokenProvider

__all__ = ["AsyncTokenProvider", "StaticTokenProvider", "TokenProvider"]
