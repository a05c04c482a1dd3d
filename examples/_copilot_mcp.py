"""The Copilot MCP server as a FastMCP client target, shared by the MCP examples.

``langchain_mcp_agent.py`` and ``pydantic_ai_agent.py`` reach the package's MCP server the
same two ways: in-process (the server object itself) or as a ``copilot-tools mcp``
subprocess over stdio, as a desktop client would start it.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def copilot_mcp_target(endpoint: str | None, *, stdio: bool, token: str | None = None) -> Any:
    """What ``fastmcp.Client`` (and the adapters built on it) connect to: the server, or its stdio transport.

    ``endpoint``/``token`` point the server at a Copilot (None: its configuration).
    """
    if stdio:
        from fastmcp.client.transports import StdioTransport

        env = dict(os.environ)
        if endpoint:
            env["COPILOT_TOOLS_ENDPOINT"] = endpoint
        if token:
            env["COPILOT_TOOLS_ACCESS_TOKEN"] = token
        return StdioTransport(command=sys.executable, args=["-m", "copilot_tools", "mcp"], env=env)
    from copilot_tools.mcp.server import build_server
    from copilot_tools.settings import Settings

    return build_server(Settings.load({"endpoint": endpoint, "access_token": token}))
