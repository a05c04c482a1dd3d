"""How a LangChain history becomes a Copilot turn: continue Copilot's conversation, or start one.

The scripted client records what the chat model asks of the core client; the emulator
tests (test_chat_model_emulator.py) show the same mapping end to end.
"""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from copilot_tools import InvalidInputError
from copilot_tools.langchain import ChatCopilot
from tests.langchain.scripted import ScriptedClient, answer

FINAL = answer("Noted.")


def model_and_client() -> tuple[ChatCopilot, ScriptedClient]:
    client = ScriptedClient([], FINAL)
    return ChatCopilot(client=client), client


def test_a_reply_of_this_model_followed_by_new_input_continues_its_conversation() -> None:
    model, client = model_and_client()
    history = [SystemMessage("Be brief."), HumanMessage("What meeting do I have at 9 AM tomorrow?")]
    reply = model.invoke(history)
    model.invoke([*history, reply, HumanMessage("Who organises it?"), HumanMessage("And where is it?")])
    conversation_id, message, options = client.calls[-1]
    assert conversation_id == reply.response_metadata["conversation_id"] == "conv-1"
    assert message == "Who organises it?\n\nAnd where is it?"  # only the new input is sent
    assert "additional_context" not in options


def test_any_other_history_starts_a_conversation_with_the_earlier_messages_as_context() -> None:
    model, client = model_and_client()
    model.invoke([
        SystemMessage("Answer in French."),
        HumanMessage("My best friend is John Doe."),
        AIMessage("Nice!"),  # another model's reply: it names no Copilot conversation
        AIMessage("", tool_calls=[{"name": "lookup", "args": {"who": "John"}, "id": "1", "type": "tool_call"}]),
        ToolMessage("John Doe's birthday is on January 1st.", tool_call_id="1", name="lookup"),
        HumanMessage("When is his birthday?"),
    ])
    conversation_id, message, options = client.calls[-1]
    assert conversation_id is None and message == "When is his birthday?"
    assert options["additional_context"] == [
        {"text": "Answer in French.", "description": "Instructions from the application (system message)"},
        {"text": "My best friend is John Doe.",
         "description": "Earlier in this conversation (message 2 of 5), the user wrote"},
        {"text": "Nice!", "description": "Earlier in this conversation (message 3 of 5), the assistant replied"},
        {"text": '(called the tool lookup with {"who": "John"})',
         "description": "Earlier in this conversation (message 4 of 5), the assistant replied"},
        {"text": "John Doe's birthday is on January 1st.",
         "description": "Earlier in this conversation (message 5 of 5), lookup returned"},
    ]


def test_call_options_reach_the_turn() -> None:
    model, client = model_and_client()
    url = "https://contoso.sharepoint.com/sites/Engineering/Spec.docx"
    ChatCopilot(client=client, time_zone="Europe/Paris", web_search=False).invoke("Summarise it", files=url)
    assert client.calls[-1][2] == {"files": [url], "web_search": False, "time_zone": "Europe/Paris"}
    model.invoke("Summarise it", web_search=True, time_zone="UTC")
    assert client.calls[-1][2] == {"web_search": True, "time_zone": "UTC"}


@pytest.mark.parametrize(
    ("messages", "words"),
    [
        ([], "no messages"),
        ([HumanMessage("Hi"), AIMessage("Hello")], "ends with a AIMessage"),
        ([HumanMessage([{"type": "text", "text": "What is this?"},
                        {"type": "image", "url": "https://example.com/cat.png"}])], "'image' content block"),
    ],
)
def test_a_history_copilot_cannot_answer_is_refused_before_any_request(messages, words) -> None:
    model, client = model_and_client()
    with pytest.raises(InvalidInputError, match=words):
        model.invoke(messages)
    assert client.calls == []


def test_wrong_call_options_are_refused() -> None:
    model, client = model_and_client()
    with pytest.raises(TypeError, match="unexpected call options \\['temprature'\\]"):
        model.invoke("Hi", temprature=0)
    with pytest.raises(ValueError, match="no model choice"):
        model.invoke("Hi", model="gpt-5")
    assert client.calls == []


def test_tools_and_structured_output_are_refused_with_the_alternative() -> None:
    model = ChatCopilot()
    with pytest.raises(NotImplementedError, match="CopilotToolkit"):
        model.bind_tools([])
    with pytest.raises(NotImplementedError):
        model.with_structured_output({"type": "object", "title": "Joke", "properties": {}})


def test_construction_does_no_io(monkeypatch, tmp_path) -> None:
    # A config file that does not parse would fail Settings.load: construction must not read it.
    bad = tmp_path / "config.toml"
    bad.write_text("not [toml", encoding="utf-8")
    monkeypatch.setenv("COPILOT_TOOLS_CONFIG", str(bad))
    model = ChatCopilot()
    with pytest.raises(InvalidInputError, match="config file"):
        model.invoke("Hi")
