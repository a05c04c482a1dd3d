"""The LangChain classes name the core clients without importing them until they are used."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from copilot_tools import AsyncCopilotClient, CopilotClient
from copilot_tools.langchain import ChatCopilot, CopilotRetriever
from tests.conftest import run_python


def test_importing_the_chat_model_leaves_the_client_stack_unimported() -> None:
    out = run_python("""
        import sys
        from copilot_tools.langchain import ChatCopilot
        model = ChatCopilot(base_url="http://127.0.0.1:9/beta", api_key="t")  # builds nothing yet
        # (the stream's events and the answer load with the first call too: benchmarks/import_time.py)
        later = ("copilot_tools.client", "httpx", "copilot_tools.streaming", "copilot_tools.answer",
                 "copilot_tools._wire")
        print(sorted(m for m in later if m in sys.modules))
    """, check=True)
    assert out.stdout.strip() == "[]"


def test_given_clients_are_taken_as_they_are() -> None:
    client = CopilotClient(base_url="http://127.0.0.1:9/beta", token="t")
    async_client = AsyncCopilotClient(base_url="http://127.0.0.1:9/beta", token="t")
    model = ChatCopilot(client=client, async_client=async_client)
    assert model.client is client and model.async_client is async_client
    client.close()


@pytest.mark.parametrize("field", ["client", "async_client"])
def test_a_client_of_the_wrong_class_is_refused_as_pydantic_refuses_it(field: str) -> None:
    wrong = object() if field == "client" else CopilotClient(base_url="http://127.0.0.1:9/beta", token="t")
    with pytest.raises(ValidationError) as caught:
        CopilotRetriever(**{field: wrong})
    [error] = caught.value.errors()
    expected = "CopilotClient" if field == "client" else "AsyncCopilotClient"
    assert error["type"] == "is_instance_of" and error["loc"] == (field,)
    assert error["msg"] == f"Input should be an instance of {expected}"
