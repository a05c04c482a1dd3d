"""``copilot-tools config``, ``demo``, ``--help`` and ``--version`` through the real entry point."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from copilot_tools.cli import COMMANDS
from tests.cli.conftest import CLOSED_ENDPOINT, Run


def setting(output: str, name: str) -> tuple[str, str]:
    """(value, source) of one row of ``copilot-tools config``."""
    row = next(line for line in output.splitlines() if line.startswith(name + " "))
    value, source = re.split(r"\s{2,}", row[len(name):].strip(), maxsplit=1)
    return value, source


def test_config_shows_where_each_value_came_from(run: Run, cli_env: dict[str, str]) -> None:
    config = Path(cli_env["COPILOT_TOOLS_CONFIG"])
    config.write_text(
        '[copilot-tools]\nweb_search = false\nmax_retries = 5\n\n[cli]\nstream = false\n', encoding="utf-8"
    )
    result = run("config", "--tenant", "contoso.onmicrosoft.com", env={"COPILOT_TOOLS_ENDPOINT": CLOSED_ENDPOINT})
    assert result.returncode == 0, result.stderr
    assert str(config) in result.stdout.splitlines()[0]
    assert setting(result.stdout, "endpoint") == (CLOSED_ENDPOINT, "environment (COPILOT_TOOLS_ENDPOINT)")
    assert setting(result.stdout, "tenant_id") == ("contoso.onmicrosoft.com", "argument")
    assert setting(result.stdout, "web_search") == ("false", f"config file ({config})")
    assert setting(result.stdout, "max_retries") == ("5", f"config file ({config})")
    assert setting(result.stdout, "stream") == ("false", f"config file ({config})")
    assert setting(result.stdout, "client_id") == (
        "14d82eec-204b-4c2f-b7e8-296a70dab67e", "default (Microsoft Graph Command Line Tools)")


def test_config_never_shows_a_token(run: Run) -> None:
    result = run("config", "--json", env={"COPILOT_TOOLS_ACCESS_TOKEN": "s3cret-value"})
    assert result.returncode == 0, result.stderr
    assert "s3cret-value" not in result.stdout
    data = json.loads(result.stdout)
    assert data["settings"]["access_token"] == {
        "value": "set (hidden)",
        "source": "environment (COPILOT_TOOLS_ACCESS_TOKEN)",
    }
    assert data["config_file"]["exists"] is False


def test_a_broken_config_file_is_named(run: Run, cli_env: dict[str, str]) -> None:
    config = Path(cli_env["COPILOT_TOOLS_CONFIG"])
    config.write_text("endpoint = \n", encoding="utf-8")
    result = run("config")
    assert result.returncode == 2
    assert str(config) in result.stderr and "Traceback" not in result.stderr


def test_demo_answers_from_its_own_emulator_with_sources(run: Run) -> None:
    # Whatever the configuration says, the demo talks to the emulator it starts itself.
    result = run("demo", env={"COPILOT_TOOLS_ENDPOINT": CLOSED_ENDPOINT})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("> What meeting do I have at 9 AM tomorrow?")
    sources = result.stdout.split("\nSources:\n", 1)[1]
    assert re.search(r"^\[1\] .+ — https://", sources, re.MULTILINE)
    assert "copilot-tools emulator --port 8000" in result.stderr  # what to try next


@pytest.mark.parametrize("command", ["ask", "chat", "retrieve", "demo", "config"])
def test_every_command_has_help_with_examples(run: Run, command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert f"copilot-tools {command}" in result.stdout and "examples:" in result.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_answers_help_under_the_one_entry_point(run: Run, command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: copilot-tools {command}")


def test_version_and_bare_invocation(run: Run) -> None:
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("copilot-tools ")
    bare = run()
    assert bare.returncode == 2 and "ask" in bare.stdout
