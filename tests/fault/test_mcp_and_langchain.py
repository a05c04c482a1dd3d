"""The MCP server (a stdio subprocess, and streamable HTTP) and the LangChain tools against a
misbehaving Copilot API: every misbehaviour is a result or a tool error of a documented kind,
no token in anything the model or host reads, and the server answers the next call."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from copilot_tools import Settings
from copilot_tools._text import is_encodable
from copilot_tools.emulator.server import bind
from copilot_tools.mcp import build_server
from copilot_tools.mcp.errors import ERROR_META_KEY
from tests.fault.servers import FaultServer, fault_server
from tests.fault.test_clients_and_cli import (
    FRAGMENTS,
    JWT,
    NEEDS_CLIENT,
    NEEDS_PARSERS,
    OUTCOMES,
    TOKENS,
)
from tests.mcp.conftest import ROOT
from tests.mcp.test_http_auth import serve
from tests.mcp.test_stdio import stdio_server

#: What the servers meet, each followed by a normal question. (Lone surrogates, which ended the
#: stdio server outright, have a test of their own below so that, until the parsers' fix is merged,
#: they cannot hide what the rest of the session shows.)
SESSION = ("echo-authorization", "echo-authorization-html", "deep-json", "deep-card", "bracket-run", "bad-gzip",
           "html-200")
#: A call that does not come back in this time means the server is gone.
CALL_LIMIT = 20.0


async def call(client: Client, question: str) -> Any:
    with anyio.fail_after(CALL_LIMIT):
        return await client.call_tool("ask_copilot", {"question": question})


@pytest.fixture(scope="module")
def faulty() -> Iterator[FaultServer]:
    with fault_server() as server:
        yield server


def everything_the_model_sees(result: Any) -> str:
    parts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
    parts.append(json.dumps(result.structured_content or {}, ensure_ascii=False))
    parts.append(json.dumps(result.meta or {}, ensure_ascii=False))
    return "\n".join(parts)


def check_result(fault: str, result: Any) -> list[str]:
    """The problems with ``result`` for ``fault`` (empty when it is what the issue demands)."""
    problems = []
    seen = everything_the_model_sees(result)
    if any(secret in seen for secret in (*TOKENS, *FRAGMENTS)):
        problems.append(f"{fault}: a token reached the model")
    if not is_encodable(seen):
        problems.append(f"{fault}: text that cannot be encoded")
    expected = OUTCOMES[fault][0]
    if expected == "answer":
        if result.is_error:
            problems.append(f"{fault}: an error instead of the answer: {seen[:300]}")
    else:
        kind = (result.meta or {}).get(ERROR_META_KEY, {}).get("kind")
        if not result.is_error or kind != expected:
            problems.append(f"{fault}: expected a {expected} tool error, got {kind!r}: {seen[:300]}")
    return problems


# --- stdio ----------------------------------------------------------------------------------


def stdio_env(faulty: FaultServer, tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("COPILOT_TOOLS_")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".data"),
                "PYTHONPATH": str(ROOT), "NO_PROXY": "*", "COPILOT_TOOLS_ENDPOINT": faulty.base_url,
                "COPILOT_TOOLS_ACCESS_TOKEN": JWT, "COPILOT_TOOLS_MAX_RETRIES": "0",
                "COPILOT_TOOLS_TIME_ZONE": "UTC"})
    return env


async def test_the_stdio_server_survives_every_misbehaviour_and_answers_the_next_call(
    faulty: FaultServer, tmp_path: Path,
) -> None:
    problems: list[str] = []
    async with stdio_server(stdio_env(faulty, tmp_path), tmp_path) as (client, garbage):
        for fault in SESSION:
            result = await call(client, f"fault:{fault} When is the standup?")
            problems += check_result(fault, result)
            # Still alive and answering after each one.
            after = await call(client, "When is the standup?")
            assert not after.is_error and "standup" in everything_the_model_sees(after), f"after {fault}"
    assert garbage == []
    log = (tmp_path / "server-stderr.log").read_text(encoding="utf-8", errors="replace")
    assert not any(secret in log for secret in (*TOKENS, *FRAGMENTS)), "a token reached the server's log"
    # What the other slices still owe (the lead removes this once they are merged):
    owed = {"deep-json", "deep-card", "bad-gzip", "html-200"}
    unexpected = [p for p in problems if p.split(":")[0] not in owed]
    assert unexpected == [], unexpected
    if problems:
        pytest.xfail("needs parsers and client: " + "; ".join(problems)[:2000])


@NEEDS_PARSERS
async def test_the_stdio_server_survives_lone_surrogates_in_a_reply(faulty: FaultServer, tmp_path: Path) -> None:
    """The crash issue 11 found first: a reply with ``\\ud83d`` ended the stdio server."""
    async with stdio_server(stdio_env(faulty, tmp_path), tmp_path) as (client, garbage):
        hostile = await call(client, "fault:hostile-text When is the standup?")
        assert check_result("hostile-text", hostile) == []
        after = await call(client, "When is the standup?")
        assert not after.is_error
    assert garbage == []


# --- streamable HTTP ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_url(faulty: FaultServer) -> Iterator[str]:
    server = build_server(Settings(endpoint=faulty.base_url, access_token=JWT, time_zone="UTC", max_retries=0),
                          progress_interval=0)
    with serve(server.streamable_http_app(streamable_http_path="/mcp"), bind("127.0.0.1", 0)) as origin:
        yield f"{origin}/mcp"


@asynccontextmanager
async def http_client(url: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(30.0, read=60.0)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def http_cases() -> list[Any]:
    marks = {"hostile-text": NEEDS_PARSERS, "deep-json": NEEDS_PARSERS, "deep-card": NEEDS_PARSERS,
             "bad-gzip": NEEDS_CLIENT, "html-200": NEEDS_CLIENT}
    return [pytest.param(name, marks=marks[name]) if name in marks else name for name in ("hostile-text", *SESSION)]


@pytest.mark.parametrize("fault", http_cases())
async def test_over_http_every_misbehaviour_is_a_result_and_the_next_call_is_answered(http_url: str,
                                                                                       fault: str) -> None:
    async with http_client(http_url) as client:
        result = await call(client, f"fault:{fault} When is the standup?")
        after = await call(client, "When is the standup?")
    assert not after.is_error
    assert check_result(fault, result) == []


# --- LangChain ------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["echo-authorization", "echo-authorization-html"])
def test_langchain_tool_errors_carry_no_token(faulty: FaultServer, fault: str) -> None:
    pytest.importorskip("langchain_core")
    from copilot_tools.langchain import CopilotAskTool

    tool = CopilotAskTool(settings=Settings(endpoint=faulty.base_url, access_token=JWT, time_zone="UTC",
                                            max_retries=0))
    try:
        message = tool.invoke({"type": "tool_call", "id": "call-1", "name": tool.name,
                               "args": {"question": f"fault:{fault} When is the standup?"}})
    finally:
        tool.close()
    text = str(message.content)
    assert getattr(message, "status", "error") == "error"
    assert not any(secret in text for secret in (*TOKENS, *FRAGMENTS)), text
