"""``copilot-tools emulator``: option checks in-process, and one real run in a subprocess."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from copilot_tools.cli import main
from tests.conftest import run_python

from .conftest import AUTH


def test_a_missing_corpus_folder_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--corpus", "/no/such/folder"]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_a_folder_without_documents_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    assert main(["emulator", "--corpus", str(tmp_path)]) == 2
    assert "no .md or .txt documents" in capsys.readouterr().err


def test_a_non_loopback_host_needs_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--host", "0.0.0.0"]) == 2
    assert "--token" in capsys.readouterr().err


def test_a_bad_fault_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--fault", "meltdown"]) == 2
    assert "unknown emulator fault" in capsys.readouterr().err


def test_it_serves_until_interrupted() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "copilot_tools", "emulator", "--port", "0", "--layout", "compact"],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"COPILOT_TOOLS_ENDPOINT=(http://127\.0\.0\.1:\d+/beta)", line)
        assert match, line
        response = httpx.post(f"{match.group(1)}/copilot/conversations", json={}, headers=AUTH, timeout=10)
        assert response.status_code == 201
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_importing_the_emulator_imports_neither_mcp_nor_langchain() -> None:
    code = (
        "import sys, copilot_tools.emulator; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'langchain_core')))"
    )
    result = run_python(code, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("port", ["99999", "65536", "-1", "http"])
def test_a_port_outside_0_to_65535_is_refused(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["emulator", "--port", port])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "--port" in err and "0 to 65535" in err


def test_a_host_that_does_not_resolve_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--host", "no-such-host.invalid", "--token", "secret", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "no-such-host.invalid" in err and "resolve" in err
    assert "--port" not in err


def test_a_port_in_use_says_to_pick_another(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["emulator", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "in use" in err
    assert "Pick another --port" in err
