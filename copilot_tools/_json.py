"""JSON from outside, parsed in linear time into values every later step can handle.

``json.loads`` alone is not enough for text other people wrote:

- nesting ~1,000 deep makes it (and every recursive step after it: pydantic, the card walker,
  ``json.dumps`` in a front end) raise ``RecursionError``, which no caller expects;
- the escape ``\\ud83d`` yields a lone surrogate that no UTF-8 writer can encode.

:func:`loads` turns the first into :class:`JSONTooDeepError` (a ``ServiceError`` and a
``ValueError``) when even the C parser cannot go that deep, prunes containers nested deeper than
:data:`MAX_DEPTH` (replaced by ``None``, with a logged warning: an odd card must not discard an
answer), and makes every string encodable (:func:`copilot_tools._text.encodable`).

Speed: the common body pays for ``json.loads`` plus two C-level scans of the text (``str.count``
and one regular-expression search). The Python walk over the parsed value runs only when those
scans say it can matter: more opening brackets than :data:`MAX_DEPTH` (else the depth cannot
exceed it), or an escaped surrogate in the text (else no string can hold a lone one, because
bytes are decoded with ``errors="replace"`` first).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from copilot_tools._text import encodable
from copilot_tools.errors import ServiceError

logger = logging.getLogger("copilot_tools.json")

#: Containers nested deeper than this are pruned. A Copilot event is about 10 deep with its
#: adaptive cards; 64 leaves room for nested card containers and keeps every recursive consumer
#: (pydantic, json.dumps, the MCP SDK) far from the interpreter's recursion limit.
MAX_DEPTH = 64

# A \uD800-\uDFFF escape: the only way JSON text decoded with errors="replace" can yield a surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JSONTooDeepError(ServiceError, ValueError):
    """The JSON nests deeper than the parser can follow; it is refused, not half-read."""


def loads(data: bytes | bytearray | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` for text from outside: bounded depth, encodable strings.

    Raises ``ValueError`` (``json.JSONDecodeError``) for text that is not JSON, and
    :class:`JSONTooDeepError` (also a ``ValueError``) for nesting beyond the C parser's reach.
    """
    text = decode(data)
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    return bounded(value, text, max_depth=max_depth)


def raw_decode(text: str, index: int, *, max_depth: int = MAX_DEPTH) -> tuple[Any, int]:
    """One JSON value of ``text`` starting at ``index``, as :func:`loads` would make it, and its end."""
    try:
        value, end = _DECODER.raw_decode(text, index)
    except RecursionError:
        raise _too_deep() from None
    return bounded(value, text, max_depth=max_depth, start=index, end=end), end


def decode(data: bytes | bytearray | str) -> str:
    """Bytes as text, as ``json.loads`` would read them but never producing a surrogate."""
    if isinstance(data, str):
        return data
    return bytes(data).decode(json.detect_encoding(data), "replace")


def bounded(value: Any, text: str, *, max_depth: int = MAX_DEPTH, start: int = 0, end: int | None = None) -> Any:
    """``value`` (parsed from ``text[start:end]``) pruned below ``max_depth``, every string encodable."""
    end = len(text) if end is None else end
    deep = text.count("{", start, end) + text.count("[", start, end) > max_depth
    surrogates = _SURROGATE_ESCAPE.search(text, start, end) is not None
    if not deep and not surrogates:
        return value
    return _walk(value, max_depth, clean=surrogates)


def _walk(root: Any, max_depth: int, *, clean: bool) -> Any:
    """Prune and clean in one pass, with an explicit stack: no recursion, so no depth limit."""
    pruned = 0
    if clean and isinstance(root, str):
        return encodable(root)
    if not isinstance(root, (dict, list)):
        return root
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        for key, child in items:
            if isinstance(child, (dict, list)):
                if depth >= max_depth:
                    node[key] = None
                    pruned += 1
                else:
                    stack.append((child, depth + 1))
            elif clean and isinstance(child, str):
                node[key] = encodable(child)
        if clean and isinstance(node, dict) and any(isinstance(key, str) for key, _ in items):
            renamed = {encodable(key): value for key, value in node.items()}
            if list(renamed) != list(node):
                node.clear()
                node.update(renamed)
    if pruned:
        logger.warning("JSON from the service nested deeper than %d levels; %d deep part(s) left out",
                       max_depth, pruned)
    return root


def _too_deep() -> JSONTooDeepError:
    return JSONTooDeepError(
        "The service sent JSON nested too deeply to read.",
        hint="This is not a shape Copilot sends; it may come from a proxy or a hostile source. Try again.",
    )


_DECODER = json.JSONDecoder()
