"""The wheel and sdist hold what a user needs, and the installed wheel runs.

Installed into a fresh environment, the wheel's ``copilot-tools`` answers ``--help``,
runs the demo end to end (the sample tenant ships inside the wheel) and serves MCP over
stdio to a real MCP client session.
"""

from __future__ import annotations

import subprocess
import tarfile
import zipfile
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.packaging.conftest import Dists, Installed

TOOLS = {"ask_copilot", "ask_with_files", "continue_conversation", "retrieve"}


def test_the_wheel_ships_types_the_sample_tenant_and_the_command(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as wheel:
        names = set(wheel.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "copilot-tools = copilot_tools.cli:main" in wheel.read(entry_points).decode()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "copilot_tools/py.typed" in names
    assert "copilot_tools/emulator/tenant/contoso/calendar.json" in names
    assert any(n.startswith("copilot_tools/emulator/tenant/contoso/documents/sites/HR/") for n in names)
    assert not any(n.startswith(("tests/", "docs/")) for n in names)
    for extra in ("langchain", "broker", "docs", "dev"):
        assert f"Provides-Extra: {extra}" in metadata


def test_the_sdist_builds_and_tests_from_itself(dists: Dists) -> None:
    with tarfile.open(dists.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for needed in ("pyproject.toml", "README.md", "LICENSE", "dev", "mkdocs.yml", "copilot_tools/py.typed",
                   "tests/conftest.py", "docs/index.md", "servers/server.json", "servers/mcpb/manifest.json"):
        assert needed in names, needed


def run(installed: Installed, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(installed.script), *args], capture_output=True, text=True, cwd=tmp_path,
                          env=installed.env(tmp_path / "home"), timeout=120, check=False)


def test_the_installed_command_comes_from_the_wheel(installed: Installed, tmp_path: Path) -> None:
    where = subprocess.run([str(installed.python), "-c", "import copilot_tools; print(copilot_tools.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=installed.env(tmp_path / "home"),
                           check=True).stdout
    assert where.startswith(str(installed.root))
    help_text = run(installed, tmp_path, "--help")
    assert help_text.returncode == 0, help_text.stderr
    assert "ask" in help_text.stdout and "mcp" in help_text.stdout
    assert run(installed, tmp_path, "--version").stdout.strip() == "copilot-tools 0.1.0"


def test_the_installed_demo_answers_with_sources(installed: Installed, tmp_path: Path) -> None:
    result = run(installed, tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    assert "Contoso Engineering Standup" in result.stdout
    assert "\nSources:\n[1] " in result.stdout


def test_the_installed_mcp_server_initializes_over_stdio(installed: Installed, tmp_path: Path) -> None:
    params = StdioServerParameters(command=str(installed.script), args=["mcp"], env=installed.env(tmp_path / "home"),
                                   cwd=str(tmp_path))

    async def session() -> tuple[str, set[str]]:
        with open(tmp_path / "stderr.log", "w", encoding="utf-8") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                tools = {tool.name for tool in (await client.list_tools()).tools}
                return client.protocol_version, tools

    protocol_version, tools = anyio.run(session)
    assert protocol_version and tools == TOOLS
