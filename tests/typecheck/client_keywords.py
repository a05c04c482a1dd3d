"""Checked by mypy (tests/unit/test_client_typing.py), never run: the clients' options are typed.

Each ``type: ignore[...]`` marks a call a type checker must refuse; ``--strict`` warns about an
ignore that is no longer needed, so a signature that stopped checking its options fails the test.
"""

from __future__ import annotations

from typing import assert_type

from copilot_tools import Answer, AsyncCopilotClient, CopilotClient
from copilot_tools.client import AsyncStream, Stream


def sync_calls(client: CopilotClient) -> None:
    assert_type(client.ask("q", files=["https://contoso.sharepoint.com/a.docx"], web_search=False), Answer)
    assert_type(client.chat("id", "q", time_zone="Europe/Paris", additional_context=["x"]), Answer)
    assert_type(client.stream(None, "q", web_search=None), Stream)
    client.retrieve("q", data_source="externalItem", connections=["c1"], max_results=3, filter="x")
    client.retrieve_many(["q"], data_sources=["sharePoint"], metadata=["title"], container_type_id=None)
    assert_type(client.with_options(timeout=5, deadline=30, max_retries=0, headers={"x": "y"}), CopilotClient)
    client.conversation().ask("q", files=[])
    client.ask("q", file=["x"])  # type: ignore[call-arg]
    client.chat("id", "q", web_search="no")  # type: ignore[arg-type]
    client.stream(None, "q", timezone="UTC")  # type: ignore[call-arg]
    client.retrieve("q", max_result=3)  # type: ignore[call-arg]
    client.retrieve_many("q", filter=3)  # type: ignore[arg-type]
    client.with_options(timout=5)  # type: ignore[call-arg]
    client.conversation().stream("q", web=True)  # type: ignore[call-arg]


async def async_calls(client: AsyncCopilotClient) -> None:
    assert_type(await client.ask("q", files=["https://contoso.sharepoint.com/a.docx"], web_search=False), Answer)
    assert_type(await client.chat("id", "q", time_zone="Europe/Paris"), Answer)
    assert_type(client.stream("id", "q", additional_context=[{"text": "x"}]), AsyncStream)
    await client.retrieve("q", data_source="externalItem", connections=["c1"], max_results=3)
    assert_type(client.with_options(deadline=30), AsyncCopilotClient)
    await client.conversation().ask("q", web_search=True)
    await client.ask("q", file=["x"])  # type: ignore[call-arg]
    await client.chat("id", "q", web_search="no")  # type: ignore[arg-type]
    await client.retrieve_many("q", max_result=3)  # type: ignore[call-arg]
    client.with_options(retries=1)  # type: ignore[call-arg]
    await client.conversation().ask("q", timezone="UTC")  # type: ignore[call-arg]
