"""ChatCopilot behaves like a partner package: serialisation, profile, per-call options, token counts."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps, load, loads
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import ValidationError

from copilot_tools.langchain import ChatCopilot
from tests.langchain.scripted import ScriptedClient, answer


@pytest.mark.filterwarnings("ignore:The function `load:langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_the_model_serialises_without_its_token_and_loads_back(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ChatCopilot(base_url="http://127.0.0.1:9/beta", api_key="secret-token", timeout=30, web_search=False)
    assert ChatCopilot.is_lc_serializable()
    serialized = dumpd(model)
    assert serialized["type"] == "constructor" and serialized["id"] == ["copilot_tools", "langchain", "ChatCopilot"]
    assert "secret-token" not in dumps(model)
    assert serialized["kwargs"]["access_token"] == {"lc": 1, "type": "secret", "id": ["COPILOT_TOOLS_ACCESS_TOKEN"]}

    monkeypatch.setenv("COPILOT_TOOLS_ACCESS_TOKEN", "token-of-the-loading-process")
    for loaded in (load(serialized, valid_namespaces=["copilot_tools"], allowed_objects=[ChatCopilot],
                        secrets_from_env=True),
                   loads(dumps(model), valid_namespaces=["copilot_tools"], allowed_objects="all",
                         secrets_from_env=True)):
        assert isinstance(loaded, ChatCopilot)
        assert (loaded.endpoint, loaded.timeout, loaded.web_search) == ("http://127.0.0.1:9/beta", 30, False)
        assert loaded.access_token is not None
        assert loaded.access_token.get_secret_value() == "token-of-the-loading-process"


def test_callbacks_receive_the_serialised_model() -> None:
    seen: list[dict[str, Any]] = []

    class Recorder(BaseCallbackHandler):
        def on_chat_model_start(self, serialized: dict[str, Any], messages: Any, **kwargs: Any) -> None:
            seen.append(serialized)

    ChatCopilot(client=ScriptedClient([], answer("Hi."))).invoke("Hello", config={"callbacks": [Recorder()]})
    assert seen[0]["type"] == "constructor" and seen[0]["id"][-1] == "ChatCopilot"
    json.dumps(seen[0])


def test_the_profile_says_what_copilot_can_do() -> None:
    profile = ChatCopilot().profile
    assert profile is not None
    assert profile["tool_calling"] is False and profile["structured_output"] is False
    assert profile["text_inputs"] is True and profile["text_outputs"] is True and profile["image_inputs"] is False
    assert profile["citations"] is True


def test_a_langchain_agent_reads_the_profile_and_does_not_ask_for_native_structured_output() -> None:
    # create_agent picks native structured output only when the profile says the model has it.
    agent = create_agent(ChatCopilot(client=ScriptedClient([], answer("Hi."))), tools=[])
    assert agent.invoke({"messages": [HumanMessage("Hello")]})["messages"][-1].text == "Hi."


def test_the_profile_adds_no_warning(recwarn: pytest.WarningsRecorder) -> None:
    ChatCopilot()
    assert not [w for w in recwarn if "profile" in str(w.message)]


def test_another_model_name_is_refused_at_construction() -> None:
    with pytest.raises(ValidationError, match="no model choice"):
        ChatCopilot(model="gpt-4o")
    with pytest.raises(ValidationError, match="no model choice"):
        ChatCopilot(model_name="gpt-4o")
    assert ChatCopilot(model="microsoft-365-copilot").model == "microsoft-365-copilot"


def test_temperature_and_max_tokens_are_accepted_per_call_and_not_sent() -> None:
    client = ScriptedClient([], answer("Noted."))
    model = ChatCopilot(client=client, temperature=0.2)
    model.invoke("Hi", temperature=0, max_tokens=50)
    model.bind(temperature=0.7).invoke("Hi")
    assert [call[2] for call in client.calls] == [{}, {}]
    params = model._get_ls_params(temperature=0, max_tokens=50)
    assert params["ls_temperature"] == 0 and params["ls_max_tokens"] == 50
    assert model._get_ls_params()["ls_temperature"] == 0.2


def test_tokens_are_counted_approximately_without_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # importing it now fails
    model = ChatCopilot()
    assert model.get_num_tokens("") == 0
    assert model.get_num_tokens("What meeting do I have at 9 AM tomorrow?") == 10  # 40 characters / 4
    messages = [SystemMessage("Be brief."), HumanMessage("What meeting do I have at 9 AM tomorrow?")]
    assert model.get_num_tokens_from_messages(messages) > model.get_num_tokens(messages[1].text)
    with pytest.raises(NotImplementedError, match="no tokenizer"):
        model.get_token_ids("text")
    counted = ChatCopilot(custom_get_token_ids=lambda text: list(range(len(text.split()))))
    assert counted.get_num_tokens("one two three") == 3
