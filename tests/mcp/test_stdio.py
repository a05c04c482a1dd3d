"""``copilot-tools mcp`` as a real stdio subprocess, driven by the SDK's ``Client``.

Every line the server writes on stdout must be protocol: the SDK's stdio client turns a
line it cannot parse into an exception delivered to the message handler, which these
tests record and require to stay empty.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from copilot_tools.agent import all_tools
from copilot_tools.mcp.errors import ERROR_META_KEY
from tests.mcp.conftest import MEETING, ROOT, server_command

_keys = itertools.count()


@asynccontextmanager
async def stdio_server(env: dict[str, str], tmp_path: Path) -> AsyncIterator[tuple[Client, list[Exception]]]:
    """A ``copilot-tools mcp`` subprocess; yields the client and the unparseable stdout lines."""
    command, *args = server_command()
    params = StdioServerParameters(command=command, args=args, env=env, cwd=str(ROOT))
    garbage: list[Exception] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            garbage.append(message)

    with open(tmp_path / "server-stderr.log", "w", encoding="utf-8") as errlog:  # noqa: ASYNC230 - opened once
        async with Client(stdio_client(params, errlog=errlog), message_handler=on_message) as client:
            yield client, garbage


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


async def test_stdio_lists_answers_and_follows_up(emulator: Any, isolated_env: dict[str, str], tmp_path: Path) -> None:
    env = {**isolated_env, "COPILOT_TOOLS_ENDPOINT": emulator.base_url}
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with stdio_server(env, tmp_path) as (client, garbage):
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert tools == {spec.name for spec in all_tools()}
        first = await client.call_tool("ask_copilot", {"question": MEETING}, progress_callback=on_progress)
        assert not first.is_error, text_of(first)
        assert any(c["title"] == "Contoso Engineering Standup" for c in first.structured_content["citations"])
        cid = first.structured_content["conversation_id"]
        follow_up = {"conversation_id": cid, "message": "Who organises it?"}
        second = await client.call_tool("continue_conversation", follow_up)
        assert second.structured_content["turn_count"] == 2
        transcript = await client.read_resource(f"copilot://conversations/{cid}")
        assert "Who organises it?" in transcript.contents[0].text
    assert progress and progress == sorted(set(progress))
    assert garbage == []


async def test_stdio_reports_a_fault_as_a_tool_error(
    emulator: Any, isolated_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**isolated_env, "COPILOT_TOOLS_ENDPOINT": emulator.base_url,
           "COPILOT_TOOLS_EXTRA_HEADERS": f"x-emulator-fault: license-403;key=stdio{os.getpid()}-{next(_keys)}"}
    async with stdio_server(env, tmp_path) as (client, garbage):
        result = await client.call_tool("ask_copilot", {"question": MEETING})
        bad = await client.call_tool("ask_copilot", {"question": MEETING, "time_zone": "Not/AZone"})
    assert result.is_error and result.meta[ERROR_META_KEY]["kind"] == "license_required"
    assert bad.is_error and bad.meta[ERROR_META_KEY]["argument"] == "time_zone"
    assert garbage == []


async def test_stdio_without_a_token_answers_at_once_with_sign_in_steps(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    """No token and a real (non-loopback) endpoint: the call returns the device code at once.

    The sign-in service is the auth tests' local stand-in for Entra ID (over TLS on
    loopback); the code stays pending, so a call that waited for the sign-in would hang.
    """
    trustme = pytest.importorskip("trustme")
    from tests.auth.idp import FakeIdentityProvider

    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    idp = FakeIdentityProvider(ca).start()
    env = {**isolated_env, "COPILOT_TOOLS_ENDPOINT": "graph", "COPILOT_TOOLS_AUTHORITY": idp.base_url,
           "COPILOT_TOOLS_CA_BUNDLE": str(ca_file), "COPILOT_TOOLS_TOKEN_CACHE": str(tmp_path / "cache.json"),
           "COPILOT_TOOLS_TOKEN_CACHE_ENCRYPTION": "off"}
    try:
        async with stdio_server(env, tmp_path) as (client, garbage):
            with anyio.fail_after(30):  # a bound, not a measurement: the call must not wait for the sign-in
                result = await client.call_tool("ask_copilot", {"question": MEETING})
                again = await client.call_tool("ask_copilot", {"question": MEETING})
    finally:
        idp.stop()
    [issued] = idp.device_codes.values()  # one flow, reused by the second call
    assert issued["status"] == "pending"
    for answer in (result, again):
        error = answer.meta[ERROR_META_KEY]
        assert answer.is_error and error["kind"] == "not_signed_in"
        assert error["verification_uri"] == f"{idp.base_url}/devicelogin"
        assert error["user_code"] == issued["user_code"]
        text = text_of(answer)
        assert f"{idp.base_url}/devicelogin" in text and issued["user_code"] in text
        assert "call this tool again" in text
    assert garbage == []
