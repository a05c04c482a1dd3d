"""Many clients at once, over loopback: every conversation and stream must succeed."""

from __future__ import annotations

import anyio
import httpx

from copilot_tools.emulator import EmulatorServer

from .conftest import AUTH, MEETING, ZONE, parse_events


async def test_a_hundred_concurrent_conversations(emulator: EmulatorServer) -> None:
    results: list[tuple[str, int]] = []
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=emulator.root_url, headers=AUTH, timeout=60, limits=limits) as client:

        async def one(number: int) -> None:
            created = await client.post("/beta/copilot/conversations", json={})
            assert created.status_code == 201
            conversation = created.json()["id"]
            body = {"message": {"text": f"What is the travel policy? ({number})"}, "locationHint": ZONE}
            answer = await client.post(f"/beta/copilot/conversations/{conversation}/chat", json=body)
            assert answer.status_code == 200, answer.text
            results.append((answer.json()["id"], answer.json()["turnCount"]))

        async with anyio.create_task_group() as group:
            for number in range(100):
                group.start_soon(one, number)
    assert len({conversation for conversation, _ in results}) == 100
    assert {turns for _, turns in results} == {1}


async def test_concurrent_turns_of_one_conversation_are_all_counted(emulator: EmulatorServer) -> None:
    async with httpx.AsyncClient(base_url=emulator.root_url, headers=AUTH, timeout=60) as client:
        conversation = (await client.post("/beta/copilot/conversations", json={})).json()["id"]
        counts: list[int] = []

        async def turn() -> None:
            body = {"message": {"text": MEETING}, "locationHint": ZONE}
            response = await client.post(f"/beta/copilot/conversations/{conversation}/chatOverStream", json=body)
            counts.append(parse_events(response.text)[-1].json()["turnCount"])

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(turn)
    assert sorted(counts) == list(range(1, 21))
