"""Fixtures for the MCP server's tests: servers built against the emulator, in memory."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 30) -> None:
    """Block until the server ``process`` accepts connections on ``port`` (its ``log`` if it died first)."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, log.read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            assert time.monotonic() < deadline, f"the server did not listen on {port} within {timeout} s"
            time.sleep(0.05)


@dataclass
class HttpServer:
    """``copilot-tools mcp --transport http`` running as a subprocess against the emulator."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> bytes:
        """Stop it; what it wrote on stdout (which must stay empty)."""
        if self.process.poll() is None:
            self.process.terminate()
        out, _ = self.process.communicate(timeout=10)
        return out or b""


@pytest.fixture
def http_server(emulator: Any, isolated_env: dict[str, str], tmp_path: Path) -> Iterator[HttpServer]:
    port = free_port()
    env = {**isolated_env, "COPILOT_TOOLS_ENDPOINT": emulator.base_url, "COPILOT_TOOLS_ACCESS_TOKEN": "test"}
    log = tmp_path / "server.log"
    with open(log, "w", encoding="utf-8") as errlog:
        process = subprocess.Popen([*server_command(), "--transport", "http", "--port", str(port)], env=env,
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=errlog)
    server = HttpServer(f"http://127.0.0.1:{port}/mcp", process)
    try:
        wait_until_listening(process, port, log)
        yield server
    finally:
        server.stop()
