"""Citation markers in a reply's text: one that is not a number is left as it is."""

from __future__ import annotations

from copilot_tools.emulator.draft import Reply


def test_a_marker_of_digits_int_does_not_read_is_left_alone() -> None:
    # "²" is a digit to str.isdigit but not a number to int(): quoted from a document, it once raised.
    reply = Reply(text="see [^\u00b2^] and [^x^]")
    assert reply.card_text() == reply.text
    assert reply.attributions(reply.text) == []


def test_a_marker_of_more_digits_than_int_converts_is_left_alone() -> None:
    reply = Reply(text="see [^" + "1" * 5000 + "^]")
    assert reply.card_text() == reply.text
    assert reply.attributions(reply.text) == []
