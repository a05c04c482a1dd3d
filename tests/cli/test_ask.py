"""``copilot-tools ask`` end to end against the emulator: `main(argv)` in-process, the pty run in a real process."""

from __future__ import annotations

import json
import os
import sys

import jsonschema
import pexpect
import pytest

from copilot_tools.answer import STRUCTURED_ANSWER_SCHEMA
from copilot_tools.emulator import EmulatorServer
from tests.cli.conftest import CLOSED_ENDPOINT, MEETING, Run, fault

BUSINESS_MODEL = "https://contoso.sharepoint.com/sites/Engineering/Shared%20Documents/Specs/Business-Model.docx"


def ask_json(on_emulator: Run, *args: str) -> dict:
    result = on_emulator("ask", *args, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, STRUCTURED_ANSWER_SCHEMA)
    return data


def test_ask_streams_the_answer_then_numbered_sources(on_emulator: Run) -> None:
    result = on_emulator("ask", MEETING)
    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.partition("\nSources:\n")
    assert "Contoso Engineering Standup" in answer and "<Event>" not in answer
    assert sources.startswith("[1] ") and "https://teams.microsoft.com/" in sources
    # The conversation to continue is for people: on stderr, so the pipe holds only the answer.
    assert "copilot-tools ask --conversation" in result.stderr
    assert "conversation" not in result.stdout.lower().replace("conversation id", "")


def test_streamed_and_whole_answers_print_the_same(on_emulator: Run) -> None:
    streamed = on_emulator("ask", MEETING)
    whole = on_emulator("ask", MEETING, "--no-stream")
    assert streamed.returncode == whole.returncode == 0
    assert streamed.stdout == whole.stdout


def test_json_is_the_structured_answer_and_nothing_else(on_emulator: Run) -> None:
    result = on_emulator("ask", MEETING, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # the whole of stdout is one JSON document
    jsonschema.validate(data, STRUCTURED_ANSWER_SCHEMA)
    assert data["turn_count"] == 1 and data["citations"][0]["url"].startswith("https://teams.microsoft.com/")
    assert ("event", "Contoso Engineering Standup") in {(e["kind"], e["name"]) for e in data["entities"]}


def test_json_can_be_the_default_from_the_environment(on_emulator: Run) -> None:
    result = on_emulator("ask", MEETING, env={"COPILOT_TOOLS_JSON": "true"})
    assert result.returncode == 0, result.stderr
    jsonschema.validate(json.loads(result.stdout), STRUCTURED_ANSWER_SCHEMA)
    assert not on_emulator("ask", MEETING, "--no-json", env={"COPILOT_TOOLS_JSON": "1"}).stdout.startswith("{")


def test_a_follow_up_continues_the_conversation(on_emulator: Run) -> None:
    first = ask_json(on_emulator, MEETING)
    second = ask_json(on_emulator, "Who organises it?", "--conversation", first["conversation_id"])
    assert second["conversation_id"] == first["conversation_id"]
    assert second["turn_count"] == 2
    streamed = on_emulator("ask", "And where is it?", "--conversation", first["conversation_id"])
    assert streamed.returncode == 0, streamed.stderr
    assert first["conversation_id"] in streamed.stderr


def test_the_question_can_come_from_stdin(on_emulator: Run) -> None:
    result = on_emulator("ask", "--json", input=MEETING + "\n")
    assert result.returncode == 0, result.stderr
    assert "Contoso Engineering Standup" in json.loads(result.stdout)["answer"]


def test_files_and_context_ground_the_answer(on_emulator: Run, tmp_path) -> None:
    data = ask_json(on_emulator, "Summarize this document for me.", "--file", BUSINESS_MODEL)
    assert {c["url"] for c in data["citations"]} == {BUSINESS_MODEL}
    notes = tmp_path / "notes.txt"
    notes.write_text("John Doe's birthday is on January 1st.", encoding="utf-8")
    data = ask_json(on_emulator, "What is the birthday of my best friend, John Doe?", "--context-file", str(notes))
    assert "January 1st" in data["answer"]
    assert any(c["source"] == "external" for c in data["citations"])


def test_a_rewritten_stream_ends_with_the_exact_answer(on_emulator: Run) -> None:
    whole = on_emulator("ask", MEETING, "--no-stream")
    rewritten = on_emulator("ask", MEETING, "--header", fault("rewrite"))
    assert rewritten.returncode == 0, rewritten.stderr
    assert rewritten.stdout == whole.stdout


# --- errors: one line and a hint on stderr, an exit code per class ---------------------------------


@pytest.mark.parametrize(
    ("spec", "code", "words"),
    [
        ("throttle;retry-after=0", 5, "throttl"),
        ("unavailable;retry-after=0", 1, "service"),
        ("forbidden", 4, "permission"),
        ("license-403", 4, "licen"),
        ("claims", 3, "token"),
        ("gone", 6, "conversation"),
        ("rai", 7, "declined"),
        ("empty", 7, "without an answer"),
    ],
)
def test_each_error_class_has_its_exit_code_and_one_line(on_emulator: Run, spec: str, code: int, words: str) -> None:
    result = on_emulator("ask", MEETING, "--header", fault(spec), env={"COPILOT_TOOLS_MAX_RETRIES": "0"})
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and words in lines[0].lower()
    assert lines[1].startswith("hint: ") and len(lines) == 2
    assert result.stdout == ""


def test_an_unknown_conversation_is_not_found(on_emulator: Run) -> None:
    result = on_emulator("ask", "hello", "--conversation", "00000000-0000-0000-0000-000000000000")
    assert result.returncode == 6
    assert result.stderr.startswith("error: ") and "request-id" in result.stderr


def test_a_cut_stream_keeps_the_partial_answer_and_fails(on_emulator: Run) -> None:
    result = on_emulator("ask", MEETING, "--header", fault("cut;after=2"))
    assert result.returncode == 1
    assert result.stdout.strip()  # what arrived stays shown
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_verbose_shows_request_ids_timings_and_the_traceback_never_the_token(on_emulator: Run) -> None:
    secret = "eyJhbGciOiJub25lIn0.c2VjcmV0LXRva2VuLXZhbHVl.c2lnbmF0dXJl"
    result = on_emulator("ask", MEETING, "-v", env={"COPILOT_TOOLS_ACCESS_TOKEN": secret})
    assert result.returncode == 0, result.stderr
    assert "request-id" in result.stderr and " ms" in result.stderr
    assert secret not in result.stderr and secret not in result.stdout
    failed = on_emulator("ask", MEETING, "-v", "--header", fault("forbidden"))
    assert failed.returncode == 4 and "Traceback" in failed.stderr
    quiet = on_emulator("ask", MEETING, "--header", fault("forbidden"))
    assert "Traceback" not in quiet.stderr


# --- bad input: a usage error naming the option, before any request ----------------------------------


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (("ask", ""), {}, "QUESTION"),
        (("ask", "   "), {}, "QUESTION"),
        (("ask", MEETING, "--time-zone", "Mars/Olympus_Mons"), {}, "--time-zone"),
        (("ask", MEETING), {"COPILOT_TOOLS_TIME_ZONE": "Nowhere/City"}, "COPILOT_TOOLS_TIME_ZONE"),
        (("ask", MEETING, "--file", "https://example.com/report.docx"), {}, "--file"),
        (("ask", MEETING, "--file", "http://contoso.sharepoint.com/a.docx"), {}, "--file"),
        (("ask", MEETING, "--conversation", "../../me/messages"), {}, "--conversation"),
        (("ask", MEETING, "--context", " "), {}, "--context"),
        (("ask", MEETING, "--header", "no colon here"), {}, "--header"),
        (("ask", MEETING, "--header", "x-note: 日本"), {}, "--header"),
        (("ask", MEETING, "--header", "x-note: one\r\nx-other: two"), {}, "--header"),
        (("chat", "--header", "x-note: bell\x07"), {}, "--header"),
        (("ask", MEETING, "--endpoint", "http://example.com/beta"), {}, "--endpoint"),
        (("chat", "--conversation", "not a conversation"), {}, "--conversation"),
        (("chat", "--time-zone", "Mars/Olympus_Mons"), {}, "--time-zone"),
        (("retrieve", ""), {}, "QUERY"),
        (("retrieve", "budget", "--max", "0"), {}, "--max"),
        (("retrieve", "budget", "--filter", 'path:"https://contoso'), {}, "--filter"),
    ],
)
def test_bad_input_is_a_usage_error_before_any_request(run: Run, args: tuple[str, ...], env: dict, named: str) -> None:
    result = run(*args, env={"COPILOT_TOOLS_ENDPOINT": CLOSED_ENDPOINT, **env})
    assert result.returncode == 2, result.stderr
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("error: invalid ") and named in first
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("content", "mode", "reason"),
    [
        (None, None, "No such file or directory"),
        (b"caf\xe9 notes", None, "not UTF-8"),
        (b"notes", 0o000, "Permission denied"),
    ],
    ids=["missing", "latin-1", "unreadable"],
)
def test_an_unreadable_context_file_is_named_with_the_reason(
    run: Run, tmp_path, content: bytes | None, mode: int | None, reason: str
) -> None:
    path = tmp_path / "notes.txt"
    if content is not None:
        path.write_bytes(content)
    if mode is not None:
        if os.geteuid() == 0:
            pytest.skip("root reads any file")
        path.chmod(mode)
    result = run("ask", MEETING, "--context-file", str(path), env={"COPILOT_TOOLS_ENDPOINT": CLOSED_ENDPOINT})
    assert result.returncode == 2, result.stderr
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("error: invalid --context-file: ") and str(path) in first and reason in first
    assert "invalid --context:" not in result.stderr


def test_a_network_failure_is_a_service_error(run: Run) -> None:
    result = run("ask", MEETING, env={"COPILOT_TOOLS_ENDPOINT": CLOSED_ENDPOINT, "COPILOT_TOOLS_MAX_RETRIES": "0"})
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")


def test_the_installed_entry_point_exits_with_the_command_status(run_process: Run) -> None:
    """The other tests call ``main(argv)``; this one runs ``python -m copilot_tools`` as a user would."""
    result = run_process("ask", MEETING, "--no-such-option", env={"COPILOT_TOOLS_ENDPOINT": CLOSED_ENDPOINT})
    assert result.returncode == 2 and result.stdout == ""
    assert "--no-such-option" in result.stderr and "Traceback" not in result.stderr


def test_argparse_errors_are_usage_errors(run: Run) -> None:
    assert run("ask", MEETING, "--no-such-option").returncode == 2
    assert run("retrieve", "x", "--source", "mailbox").returncode == 2
    assert run("no-such-command").returncode == 2


def test_not_signed_in_in_a_script_exits_3_without_prompting(run: Run) -> None:
    # Microsoft Graph with an empty token cache, stdin not a terminal: no browser, no device code.
    result = run("ask", MEETING, env={"COPILOT_TOOLS_ENDPOINT": "graph"})
    assert result.returncode == 3, result.stderr
    assert "error: Not signed in" in result.stderr and "copilot-tools login" in result.stderr
    assert "enter the code" not in result.stderr and "devicelogin" not in result.stderr


def test_ask_on_a_terminal_renders_markdown_then_sources(cli_env: dict[str, str], emulator: EmulatorServer) -> None:
    env = {**cli_env, "COPILOT_TOOLS_ENDPOINT": emulator.base_url, "TERM": "xterm-256color"}
    child = pexpect.spawn(sys.executable, ["-m", "copilot_tools", "ask", MEETING], env=env,
                          dimensions=(40, 120), timeout=30, encoding="utf-8")
    child.expect_exact("Contoso Engineering Standup")
    child.expect_exact("Sources")
    child.expect_exact("[1]")
    child.expect_exact("Contoso Engineering Standup")
    child.expect_exact("https://teams.microsoft.com/")
    child.expect_exact("copilot-tools ask --conversation")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
