"""``copilot-tools ask --verify``: each source with the extract of its document that supports it."""

from __future__ import annotations

import json

from .conftest import MEETING, Run, fault

PER_DIEM = "What is the per diem for New York?"


def test_each_source_is_printed_with_its_supporting_extract(on_emulator: Run) -> None:
    result = on_emulator("ask", PER_DIEM, "--verify")
    assert result.returncode == 0, result.stderr
    answer, _, checked = result.stdout.partition("Citations checked against their documents:")
    assert "[1]" in answer and "Sources:" in answer
    assert checked.startswith(" 5 of 5 claims supported (100%).")
    assert "[1] Travel and Expense Policy: supported\n    > Meals are reimbursed through a daily per diem" in checked
    assert "[2] How to Submit an Expense Report: supported" in checked


def test_the_planted_citation_is_shown_unsupported(on_emulator: Run) -> None:
    result = on_emulator("ask", PER_DIEM, "--verify", "--no-stream", "--header", fault("unsupported-citation"))
    assert result.returncode == 0, result.stderr
    assert ": unsupported\n    no extract of the cited document" in result.stdout
    assert "no extract supports: Per diem meals do not need receipts." in result.stdout


def test_json_carries_the_verification(on_emulator: Run) -> None:
    result = on_emulator("ask", MEETING, "--verify", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["answer"] and data["verification"]["support"] is None
    (check,) = data["verification"]["citations"]
    assert check["status"] == "not_checked" and "meeting" in check["reason"]


def test_work_iq_is_refused_before_anything_is_asked(run: Run) -> None:
    result = run("ask", PER_DIEM, "--verify", env={"COPILOT_TOOLS_ENDPOINT": "workiq"})
    assert result.returncode == 2 and "Graph" in result.stderr
