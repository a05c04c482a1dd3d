"""Fixtures for the MCP server's tests: servers built against the emulator, in memory."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server import MCPServer

from copilot_tools import AsyncCopilotClient, Settings
from copilot_tools.mcp import build_server
from tests.replicas.processes import free_port, wait_for_port

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


def isolated_environment(home: Path) -> dict[str, str]:
    """An environment for a server subprocess living in ``home``: no user config, token cache or proxy settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("COPILOT_TOOLS_")}
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"), "PYTHONPATH": str(ROOT),
        "COPILOT_TOOLS_TIME_ZONE": TIME_ZONE, "NO_PROXY": "*",
    })
    return env


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return isolated_environment(home)


def server_command() -> list[str]:
    return [sys.executable, "-m", "copilot_tools", "mcp"]


@dataclass
class HttpServer:
    """``copilot-tools mcp --transport http`` running as a subprocess against the emulator."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> bytes:
        """Stop it; what it wrote on stdout (which must stay empty)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            out, _ = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return out or b""


@pytest.fixture
def http_server(emulator: Any, isolated_env: dict[str, str], tmp_path: Path) -> Iterator[HttpServer]:
    port = free_port()
    # The conformance suite sends hundreds of requests and opens a session per scenario (never
    # closing one) within seconds: over the default per-user limits of 240 requests a minute and
    # 20 open sessions (those are tested in tests/replicas/test_limits.py).
    env = {**isolated_env, "COPILOT_TOOLS_ENDPOINT": emulator.base_url, "COPILOT_TOOLS_ACCESS_TOKEN": "test",
           "COPILOT_TOOLS_REQUESTS_PER_MINUTE": "100000", "COPILOT_TOOLS_MAX_SESSIONS_PER_USER": "1000"}
    log = tmp_path / "server.log"
    with open(log, "w", encoding="utf-8") as errlog:
        process = subprocess.Popen([*server_command(), "--transport", "http", "--port", str(port)], env=env,
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=errlog)
    server = HttpServer(f"http://127.0.0.1:{port}/mcp", process)
    try:
        wait_for_port(port, process, log)
        yield server
    finally:
        server.stop()
