"""Text that can leave the package: every string from the wire is made encodable once, here.

JSON may carry ``\\ud83d`` on its own (a lone UTF-16 surrogate): ``json.loads`` accepts it and
hands back a ``str`` that no UTF-8 writer can encode, so a stdio server dies serialising it and
a terminal raises ``UnicodeEncodeError``. Front ends never see such text because the core passes
every string it got from outside through :func:`encodable` at the boundary.
"""

from __future__ import annotations

import re

#: Any surrogate code point: UTF-8 can encode none of them.
SURROGATE = re.compile("[\ud800-\udfff]")

# The surrogate test encodes at most this many characters at a time, so that a huge text never
# needs a copy of its own size (a 16 MB reply costs a 256 KiB buffer at a time, not 16 MB more).
_WINDOW = 1 << 16


def encodable(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD; well-formed text is returned as is.

    Linear in ``len(text)``; the fast path (no surrogate at all, the normal case) is one C-level
    scan. A surrogate pair that arrived as two separate code points is joined into the character
    it encodes, as a UTF-16 decoder would, rather than replaced.
    """
    if text.isascii() or not has_surrogate(text):  # isascii is O(1) on ASCII-only text
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def is_encodable(text: str) -> bool:
    """True when ``text`` encodes as UTF-8 (no lone surrogates)."""
    return text.isascii() or not has_surrogate(text)


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a surrogate code point: exactly when strict UTF-8 encoding refuses it.

    The UTF-8 encoder is a C loop over the code points: on the reference replies (emoji, so not
    ASCII) it is 3 to 5 times faster than ``SURROGATE.search`` (3.7 kB: 2.3 us instead of 11.8 us),
    and every reply text, snapshot and citation passes here. Same answer as the regex: the strict
    encoder accepts every code point but U+D800..U+DFFF (tests/property/test_text_fast_paths.py).
    The walks that test many strings (``_json._is_clean``, ``answer._scan_cards``) call it for those
    that are not ASCII: the reference stream card's TextBlock (1.3 kB, emoji) 2.9 us searched, 0.75 us encoded.
    """
    try:
        if len(text) <= _WINDOW:
            text.encode("utf-8")
        else:
            for start in range(0, len(text), _WINDOW):
                text[start : start + _WINDOW].encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
