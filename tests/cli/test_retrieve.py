"""``copilot-tools retrieve`` against the emulator."""

from __future__ import annotations

import json

import jsonschema

from copilot_tools._retrieval import RETRIEVAL_SCHEMA
from tests.cli.conftest import Run


def test_retrieve_prints_numbered_extracts_with_sources(on_emulator: Run) -> None:
    result = on_emulator("retrieve", "travel policy per diem")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[1] ")
    assert "https://contoso.sharepoint.com/" in result.stdout and "\n> " in result.stdout


def test_retrieve_json_from_several_sources(on_emulator: Run) -> None:
    result = on_emulator("retrieve", "incident", "--source", "sharePoint", "--source", "externalItem",
                         "--max", "5", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, RETRIEVAL_SCHEMA)
    assert data["hits"] and len({h["url"] for h in data["hits"]}) == len(data["hits"])
    assert {h["data_source"] for h in data["hits"]} <= {"sharePoint", "externalItem"}
