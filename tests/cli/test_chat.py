"""``copilot-tools chat`` driven through a pseudo-terminal, as a person would use it."""

from __future__ import annotations

import re
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from copilot_tools.emulator import EmulatorConfig, EmulatorServer
from tests.cli.conftest import MEETING, fault

PROMPT = "› "
CONVERSATION = re.compile(r"conversation ([0-9a-fA-F-]{8,})")


@pytest.fixture(scope="module")
def slow_emulator() -> Iterator[EmulatorServer]:
    """An emulator that writes one word every 30 ms, so that a Ctrl-C lands mid-answer."""
    with EmulatorServer(EmulatorConfig(words_per_event=1, event_delay=0.03)) as server:
        yield server


@pytest.fixture
def chat(cli_env: dict[str, str], emulator: EmulatorServer) -> Iterator[Callable[..., pexpect.spawn]]:
    """Start ``copilot-tools chat [args]`` in a pty; the session is closed after the test."""
    children: list[pexpect.spawn] = []

    def start(*args: str, server: EmulatorServer = emulator) -> pexpect.spawn:
        env = {**cli_env, "COPILOT_TOOLS_ENDPOINT": server.base_url, "TERM": "xterm-256color"}
        child = pexpect.spawn(sys.executable, ["-m", "copilot_tools", "chat", *args], env=env,
                              dimensions=(40, 120), timeout=30, encoding="utf-8")
        children.append(child)
        child.expect_exact(PROMPT)
        return child

    yield start
    for child in children:
        if child.isalive():
            child.terminate(force=True)


def answer(child: pexpect.spawn, question: str, *expected: str) -> None:
    child.sendline(question)
    for text in expected:
        child.expect_exact(text)
    child.expect_exact(PROMPT)


def quit_session(child: pexpect.spawn) -> str:
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    return child.before


def test_two_turns_in_one_conversation_then_sources(chat, home: Path) -> None:
    child = chat()
    answer(child, MEETING, "Contoso Engineering Standup", "/sources to list")
    answer(child, "Who organises it?", "John Doe")
    child.sendline("/sources")
    child.expect_exact("Sources")
    child.expect_exact("[1]")
    child.expect_exact(PROMPT)
    tail = quit_session(child)
    assert CONVERSATION.search(tail)
    history = next(home.glob("data/copilot-tools/chat_history"))
    assert "Who organises it?" in history.read_text(encoding="utf-8")


def test_ctrl_c_mid_answer_cancels_it_and_keeps_the_session(chat, slow_emulator: EmulatorServer) -> None:
    child = chat(server=slow_emulator)
    child.sendline(MEETING)
    child.expect_exact("Contoso Engineering Standup")  # the answer is being written...
    child.sendintr()
    child.expect_exact("(answer cancelled)")
    assert "Let me know" not in child.before  # ...and was cut short
    child.expect_exact(PROMPT)
    answer(child, "Who organises it?", "organized by John Doe", "/sources to list")  # same conversation
    quit_session(child)


def test_ctrl_c_while_waiting_for_the_first_words(chat) -> None:
    child = chat("--header", fault("latency;ms=20000;count=1"))
    child.sendline(MEETING)
    child.expect_exact("Asking Copilot")  # the spinner: the request is out, no answer yet
    child.sendintr()
    child.expect_exact("(answer cancelled)")
    child.expect_exact(PROMPT)
    answer(child, MEETING, "Contoso Engineering Standup")
    quit_session(child)


def test_new_starts_a_new_conversation(chat) -> None:
    child = chat()
    answer(child, MEETING, "Contoso Engineering Standup")
    child.sendline("/new")
    child.expect(CONVERSATION)
    first = child.match.group(1)
    child.expect_exact(PROMPT)
    answer(child, "What is our travel policy per diem?", "/sources to list")
    tail = quit_session(child)
    second = CONVERSATION.search(tail).group(1)
    assert first != second


def test_ctrl_c_at_the_prompt_clears_the_line_and_ctrl_d_quits(chat) -> None:
    child = chat()
    child.send("half a question")
    # Like a person: Ctrl-C after the keys are shown (readline only notices a SIGINT while
    # it waits for input, not while it is still drawing keys that arrived with it).
    child.expect_exact("half a question")
    child.sendintr()
    child.expect_exact(PROMPT)
    child.sendline("/help")
    child.expect_exact("/new starts over")
    child.expect_exact(PROMPT)
    quit_session(child)


def test_chat_reads_questions_from_a_pipe(on_emulator) -> None:
    result = on_emulator("chat", input=f"{MEETING}\nWho organises it?\n")
    assert result.returncode == 0, result.stderr
    assert "Contoso Engineering Standup" in result.stdout and "John Doe" in result.stdout


def test_history_is_private_and_leaves_the_token_cache_usable(chat, run, home: Path) -> None:
    # The history shares its directory with the token cache, which refuses one others can read.
    child = chat()
    answer(child, MEETING, "Contoso Engineering Standup")
    quit_session(child)
    folder = home / "data" / "copilot-tools"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "chat_history").stat().st_mode) == 0o600
    # A sign-in check afterwards opens the cache there: "not signed in", not "refusing".
    result = run("whoami", env={"COPILOT_TOOLS_ENDPOINT": "graph", "COPILOT_TOOLS_TOKEN_CACHE_ENCRYPTION": "off"})
    assert result.returncode == 3, result.stderr
    assert "Not signed in" in result.stderr and "Refusing" not in result.stderr


def test_piped_chat_exits_with_the_worst_failure(on_emulator) -> None:
    both_fail = on_emulator("chat", "--header", fault("server-error"), input="q1\nq2\n",
                            env={"COPILOT_TOOLS_MAX_RETRIES": "0"})
    assert both_fail.returncode == 1, both_fail.stderr
    assert both_fail.stderr.count("error: ") == 2  # each question reported, none skipped
    verbose = on_emulator("chat", "-v", "--header", fault("server-error"), input="q1\n",
                          env={"COPILOT_TOOLS_MAX_RETRIES": "0"})
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr  # reported as every command reports

    # Throttled once, then answered: the session goes on, and the script still learns of it.
    once = on_emulator("chat", "--header", fault("throttle;retry-after=0;count=1"),
                       input=f"{MEETING}\n{MEETING}\n", env={"COPILOT_TOOLS_MAX_RETRIES": "0"})
    assert once.returncode == 5, once.stderr
    assert "Contoso Engineering Standup" in once.stdout and once.stderr.count("error: ") == 1


def test_piped_chat_asks_again_when_the_conversation_is_gone(on_emulator) -> None:
    gone = "00000000-0000-0000-0000-000000000000"
    result = on_emulator("chat", "--conversation", gone, input=f"{MEETING}\n")
    assert "Contoso Engineering Standup" in result.stdout  # answered in a new conversation
    assert result.stderr.count("error: ") == 1 and "ask again." not in result.stderr
    assert result.returncode == 6, result.stderr  # ...but not in the one the script named
    new = CONVERSATION.findall(result.stderr)[-1]
    assert new != gone
