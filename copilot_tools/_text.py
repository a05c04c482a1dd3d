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


def encodable(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD; well-formed text is returned as is.

    Linear in ``len(text)``; the fast path (no surrogate at all, the normal case) is one C-level
    scan. A surrogate pair that arrived as two separate code points is joined into the character
    it encodes, as a UTF-16 decoder would, rather than replaced.
    """
    if text.isascii() or SURROGATE.search(text) is None:  # isascii is O(1) on ASCII-only text
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def is_encodable(text: str) -> bool:
    """True when ``text`` encodes as UTF-8 (no lone surrogates)."""
    return text.isascii() or SURROGATE.search(text) is None
