"""Clients on the emulator for the LangChain tests (the `emulator` fixture is tests/conftest.py's)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import pytest

from copilot_tools import AsyncCopilotClient, CopilotClient

TIME_ZONE = "America/New_York"
_keys = itertools.count()


def fault(spec: str) -> dict[str, str]:
    """A fault header unique to this use, so its count= applies to this use alone."""
    return {"x-emulator-fault": f"{spec};key=langchain{next(_keys)}"}


@pytest.fixture
def copilot_client(emulator) -> Iterator[CopilotClient]:
    with CopilotClient(base_url=emulator.base_url, token="test", time_zone=TIME_ZONE) as client:
        yield client


@pytest.fixture
async def async_copilot_client(emulator) -> AsyncIterator[AsyncCopilotClient]:
    async with AsyncCopilotClient(base_url=emulator.base_url, token="test", time_zone=TIME_ZONE) as client:
        yield client


@pytest.fixture
def faulty_client(emulator) -> Iterator:
    """``faulty_client("throttle", max_retries=0)``: a sync client whose requests carry that fault."""
    made: list[CopilotClient] = []

    def make(spec: str, **kwargs) -> CopilotClient:
        client = CopilotClient(base_url=emulator.base_url, token="test", time_zone=TIME_ZONE,
                               headers=fault(spec), **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def vcr() -> Iterator[None]:
    """No VCR cassettes here (``enable_vcr_tests`` is off: the suites skip their VCR test).

    pytest-recording (a dependency of langchain-tests) would still install a cassette for the
    skipped ``test_stream_time``, patching urllib3 for the whole process; once it was seen to
    outlive that test and answer a later test's MSAL discovery request from the missing cassette.
    """
    yield None
