"""The clients' options are typed once (``TurnKeywords``, ``RetrievalKeywords``, ``ClientOptionKeywords``)
and both clients keep them checked: by a type checker, and at run time for callers without one."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from copilot_tools._base import ClientOptionKeywords, TurnKeywords, TurnOptions
from copilot_tools._retrieval import RetrievalKeywords, build_query
from copilot_tools.client import AsyncCopilotClient, CopilotClient

CHECKED = Path(__file__).parents[1] / "typecheck" / "client_keywords.py"


def test_each_keyword_group_matches_where_its_defaults_live() -> None:
    turn_fields = {field.name for field in dataclasses.fields(TurnOptions)} - {"message"}
    assert TurnKeywords.__optional_keys__ == turn_fields
    assert RetrievalKeywords.__optional_keys__ == set(inspect.signature(build_query).parameters) - {
        "query", "data_source"}
    assert ClientOptionKeywords.__optional_keys__ <= set(inspect.signature(CopilotClient).parameters)


@pytest.mark.parametrize("call", [
    lambda c: c.ask("q", file=["x"]),
    lambda c: c.chat("id", "q", timezone="UTC"),
    lambda c: c.stream(None, "q", web=True),
    lambda c: c.retrieve("q", max_result=3),
    lambda c: c.retrieve_many("q", filters="x"),
    lambda c: c.with_options(timout=5),
    lambda c: c.conversation().ask("q", file=["x"]),
])
async def test_a_misspelled_option_is_a_type_error_on_both_clients(call) -> None:
    base_url = "http://127.0.0.1:9/beta"  # nothing is sent: the call is refused first
    with CopilotClient(base_url=base_url, token="t") as client, pytest.raises(TypeError, match="unexpected keyword"):
        call(client)
    async with AsyncCopilotClient(base_url=base_url, token="t") as aclient:
        with pytest.raises(TypeError, match="unexpected keyword"):
            result = call(aclient)
            if inspect.isawaitable(result):
                await result


def test_a_type_checker_sees_every_option_of_both_clients() -> None:
    pytest.importorskip("mypy")
    checked = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(CHECKED)],
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
