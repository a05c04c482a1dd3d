"""The stdio server process's start-up (``copilot_tools.mcp._startup``): the paused collector, no httpx CLI."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from copilot_tools.mcp._startup import collector_paused, resume_collector
from tests.conftest import run_python


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()  # what a test froze goes back to the collector
    gc.enable() if enabled else gc.disable()


def test_serving_freezes_what_start_up_built_and_turns_the_collector_back_on() -> None:
    gc.unfreeze()
    with collector_paused():
        assert not gc.isenabled()
        resume_collector()  # CopilotServer.run
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    assert gc.isenabled()


def test_a_start_up_that_fails_turns_the_collector_back_on_without_freezing() -> None:
    gc.unfreeze()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a configuration error")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_collector_the_program_turned_off_is_left_alone() -> None:
    gc.disable()
    with collector_paused():
        resume_collector()
    assert not gc.isenabled()


def test_resuming_without_a_pause_does_nothing() -> None:
    gc.unfreeze()
    resume_collector()  # a program that builds the server itself and runs it
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_the_stdio_server_process_imports_httpx_without_its_command_line_client() -> None:
    code = (
        "import sys\n"
        "from copilot_tools.mcp._startup import stdio_start_up\n"
        "with stdio_start_up():\n"
        "    import httpx\n"
        "print(httpx.Client.__name__, 'pygments' in sys.modules)\n"
    )
    out = run_python(code, check=True)
    assert out.stdout.split() == ["Client", "False"]
