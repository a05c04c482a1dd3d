"""``copilot-tools mcp``: HTTP transport, loopback-only binding without authentication, install, import weight."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from copilot_tools.agent import all_tools
from copilot_tools.cli import main
from tests.conftest import run_python
from tests.mcp.conftest import MEETING, HttpServer


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("COPILOT_TOOLS_ENDPOINT", "COPILOT_TOOLS_ACCESS_TOKEN", "COPILOT_TOOLS_EXTRA_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COPILOT_TOOLS_CONFIG", str(tmp_path / "absent.toml"))


# --- import weight ------------------------------------------------------------------------------


def test_importing_the_server_does_not_import_langchain() -> None:
    code = (
        "import sys\n"
        "from copilot_tools import Settings\n"
        "from copilot_tools.mcp import build_server\n"
        "build_server(Settings(endpoint='http://127.0.0.1:9/beta', time_zone='UTC'))\n"
        "import copilot_tools.cli.mcp\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'langchain', 'msal'))\n"
        "print(heavy)\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- HTTP ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::"])
def test_http_on_a_non_loopback_address_is_refused(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--endpoint", "http://127.0.0.1:9/beta", "mcp", "--transport", "http", "--host", host])
    err = capsys.readouterr()
    assert code == 2 and err.out == ""
    assert f"refusing to serve HTTP on {host} without authentication" in err.err
    assert "--auth entra" in err.err  # the way to serve other addresses (tests/mcp/test_http_auth.py)


async def test_http_transport_serves_tools_on_loopback(http_server: HttpServer) -> None:
    async with Client(http_server.url) as client:
        assert {t.name for t in (await client.list_tools()).tools} == {t.name for t in all_tools()}
        result = await client.call_tool("ask_copilot", {"question": MEETING})
    assert not result.is_error and result.structured_content["citations"]
    assert http_server.stop() == b""  # nothing on stdout in HTTP mode either


# --- install claude-desktop ---------------------------------------------------------------------


def install(config: Path, *extra: str) -> int:
    return main(["mcp", "install", "claude-desktop", "--config-file", str(config), *extra])


def test_install_creates_the_config_with_an_absolute_command(tmp_path: Path) -> None:
    config = tmp_path / "Claude" / "claude_desktop_config.json"
    assert install(config, "--endpoint", "graph", "--time-zone", "Europe/Paris") == 0
    entry = json.loads(config.read_text())["mcpServers"]["copilot"]
    assert Path(entry["command"]).is_absolute()
    assert entry["args"][-1] == "mcp"
    assert entry["env"] == {"COPILOT_TOOLS_ENDPOINT": "graph", "COPILOT_TOOLS_TIME_ZONE": "Europe/Paris"}


def test_install_keeps_other_entries_and_backs_up_the_old_file(tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    original = {"mcpServers": {"files": {"command": "npx", "args": ["fs"]}}, "theme": "dark"}
    config.write_text(json.dumps(original))
    assert install(config) == 0
    written = json.loads(config.read_text())
    assert written["theme"] == "dark" and written["mcpServers"]["files"] == original["mcpServers"]["files"]
    assert "copilot" in written["mcpServers"]
    backups = list(tmp_path.glob("claude_desktop_config.json.*.bak"))
    assert len(backups) == 1 and json.loads(backups[0].read_text()) == original
    assert not list(tmp_path.glob(".*.tmp"))


def test_install_twice_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "claude_desktop_config.json"
    assert install(config) == 0
    before = config.read_text()
    assert install(config) == 0
    assert config.read_text() == before and "nothing changed" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.bak"))


def test_install_refuses_to_replace_a_different_entry_without_force(tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    config.write_text(json.dumps({"mcpServers": {"copilot": {"command": "something-else"}}}))
    assert install(config) == 2
    assert json.loads(config.read_text())["mcpServers"]["copilot"] == {"command": "something-else"}
    assert install(config, "--force") == 0
    assert json.loads(config.read_text())["mcpServers"]["copilot"]["args"][-1] == "mcp"


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"mcpServers": []}'])
def test_install_leaves_an_unparseable_file_alone(tmp_path: Path, content: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "claude_desktop_config.json"
    config.write_text(content)
    assert install(config) == 2
    assert config.read_text() == content
    assert "unchanged" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claude_desktop_config.json"]
