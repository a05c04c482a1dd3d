"""The MCP server: Microsoft 365 Copilot as tools for Claude Desktop, VS Code and any MCP host.

``build_server(settings)`` returns the ``MCPServer``; ``copilot-tools mcp`` serves it over
stdio or streamable HTTP. The SDK is imported on first use of ``build_server``, so the
``copilot-tools mcp install`` command (which only writes a config file) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copilot_tools.mcp.server import build_server

__all__ = ["build_server"]


def __getattr__(name: str) -> Any:
    if name == "build_server":
        from copilot_tools.mcp.server import build_server

        return build_server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
