"""Every class takes the same connection arguments, uses them, and refuses what it does not know.

A server that passes each user's own token must get answers from that user's account:
the emulator here accepts one token only, so a token that did not reach the request
would fail, and an argument that was silently dropped would fall back to another one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from pydantic import ValidationError

from copilot_tools import AuthenticationError, CopilotClient, TransportError
from copilot_tools.emulator import EmulatorConfig, EmulatorServer
from copilot_tools.langchain import (
    ChatCopilot,
    CopilotAskTool,
    CopilotAskWithFilesTool,
    CopilotContinueConversationTool,
    CopilotRetriever,
    CopilotRetrieveTool,
    CopilotToolkit,
)
from tests.conftest import NOW
from tests.langchain.standard_cases import BUSINESS_MODEL, MEETING

TOKEN = "the-users-own-token"


@pytest.fixture(scope="module")
def locked() -> Iterator[EmulatorServer]:
    """An emulator started with ``--token``: any other bearer token is a 401."""
    with EmulatorServer(EmulatorConfig(token=TOKEN, words_per_event=12, event_delay=0.0, now=NOW)) as server:
        yield server


@pytest.fixture(scope="module")
def slow() -> Iterator[EmulatorServer]:
    """An emulator that waits half a second before every answer."""
    with EmulatorServer(EmulatorConfig(latency_ms=500, event_delay=0.0, now=NOW)) as server:
        yield server


@pytest.fixture(scope="module")
def conversation_id(locked: EmulatorServer) -> str:
    with CopilotClient(base_url=locked.base_url, token=TOKEN, time_zone="UTC") as client:
        return client.ask(MEETING).conversation_id


def _tool_call(tool: Any, args: dict[str, Any]) -> ToolMessage:
    message: ToolMessage = tool.invoke({"type": "tool_call", "id": "call-1", "name": tool.name, "args": args})
    if message.status == "error":
        raise RuntimeError(message.content)
    return message


def _use(kind: str, connection: dict[str, Any], conversation: str) -> object:
    """Build ``kind`` with ``connection`` and make one call through it."""
    tool_args: dict[str, tuple[type[Any], dict[str, Any]]] = {
        "ask_copilot": (CopilotAskTool, {"question": MEETING}),
        "ask_with_files": (CopilotAskWithFilesTool, {"question": "Summarise it.", "files": [BUSINESS_MODEL]}),
        "continue_conversation": (CopilotContinueConversationTool,
                                  {"conversation_id": conversation, "message": "Who organises it?"}),
        "retrieve": (CopilotRetrieveTool, {"query": "engineering standup"}),
    }
    if kind == "ChatCopilot":
        return ChatCopilot(**connection).invoke(MEETING)
    if kind == "CopilotRetriever":
        return CopilotRetriever(**connection).invoke("engineering standup")
    if kind.startswith("CopilotToolkit."):
        tools = {tool.name: tool for tool in CopilotToolkit(**connection).get_tools()}
        name = kind.removeprefix("CopilotToolkit.")
        return _tool_call(tools[name], tool_args[name][1])
    cls, args = tool_args[kind]
    return _tool_call(cls(**connection), args)


KINDS = ["ChatCopilot", "CopilotRetriever", "ask_copilot", "ask_with_files", "continue_conversation", "retrieve",
         *(f"CopilotToolkit.{name}" for name in ("ask_copilot", "ask_with_files", "continue_conversation", "retrieve"))]


@pytest.fixture(autouse=True)
def _no_ambient_sign_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Nothing to fall back on: no token in the environment, an empty config file."""
    monkeypatch.delenv("COPILOT_TOOLS_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("COPILOT_TOOLS_ENDPOINT", raising=False)
    config = tmp_path / "config.toml"
    config.write_text('time_zone = "UTC"\n', encoding="utf-8")
    monkeypatch.setenv("COPILOT_TOOLS_CONFIG", str(config))


@pytest.mark.parametrize("kind", KINDS)
def test_the_token_given_reaches_the_service(kind: str, locked: EmulatorServer, conversation_id: str) -> None:
    assert _use(kind, {"base_url": locked.base_url, "api_key": TOKEN}, conversation_id)
    assert _use(kind, {"endpoint": locked.base_url, "access_token": TOKEN}, conversation_id)  # the long names
    with pytest.raises((AuthenticationError, RuntimeError), match="(?i)token|authenticat|sign"):
        _use(kind, {"base_url": locked.base_url, "api_key": "someone-elses-token"}, conversation_id)


@pytest.mark.parametrize("kind", KINDS)
def test_the_timeout_given_is_the_one_used(kind: str, slow: EmulatorServer) -> None:
    with pytest.raises((TransportError, RuntimeError), match="(?i)time"):
        _use(kind, {"base_url": slow.base_url, "api_key": "t", "timeout": 0.05, "max_retries": 0}, "conv")


CONSTRUCTORS: list[Callable[..., object]] = [
    ChatCopilot, CopilotAskTool, CopilotAskWithFilesTool, CopilotContinueConversationTool, CopilotRetrieveTool,
    CopilotToolkit, CopilotRetriever,
]


@pytest.mark.parametrize("cls", CONSTRUCTORS, ids=lambda c: c.__name__)
def test_an_unknown_argument_is_refused(cls: Callable[..., object]) -> None:
    with pytest.raises(ValidationError, match="api_kye"):
        cls(api_kye=TOKEN)
    with pytest.raises(ValidationError, match="timeout"):
        cls(timeout=-1)


def test_the_retrievers_search_kwargs_of_other_retrievers_are_refused() -> None:
    with pytest.raises(ValidationError, match="search_kwargs"):
        CopilotRetriever(search_kwargs={"k": 2})


@pytest.mark.parametrize("cls", CONSTRUCTORS, ids=lambda c: c.__name__)
def test_ready_clients_and_connection_arguments_together_are_refused(cls: Callable[..., object]) -> None:
    client = CopilotClient(base_url="http://127.0.0.1:9/beta", token="t", time_zone="UTC")
    with pytest.raises(ValidationError, match="cannot reach them"):
        cls(client=client, api_key=TOKEN)
