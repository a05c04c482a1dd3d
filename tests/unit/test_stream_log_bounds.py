"""A stream's id reaches the log bounded: it persists across events, so a long one would repeat."""

from __future__ import annotations

import logging

import pytest

from copilot_tools.streaming import StreamAssembler, StreamReader


def test_a_long_event_id_is_logged_only_by_its_start(caplog: pytest.LogCaptureFixture) -> None:
    reader = StreamReader(StreamAssembler("q"))
    with caplog.at_level(logging.WARNING, logger="copilot_tools.stream"):
        reader.feed(b"id: " + b"x" * 100_000 + b"\n" + b"data: not json\n\n" * 3)
    messages = [record.getMessage() for record in caplog.records if "malformed" in record.message]
    assert len(messages) == 3
    assert all(len(message) < 200 and "x" * 40 in message for message in messages)
