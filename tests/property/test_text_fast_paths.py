"""Property: the fast paths of the text clean-up give what the code they replaced gave.

``_text`` tests for surrogates with the UTF-8 encoder instead of a regular expression, and
``stable_prefix`` finds the half-written marker and tag with anchored matches from the last
``[`` and ``<`` instead of measuring the trailing runs backwards. Each is compared here with the
former code, kept below as the oracle, on texts built from the characters those tests turn on.
"""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from copilot_tools import _text
from copilot_tools.answer import clean_text, stable_prefix
from copilot_tools.streaming import _GrowingText

_SURROGATE = re.compile("[\ud800-\udfff]")
_OLD_INCOMPLETE_TAIL = re.compile(r"(<(Person|Event|File)>[^<]*(<(/\w*)?)?|<\w*|\[\^?[^\]\s]*\^?)$")
_OPEN_TAG_TO_END = re.compile(r"<(Person|Event|File)>[^<]*")
_CLOSING_TAG_START = re.compile(r"<(/\w*)?")
_WORD_RUN = re.compile(r"\w*")
_MARKER_RUN = re.compile(r"[^\]\s]*")

PIECES = ["[", "]", "^", "<", ">", "/", "Person", "Event", "File", "Pers", "a", "_", "7", " ", "\n", "\t",
          "\u00a0", "\u2003", "\u3000", "é", "ß", "\u0663", "😀", "-", ".", "</Person>", "<Event>", "[^1^]",
          "[^", "</", "x" * 300, "[" * 5, "<" * 3]
texts = st.lists(st.sampled_from(PIECES), max_size=24).map("".join)
EXAMPLES = settings(max_examples=300, deadline=None)


def _old_stable_prefix(raw: str) -> str:
    """``answer.stable_prefix`` before the anchored matches (backwards runs in growing windows)."""
    starts = _old_starts(raw, len(raw))
    if raw.endswith("\n"):
        starts += _old_starts(raw, len(raw) - 1)
    return raw[: min(starts)] if starts else raw


def _old_starts(raw: str, end: int) -> list[int]:
    starts: list[int] = []
    run = _old_trailing_run(raw, end, _MARKER_RUN)
    bracket = raw.find("[", end - run, end)
    if bracket != -1:
        starts.append(bracket)
    word = _old_trailing_run(raw, end, _WORD_RUN)
    if end - word - 1 >= 0 and raw[end - word - 1] == "<":
        starts.append(end - word - 1)
    last = raw.rfind("<", 0, end)
    if last != -1:
        if _OPEN_TAG_TO_END.fullmatch(raw, last, end):
            starts.append(last)
        elif _CLOSING_TAG_START.fullmatch(raw, last, end):
            previous = raw.rfind("<", 0, last)
            if previous != -1 and _OPEN_TAG_TO_END.fullmatch(raw, previous, last):
                starts.append(previous)
    return starts


def _old_trailing_run(raw: str, end: int, run: re.Pattern[str]) -> int:
    window = 256
    while True:
        low = max(0, end - window)
        tail = raw[low:end][::-1]
        match = run.match(tail)
        assert match is not None
        if match.end() < len(tail) or low == 0:
            return match.end()
        window *= 4


@EXAMPLES
@given(text=texts)
def test_stable_prefix_is_the_former_backwards_scan(text: str) -> None:
    assert stable_prefix(text) == _old_stable_prefix(text)
    match = _OLD_INCOMPLETE_TAIL.search(text)
    assert stable_prefix(text) == (text[: match.start()] if match else text)


@EXAMPLES
@example(text="a\ud83d")
@example(text="\ud83d\ude00 é")
@example(text="😀\udfff")
@given(text=st.one_of(
    st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()), max_size=40),
    st.lists(st.sampled_from(["a", "é", "😀", "\ud800", "\udbff", "\udc00", "\udfff", "\ud7ff", "\ue000"]),
             max_size=12).map("".join),
))
def test_surrogate_test_is_the_former_regex(text: str) -> None:
    assert _text.is_encodable(text) == (_SURROGATE.search(text) is None)
    assert _text.encodable(text) == (
        text if _SURROGATE.search(text) is None
        else text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    )


@settings(max_examples=30, deadline=None)
@given(position=st.integers(min_value=0, max_value=3 * (1 << 16)), lone=st.sampled_from(["\ud83d", "\ude00", "é"]))
def test_surrogate_test_sees_every_window_of_a_long_text(position: int, lone: str) -> None:
    text = "a" * position + lone + "b" * 10
    assert _text.is_encodable(text) == (lone == "é")


GROWTH = ["word ", "[^1^]", "[^2^]", "[^external^]", "[^", "1^", "^]", "]", "<Person>", "Ann", "</Person>", "</Pers",
          "on>", "<File>Doc</File>", ">", "<", "\n", "é", "😀", "\ud83d", "\ude00", "[^<Person>1</Person>^]",
          "^", "[", "a", "b[", " ", "\t", "<Fil", "e>", "</File", "<Event>", "</Event>", "[^1", "[^x^", "/",
          "<Person>Ann Lee</Person>", "<Event>Standup</Event>", "[^12^]", "<File>a[^3^]b</File>"]
snapshot_steps = st.lists(st.one_of(
    st.tuples(st.just("grow"), st.lists(st.sampled_from(GROWTH), min_size=1, max_size=4).map("".join)),
    st.tuples(st.just("cut"), st.integers(min_value=0, max_value=40)),
    st.tuples(st.just("rewrite"), st.lists(st.sampled_from(GROWTH), max_size=8).map("".join)),
), max_size=25)


@settings(max_examples=600, deadline=None)
@given(steps=snapshot_steps)
def test_growing_text_is_the_whole_text_cleaned(steps: list[tuple[str, object]]) -> None:
    growing = _GrowingText()
    text = ""
    for kind, value in steps:
        if kind == "grow":
            text += str(value)
        elif kind == "cut":
            text = text[: len(text) - int(str(value))]
        else:
            text = str(value)
        assert growing.encodable(text) == _text.encodable(text)
        shown = stable_prefix(_text.encodable(text))
        assert growing.clean(shown) == clean_text(shown)
        assert growing.clean(text) == clean_text(text)  # the final snapshot is cleaned whole, uncut


@settings(max_examples=600, deadline=None)
@given(pieces=st.lists(st.sampled_from(GROWTH), max_size=14), cuts=st.lists(st.integers(min_value=0, max_value=200)))
def test_growing_text_cut_anywhere_is_the_whole_text_cleaned(pieces: list[str], cuts: list[int]) -> None:
    """A reply streamed in pieces of any length, each cut (a tag or marker half-sent) cleaned too."""
    final = "".join(pieces)
    raw_only, shown_only, both = _GrowingText(), _GrowingText(), _GrowingText()
    for cut in [*sorted(cuts), len(final)]:
        text = final[:cut]
        shown = stable_prefix(text)
        assert raw_only.clean(text) == clean_text(text)
        assert shown_only.clean(shown) == clean_text(shown)
        assert both.clean(text) == clean_text(text)
        assert both.clean(shown) == clean_text(shown)


@settings(max_examples=600, deadline=None)
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=20),
       cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8), rewrites=st.lists(texts, max_size=3))
def test_growing_stable_prefix_is_stable_prefix(pieces: list[str], cuts: list[int], rewrites: list[str]) -> None:
    """``_GrowingText.stable`` (which skips the test for a tail without '[' or '<') on a reply growing piece
    by piece, cut anywhere and rewritten: each time ``stable_prefix``."""
    growing = _GrowingText()
    whole = "".join(pieces)
    steps = ["".join(pieces[:n]) for n in range(len(pieces) + 1)] + [whole[:cut] for cut in sorted(cuts)]
    for text in [*steps, *rewrites, *steps]:
        assert growing.stable(text) == stable_prefix(text) == _old_stable_prefix(text)
