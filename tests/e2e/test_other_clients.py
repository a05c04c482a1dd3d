"""What other clients read from the emulator's default (``captured``) stream.

Two independent readers: ``httpx-sse``, a standard spec-conforming SSE parser, and
Microsoft's own Python SDK for these APIs (``microsoft-agents-m365copilot-beta``, Kiota
generated). ``docs/emulator.md`` quotes what these tests pin down:

- httpx-sse dispatches every event but the last: the final snapshot (the only one with
  the prompt echo and ``turnCount`` 1) has no blank line after it, so a strict parser
  never dispatches it. Ids keep the capture's trailing space (``"1 "``). With the
  ``strict`` layout it reads every event.
- The SDK deserializes create and ``/chat`` into its models, and returns the whole
  ``chatOverStream`` body as bytes, unparsed: every event is in them, and our stream
  reader turns them into the same answer as ``/chat``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx_sse import EventSource, ServerSentEvent
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from microsoft_agents_m365copilot_beta import AgentsM365CopilotBetaRequestAdapter, AgentsM365CopilotBetaServiceClient
from microsoft_agents_m365copilot_beta.generated.copilot.conversations.item.microsoft_graph_copilot_chat.chat_post_request_body import (  # noqa: E501
    ChatPostRequestBody,
)
from microsoft_agents_m365copilot_beta.generated.copilot.conversations.item.microsoft_graph_copilot_chat_over_stream.chat_over_stream_post_request_body import (  # noqa: E501
    ChatOverStreamPostRequestBody,
)
from microsoft_agents_m365copilot_beta.generated.copilot.retrieval.retrieval_post_request_body import (
    RetrievalPostRequestBody,
)
from microsoft_agents_m365copilot_beta.generated.models.copilot_conversation import CopilotConversation
from microsoft_agents_m365copilot_beta.generated.models.copilot_conversation_location import (
    CopilotConversationLocation,
)
from microsoft_agents_m365copilot_beta.generated.models.copilot_conversation_request_message_parameter import (
    CopilotConversationRequestMessageParameter,
)
from microsoft_agents_m365copilot_beta.generated.models.data_source_configuration import DataSourceConfiguration
from microsoft_agents_m365copilot_beta.generated.models.retrieval_data_source import RetrievalDataSource
from microsoft_agents_m365copilot_beta.generated.models.share_point_embedded_configuration import (
    SharePointEmbeddedConfiguration,
)

from copilot_tools import AnswerComplete, CopilotClient
from copilot_tools.streaming import StreamAssembler, StreamReader

#: The generated SDK and Kiota warn about their own request configuration classes.
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning:microsoft_agents_m365copilot_beta"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions")]
MEETING = "What meeting do I have at 9 AM tomorrow morning?"
CONTAINER_TYPE = "4f6a2b8c-3d1e-4a5b-9c7d-8e0f1a2b3c4d"


def _stream(emulator: Any, layout: str | None = None) -> tuple[bytes, list[ServerSentEvent]]:
    """The raw body of one streamed turn, and what httpx-sse makes of it."""
    headers = {"Authorization": "Bearer test", **({"x-emulator-layout": layout} if layout else {})}
    body = {"message": {"text": MEETING}, "locationHint": {"timeZone": "UTC"}}
    with httpx.Client(base_url=emulator.root_url, headers=headers, timeout=20) as http:

        def turn() -> str:
            conversation = http.post("/beta/copilot/conversations", json={}).json()["id"]
            return f"/beta/copilot/conversations/{conversation}/chatOverStream"

        raw = http.post(turn(), json=body).content
        with http.stream("POST", turn(), json=body) as response:
            return raw, list(EventSource(response).iter_sse())


def _sent_ids(raw: bytes) -> list[str]:
    return [line[len("id:"):] for line in raw.decode().split("\n") if line.startswith("id:")]


def test_a_standard_sse_parser_reads_every_event_but_the_final_one(emulator: Any) -> None:
    raw, events = _stream(emulator)
    sent = _sent_ids(raw)
    assert len(events) == len(sent) - 1
    assert [event.id for event in events] == sent[:-1]  # "1 ", "2", "3 ", ...: trailing spaces kept
    assert {event.event for event in events} == {"message"}
    snapshots = [json.loads(event.data) for event in events]
    assert snapshots[-1]["messages"] == [] and all(s["turnCount"] <= 1 for s in snapshots)
    assert not [s for s in snapshots if len(s["messages"]) == 2], "the final snapshot never reaches it"


def test_a_standard_sse_parser_reads_every_event_of_the_strict_layout(emulator: Any) -> None:
    raw, events = _stream(emulator, "strict")
    assert [event.id for event in events] == _sent_ids(raw)
    final = json.loads(events[-1].data)
    assert final["turnCount"] == 1 and final["messages"][0]["text"] == MEETING


class _Token(AccessTokenProvider):
    """The emulator accepts any bearer token."""

    async def get_authorization_token(self, uri: str, additional_authentication_context: Any = None) -> str:
        return "test"

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])


@pytest.fixture
def sdk(emulator: Any) -> Iterator[AgentsM365CopilotBetaServiceClient]:
    adapter = AgentsM365CopilotBetaRequestAdapter(BaseBearerTokenAuthenticationProvider(_Token()))
    assert adapter.base_url.rstrip("/").endswith("/v1.0")  # the SDK's own default, wrong for beta
    adapter.base_url = emulator.base_url  # so it must be set explicitly, as its README says
    yield AgentsM365CopilotBetaServiceClient(request_adapter=adapter)


def _message() -> dict[str, Any]:
    return {"message": CopilotConversationRequestMessageParameter(text=MEETING),
            "location_hint": CopilotConversationLocation(time_zone="America/New_York")}


async def test_the_sdk_chats_through_the_bound_action(sdk: AgentsM365CopilotBetaServiceClient) -> None:
    conversation = await sdk.copilot.conversations.post(CopilotConversation())
    assert conversation is not None and conversation.id
    turns = sdk.copilot.conversations.by_copilot_conversation_id(conversation.id)
    reply = await turns.microsoft_graph_copilot_chat.post(ChatPostRequestBody(**_message()))
    assert reply is not None and reply.turn_count == 1 and reply.messages
    prompt, answer = reply.messages
    assert prompt.text == MEETING and "Contoso Engineering Standup" in (answer.text or "")
    citation = [a for a in answer.attributions or [] if a.provider_display_name == "Contoso Engineering Standup"]
    assert citation and (citation[0].see_more_web_url or "").startswith("https://teams.microsoft.com/")


async def test_the_sdk_returns_the_whole_stream_as_bytes(
    emulator: Any, sdk: AgentsM365CopilotBetaServiceClient
) -> None:
    conversation = await sdk.copilot.conversations.post(CopilotConversation())
    assert conversation is not None and conversation.id
    turns = sdk.copilot.conversations.by_copilot_conversation_id(conversation.id)
    body = await turns.microsoft_graph_copilot_chat_over_stream.post(ChatOverStreamPostRequestBody(**_message()))
    assert isinstance(body, bytes) and body.startswith(b"data: {") and body.endswith(b" \n")
    # Every event is in those bytes, the final one too: our decoder reads them whole.
    reader = StreamReader(StreamAssembler(MEETING))
    events = [*reader.feed(body), *reader.close()]
    assert isinstance(events[-1], AnswerComplete)
    with CopilotClient(base_url=emulator.base_url, token="test", time_zone="America/New_York") as client:
        assert events[-1].answer.text == client.ask(MEETING).text


async def test_the_sdk_retrieves_from_sharepoint_embedded(sdk: AgentsM365CopilotBetaServiceClient) -> None:
    body = RetrievalPostRequestBody(
        query_string="What service credit does Northwind get below the availability commitment?",
        data_source=RetrievalDataSource.SharePointEmbedded,
        data_source_configuration=DataSourceConfiguration(
            share_point_embedded=SharePointEmbeddedConfiguration(container_type_id=CONTAINER_TYPE)),
    )
    response = await sdk.copilot.retrieval.post(body)
    assert response is not None and response.retrieval_hits
    first = response.retrieval_hits[0]
    assert "/contentstorage/" in (first.web_url or "")
    assert any("service credit" in (extract.text or "") for extract in first.extracts or [])
