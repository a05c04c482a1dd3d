"""A new user's first mistakes and first look at the settings, through the real entry point.

One spelling for web grounding on every command, "did you mean" for a mistyped command,
hints for an empty retrieval query and ``--max`` out of range, and ``config`` showing
typed values, the value that stands in for an unset setting, and one rule for unknown
keys in every table of the config file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.conftest import CLOSED_ENDPOINT, Run

NOTHING_FOUND = "qwzx plonk"  # no document matches: the reply says whether web search was on


@pytest.mark.parametrize(("typed", "meant"), [("askk", "ask"), ("retreive", "retrieve"), ("confg", "config")])
def test_a_mistyped_command_gets_did_you_mean(run: Run, typed: str, meant: str) -> None:
    result = run("--endpoint", CLOSED_ENDPOINT, typed, "anything")
    assert result.returncode == 2
    assert f"error: unknown command '{typed}'" in result.stderr
    assert f"Did you mean `copilot-tools {meant}`?" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_an_unknown_command_with_nothing_close_lists_the_commands(run: Run) -> None:
    result = run("frobnicate")
    assert result.returncode == 2
    assert "Did you mean" not in result.stderr
    assert "lists the commands: ask, chat, retrieve" in result.stderr


def test_a_question_without_its_command_is_shown_how_to_ask_it(run: Run) -> None:
    result = run("What meeting do I have at 9 AM tomorrow?")
    assert result.returncode == 2
    assert "hint: To ask it: `copilot-tools ask 'What meeting do I have at 9 AM tomorrow?'`." in result.stderr


def test_from_a_clone_the_hints_spell_the_dev_script(run: Run) -> None:
    result = run("askk", env={"COPILOT_TOOLS_PROG": "./dev"})
    assert "Did you mean `./dev ask`?" in result.stderr


def test_an_empty_retrieval_query_gets_an_example(run: Run) -> None:
    result = run("retrieve", "", env={"COPILOT_TOOLS_ENDPOINT": CLOSED_ENDPOINT})
    assert result.returncode == 2
    assert "error: invalid QUERY: the query is empty" in result.stderr
    assert 'hint: Say what to look for, e.g. copilot-tools retrieve "travel policy per diem".' in result.stderr


def test_max_beyond_the_api_limit_says_what_to_do(run: Run) -> None:
    result = run("retrieve", "budget", "--max", "30", env={"COPILOT_TOOLS_ENDPOINT": CLOSED_ENDPOINT})
    assert result.returncode == 2  # a usage error: nothing was sent to the closed port
    assert "invalid --max: 30" in result.stderr
    assert "hint: The Retrieval API returns at most 25 results per source: use --max 1 to 25" in result.stderr


@pytest.mark.parametrize("command", ["ask", "chat", "mcp"])
def test_web_grounding_has_one_spelling_everywhere(run: Run, command: str) -> None:
    usage = run(command, "--help").stdout
    assert "--web-search, --no-web-search" in usage
    assert not re.search(r"--(no-)?web\b(?!-)", usage)  # the old spelling works but is not advertised


@pytest.mark.parametrize("spelling", ["--no-web-search", "--no-web"])
def test_web_search_off_reaches_copilot(on_emulator: Run, spelling: str) -> None:
    off = on_emulator("ask", NOTHING_FOUND, spelling, "--no-stream")
    assert off.returncode == 0, off.stderr
    assert "I do not have access to web search" in off.stdout
    on = on_emulator("ask", NOTHING_FOUND, "--web-search", "--no-stream")
    assert on.returncode == 0, on.stderr
    assert "I do not have access to web search" not in on.stdout


def test_mcp_accepts_the_old_web_spelling_too(run: Run, tmp_path: Path) -> None:
    # `mcp install` writes the server's settings into a host's config: it shows what was parsed.
    target = tmp_path / "claude_desktop_config.json"
    for spelling in ("--no-web-search", "--no-web"):
        result = run("mcp", "install", "claude-desktop", spelling, "--config-file", str(target), "--force")
        assert result.returncode == 0, result.stderr
        entry = json.loads(target.read_text(encoding="utf-8"))["mcpServers"]["copilot"]
        assert entry["env"]["COPILOT_TOOLS_WEB_SEARCH"] == "false"


def test_config_json_keeps_types_and_shows_what_stands_in_for_unset(run: Run, cli_env: dict[str, str]) -> None:
    config = Path(cli_env["COPILOT_TOOLS_CONFIG"])
    config.write_text("[copilot-tools]\nweb_search = false\nmax_retries = 5\n\n[cli]\nverbose = 0\n",
                      encoding="utf-8")
    result = run("config", "--json", env={"COPILOT_TOOLS_TIME_ZONE": None, "TZ": "Europe/Paris"})
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)["settings"]
    assert settings["web_search"] == {"value": False, "source": f"config file ({config})"}
    assert settings["max_retries"]["value"] == 5
    assert settings["timeout"] == {"value": 120.0, "source": "default"}
    assert settings["stream"] == {"value": True, "source": "default"}
    assert settings["verbose"]["value"] == 0
    assert settings["file_hosts"]["value"][0] == "sharepoint.com"
    assert settings["account"]["value"] is None and settings["account"]["source"].startswith("default (")
    assert settings["tenant_id"] == {"value": "organizations", "source": "default (any work or school account)"}
    assert settings["workiq_conversations_path"] == {"value": "conversations", "source": "default"}
    zone = settings["time_zone"]
    assert zone["source"] == "default (this machine's time zone)" and zone["value"]
    # the dev extra has it
    assert settings["broker"] == {"value": True, "source": "default (msal[broker] is installed)"}


def test_config_table_spells_booleans_as_the_config_file_does(run: Run) -> None:
    result = run("config", env={"COPILOT_TOOLS_WEB_SEARCH": "0"})
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[2:] if line.strip()}
    assert rows["web_search"].split()[1] == "false"
    assert rows["stream"].split()[1] == "true"
    assert "True" not in result.stdout and "False" not in result.stdout


@pytest.mark.parametrize(("table", "known"), [("[copilot-tools]", "endpoint"), ("[cli]", "stream")])
def test_an_unknown_key_is_an_error_in_every_table(run: Run, cli_env: dict[str, str], table: str, known: str) -> None:
    config = Path(cli_env["COPILOT_TOOLS_CONFIG"])
    config.write_text(f"{table}\nstrem = true\n", encoding="utf-8")
    result = run("config")
    assert result.returncode == 2
    assert f"error: invalid config file: {config} has unknown keys ['strem']" in result.stderr
    assert "hint: Known keys:" in result.stderr and known in result.stderr
    # and a command that reads its preferences fails the same way, before sending anything
    asked = run("ask", "hello", env={"COPILOT_TOOLS_ENDPOINT": CLOSED_ENDPOINT})
    assert asked.returncode == 2 and "unknown keys ['strem']" in asked.stderr


def test_demo_next_steps_run_as_printed_from_a_clone(run: Run) -> None:
    result = run("demo", env={"COPILOT_TOOLS_PROG": "./dev"})
    assert result.returncode == 0, result.stderr
    steps = result.stderr.split("Next:", 1)[1]
    assert "./dev emulator --port 8000" in steps
    assert "COPILOT_TOOLS_ENDPOINT=http://127.0.0.1:8000/beta ./dev chat" in steps
    assert "source .venv/bin/activate" in steps
    assert "copilot-tools emulator" not in steps
