"""``copilot-tools emulator``: option checks in-process, and one real run in a subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from copilot_tools.cli import main

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
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
