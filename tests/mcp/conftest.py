"""Fixtures for the MCP server's tests: servers built against the emulator, in memory."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server import MCPServer

from copilot_tools import AsyncCopilotClient, Settings
from copilot_tools.mcp import build_server

ROOT = Path(__file__).resolve().parents[2]
TIME_ZONE = "America/New_York"
MEETING = "What meeting do I have at 9 AM tomorrow morning?"
BUSINESS_MODEL = "https://contoso.sharepoint.com/sites/Engineering/Shared%20Documents/Specs/Business-Model.docx"
_keys = itertools.count()

ServerFactory = Callable[..., MCPServer]


def fault_header(spec: str) -> dict[str, str]:
    """An emulator fault header unique to this use, so its ``count=`` applies here alone."""
    return {"x-emulator-fault": f"{spec};key=mcp{next(_keys)}"}


@pytest.fixture
def make_server(emulator: Any) -> ServerFactory:
    """``make_server(fault=None, **settings)``: the real server against the emulator."""

    def make(*, fault: str | None = None, headers: dict[str, str] | None = None, **settings: Any) -> MCPServer:
        values = {"endpoint": emulator.base_url, "access_token": "test", "time_zone": TIME_ZONE, **settings}
        extra = {**(headers or {}), **(fault_header(fault) if fault else {})}
        factory = (lambda s: AsyncCopilotClient(settings=s, headers=extra)) if extra else None
        return build_server(Settings(**values), client_factory=factory, progress_interval=0)

    return make


@asynccontextmanager
async def connect(server: MCPServer) -> AsyncIterator[Client]:
    async with Client(server) as connected:
        yield connected


@pytest.fixture
def isolated_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment for a server subprocess: no user config, token cache or proxy settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("COPILOT_TOOLS_")}
    home = tmp_path / "home"
    home.mkdir()
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"), "PYTHONPATH": str(ROOT),
        "COPILOT_TOOLS_TIME_ZONE": TIME_ZONE, "NO_PROXY": "*",
    })
    yield env


def server_command() -> list[str]:
    return [sys.executable, "-m", "copilot_tools", "mcp"]
