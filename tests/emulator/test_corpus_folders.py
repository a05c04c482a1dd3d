"""What ``--corpus`` serves from a real-life folder: hidden and tool folders, empty files,
binaries with a text name.

A notes folder is often a git checkout with a virtualenv and ``node_modules`` in it; none
of that is the user's notes. Files with nothing to say, or that are not UTF-8 text, are
skipped with a warning rather than served as an empty "summary".
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from copilot_tools.emulator import EmulatorConfig, EmulatorServer
from copilot_tools.emulator.corpus import LOCAL_SITE_URL

from .conftest import AUTH, Api, citations, client_for, reply_of

SERVED = "notes.md"
SKIPPED_QUIETLY = [".git/notes.md", ".venv/lib/site.md", "node_modules/pkg/README.md", "__pycache__/cache.txt",
                   "team/.drafts/draft.md"]
SKIPPED_WITH_WARNING = ["empty.md", "front-matter-only.md", "blank.txt", "binary.txt", "nul.md"]


def make_folder(folder: Path) -> Path:
    (folder / SERVED).write_text("# Notes\n\nThe zebra budget review is on Friday.\n", encoding="utf-8")
    for name in SKIPPED_QUIETLY:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("# Hidden\n\nThe zebra password is hunter2.\n", encoding="utf-8")
    (folder / "empty.md").write_text("", encoding="utf-8")
    (folder / "front-matter-only.md").write_text("---\ntitle: Zebra plans\nauthor: Eve\n---\n", encoding="utf-8")
    (folder / "blank.txt").write_text(" \n\n\t\n", encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe zebra \x00\x01")
    (folder / "nul.md").write_bytes(b"zebra\x00\x00\x00\x10 data")
    return folder


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, httpx.Client]]:
    folder = make_folder(tmp_path_factory.mktemp("messy"))
    with EmulatorServer(EmulatorConfig(corpus=folder)) as server, client_for(server) as client:
        yield folder, client


def test_hidden_and_tool_folders_are_not_served(messy: tuple[Path, httpx.Client]) -> None:
    _, client = messy
    response = client.post("/beta/copilot/retrieval", json={"queryString": "zebra", "dataSource": "sharePoint"})
    assert response.status_code == 200, response.text
    urls = [hit["webUrl"] for hit in response.json()["retrievalHits"]]
    assert urls == [LOCAL_SITE_URL + SERVED]
    reply = reply_of(Api(client).ask("What is the zebra password?"))
    assert "hunter2" not in reply["text"]
    assert [c["seeMoreWebUrl"] for c in citations(reply)] in ([], [LOCAL_SITE_URL + SERVED])


@pytest.mark.parametrize("name", SKIPPED_QUIETLY + SKIPPED_WITH_WARNING)
def test_skipped_files_cannot_be_passed_as_context(messy: tuple[Path, httpx.Client], name: str) -> None:
    _, client = messy
    url = LOCAL_SITE_URL + name
    response = Api(client).turn("Summarize this document.", contextualResources={"files": [{"uri": url}]})
    assert response.status_code == 400, response.text
    assert "could not be opened" in response.json()["error"]["message"]


def test_the_served_file_can_still_be_summarized(messy: tuple[Path, httpx.Client]) -> None:
    _, client = messy
    reply = reply_of(Api(client).ask("Summarize this document.",
                                     contextualResources={"files": [{"uri": LOCAL_SITE_URL + SERVED}]}))
    assert "zebra budget review" in reply["text"]


def test_the_cli_warns_once_per_skipped_file(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "copilot_tools", "emulator", "--port", "0", "--corpus", str(folder)],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert process.stderr is not None
        lines: list[str] = []
        while not lines or "serving" not in lines[-1]:
            line = process.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        warnings = [line for line in lines if line.startswith("warning: ")]
        for name in SKIPPED_WITH_WARNING:
            assert sum(name in line for line in warnings) == 1, warnings
        assert not any(hidden in "".join(warnings) for hidden in SKIPPED_QUIETLY)
        assert "(1 document)" in lines[-1]
        endpoint = re.search(r"COPILOT_TOOLS_ENDPOINT=(\S+)", lines[-1])
        assert endpoint, lines[-1]
        assert httpx.post(f"{endpoint.group(1)}/copilot/conversations", json={}, headers=AUTH).status_code == 201
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
