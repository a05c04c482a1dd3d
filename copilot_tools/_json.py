"""JSON from outside, parsed in linear time into values every later step can handle.

``json.loads`` alone is not enough for text other people wrote:

- nesting ~1,000 deep makes it (and every recursive step after it: pydantic, the card walker,
  ``json.dumps`` in a front end) raise ``RecursionError``, which no caller expects;
- the escape ``\\ud83d`` yields a lone surrogate that no UTF-8 writer can encode.

:func:`loads` and :func:`iter_values` prune containers nested deeper than :data:`MAX_DEPTH`
(replaced by ``None``, with a logged warning: an odd card must not discard an answer), also when
the nesting is too deep for the C parser itself (the text is pruned first, in one linear pass),
and make every string encodable by rewriting lone surrogate escapes in the text to ``\\ufffd``
before parsing (as :func:`copilot_tools._text.encodable` would replace them after).
:func:`sanitize` does the same for a value that did not come through them (a caller's dict).

Speed: the common body pays for ``json.loads`` plus a few C-level scans of the text (two
``str.count``, a one-character ``str.find``, one regular-expression search when the text holds a
backslash). The surrogate rewrite runs only when the text may hold a lone surrogate escape,
and the Python walk that prunes only when there are more opening brackets than
:data:`MAX_DEPTH` (otherwise the depth cannot exceed it).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from itertools import chain
from typing import Any

from copilot_tools._text import encodable, has_surrogate, is_encodable
from copilot_tools.errors import ServiceError

logger = logging.getLogger("copilot_tools.json")

#: Containers nested deeper than this are pruned. A Copilot event is about 10 deep with its
#: adaptive cards; 64 leaves room for nested card containers and keeps every recursive consumer
#: (pydantic, json.dumps, the MCP SDK) far from the interpreter's recursion limit.
MAX_DEPTH = 64

# Left to right, so that an escaped backslash is consumed whole and its second half never read as
# the start of a ``\\u``: an escaped backslash (kept), a surrogate pair (kept), a lone surrogate
# (group 2, replaced). Other escapes (``\\n``, ``\\"``) cannot hide a backslash, so the pattern
# need not match them: the callback runs only for these three, which are rare.
# (The shared leading backslash is outside the group so that the engine can skip to each one with
# a fast literal search: thirteen times faster than three alternatives tried at every character.)
_ESCAPES = re.compile(
    r"\\(?:\\|(u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})|(u[dD][89a-fA-F][0-9a-fA-F]{2}))"
)
# Where a lone surrogate escape may be, a superset (it ignores how many backslashes precede):
# a high escape not followed by a low one, a low one not preceded by a high one, or a high
# one after a second backslash (so literal text, and the low one after it lone). Well-formed
# pairs, the usual case (any emoji sent with ensure_ascii), do not match: no rewrite for them.
_LONE_CANDIDATE = re.compile(
    r"\\(?:u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\)u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F])"
)


class JSONTooDeepError(ServiceError, ValueError):
    """JSON still too deep to parse after pruning (not expected): refused, never a RecursionError."""


def loads(data: bytes | bytearray | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` for text from outside: bounded depth, encodable strings.

    Raises ``ValueError`` (``json.JSONDecodeError``) for text that is not JSON.
    """
    text = decode(data)
    try:
        value = json.loads(text)
    except RecursionError:
        text = _prune_text(text, max_depth)
        value = _parse_pruned(json.loads, text)
    return _bounded(value, text, 0, len(text), max_depth)


def iter_values(text: str, *, max_depth: int = MAX_DEPTH) -> Iterator[Any]:
    """Every JSON value in ``text``, which may hold several back to back, as :func:`loads` makes them.

    Raises ``ValueError`` (``json.JSONDecodeError``) when any part is not JSON. Unlike
    :func:`loads`, raw surrogate code points already in ``text`` are left alone: event text comes
    from the SSE decoder, which never makes one, and scanning every event for them would cost
    more than parsing it (the normaliser makes what leaves the package encodable in any case).
    """
    return _iter_rewritten(without_lone_surrogates(text), max_depth)


def _iter_rewritten(text: str, max_depth: int) -> Iterator[Any]:
    """:func:`iter_values` of a ``text`` whose lone surrogate escapes are rewritten already."""
    index = 0
    length = len(text)
    while True:
        index = _WHITESPACE.match(text, index).end()  # type: ignore[union-attr]  # a starred class always matches
        if index >= length:
            return
        try:
            value, end = _DECODER.raw_decode(text, index)
        except RecursionError:
            text = text[:index] + _prune_text(text[index:], max_depth)
            length = len(text)
            value, end = _parse_pruned(lambda t, at=index: _DECODER.raw_decode(t, at), text)
        yield _bounded(value, text, index, end, max_depth)
        index = end


def values_unbounded(text: str) -> tuple[tuple[Any, ...], bool]:
    """``tuple(iter_values(text))`` for a reader that looks only at the top levels of most values.

    For the usual text of one value this is one ``json.loads`` (after the lone-surrogate rewrite)
    without the depth bound, and the second item is False: the caller passes each value it keeps
    beyond a glance through :func:`bound`. Several values back to back, and text the C parser
    cannot take, go through :func:`iter_values` (second item True: bounded already), which raises
    what it raises. Why: for a stream event of ~1.3 KB, ``iter_values`` cost 1.5x ``json.loads``
    (two ``str.count`` of the brackets were 0.27x, a generator and ``raw_decode`` per value the
    rest), and the stream assembler only glances at most events.
    """
    text = without_lone_surrogates(text)
    try:
        return (json.loads(text),), False
    except (ValueError, RecursionError):
        return tuple(_iter_rewritten(text, MAX_DEPTH)), True  # (rewritten above: not scanned again)


def bound(value: Any, text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``value``, parsed from the whole of ``text`` by :func:`values_unbounded`, as :func:`iter_values` bounds it.

    A value of at most ``max_depth`` containers cannot nest deeper. For a long text, a few steps of
    a walk tell so when the value is mostly text (one 16 MB reply): the two ``str.count`` of the
    brackets step through every character, 8 ms for 16 MB, 1.3x json.loads of it. A short text
    is counted at once: the walk would cost more than the count.
    """
    if len(text) > _WALK_FIRST:
        found = _containers_found(value, max_depth)
        if found <= max_depth:
            return value
        if found > max_depth + 1:
            # More containers than max_depth, so as many opening brackets: the count would only say
            # so again (two passes over the text, 8 ms for the 16 MB multi-line event).
            return _prune(value, max_depth)
    return _bounded(value, text, 0, len(text), max_depth)


_WALK_FIRST = 1 << 16  # characters; two counts of 64 K characters take ~30 us, the walk at most ~10 us


def _containers_found(root: Any, limit: int, steps: int = 256) -> int:
    """How many containers ``root`` holds when at most ``limit``; ``limit + 2`` when it holds more;
    ``limit + 1`` when ``steps`` children were looked at before either was known."""
    if type(root) is not dict and type(root) is not list:
        return 0
    stack = [root]
    found = 0
    while stack:
        node = stack.pop()
        found += 1
        if found > limit:
            return limit + 2
        children = node.values() if type(node) is dict else node
        steps -= len(children)
        if steps < 0:
            return limit + 1
        stack.extend(child for child in children if type(child) is dict or type(child) is list)
    return found


def decode(data: bytes | bytearray | str) -> str:
    """JSON text ready to parse: bytes decoded as ``json.loads`` would (but never to a surrogate,
    invalid bytes become U+FFFD), and lone surrogate escapes rewritten (:func:`without_lone_surrogates`)."""
    if isinstance(data, str):
        text = encodable(data)
    else:
        text = bytes(data).decode(json.detect_encoding(data), "replace")
    return without_lone_surrogates(text)


def without_lone_surrogates(text: str) -> str:
    """``text`` with every ``\\uD800``-``\\uDFFF`` escape that is not half of a pair made ``\\ufffd``.

    A pair (``\\ud83d\\udcc5``) is kept: the parser joins it into the character it encodes.
    """
    # A one-character find is a memchr, and a text without any backslash stops there; otherwise
    # one scan for a candidate (a prefilter for "\\ud" would only add a second scan when escapes
    # abound, as in JSON written with ensure_ascii).
    if text.find("\\") == -1 or _LONE_CANDIDATE.search(text) is None:
        return text
    return _ESCAPES.sub(_replace_lone, text)


def _replace_lone(match: re.Match[str]) -> str:
    return "\\ufffd" if match.group(2) else match.group(0)


def _bounded(value: Any, text: str, start: int, end: int, max_depth: int) -> Any:
    """``value`` (parsed from ``text[start:end]``) with containers below ``max_depth`` pruned."""
    if text.count("{", start, end) + text.count("[", start, end) <= max_depth:
        return value  # too few brackets to nest that deep: no walk needed
    return _prune(value, max_depth)


def _prune(root: Any, max_depth: int) -> Any:
    """Replace containers deeper than ``max_depth`` by None, with no recursion.

    Walked level by level: a list of the containers at each depth, and keys looked at only at the
    last level, where pruning happens. (A stack of (container, depth) pairs made a tuple per
    container, which the garbage collector tracks: a reply of 100,000 attributions held 100,000 of
    them at once and set off full collections that walked them all. The 16 MB multi-line event of
    benchmarks/parser_scaling.py: 38 ms with the collector on, 15 ms now, the same with it off.)
    """
    level = _containers_below(root, max_depth)
    pruned = 0
    for node in level:
        keys = [key for key, child in (node.items() if type(node) is dict else enumerate(node))
                if type(child) is dict or type(child) is list]
        for key in keys:
            node[key] = None
        pruned += len(keys)
    if pruned:
        logger.warning("JSON from the service nested deeper than %d levels; %d deep part(s) left out",
                       max_depth, pruned)
    return root


def _containers_below(root: Any, depth: int) -> list[Any]:
    """The containers at ``depth`` in ``root`` (itself at depth 1); empty when it holds none so deep.

    Each level's children are typed in C (``set(map(type, ...))`` over ``dict.values`` chained) and
    a Python loop runs only to pick the containers out of a level that mixes them with scalars. The
    16 MB multi-line event of benchmarks/parser_scaling.py (100,000 flat attributions, the last level
    all text) took 51 ms walked in Python, about json.loads of it, and 13 ms now.
    tests/property/test_json_walks.py holds it to the former walk.
    """
    if type(root) is not dict and type(root) is not list:
        return []
    level = [root]
    kinds = {type(root)}  # the kinds of container in ``level``
    for _ in range(1, depth):
        children_types = set(map(type, _children(level, kinds)))
        below = children_types & _CONTAINER_TYPES
        if not below:
            return []
        if children_types <= _CONTAINER_TYPES:
            level = list(_children(level, kinds))
        else:
            level = [child for child in _children(level, kinds) if type(child) is dict or type(child) is list]
        kinds = below
    return level


_CONTAINER_TYPES = frozenset({dict, list})


def _children(level: list[Any], kinds: set[type] | frozenset[type]) -> Iterator[Any]:
    """The children of every container of ``level`` (dicts and lists only, as ``kinds`` says), in order."""
    if list not in kinds:
        return chain.from_iterable(map(dict.values, level))
    if dict not in kinds:
        return chain.from_iterable(level)
    return chain.from_iterable(node.values() if type(node) is dict else node for node in level)


def sanitize(value: Any, *, max_depth: int = MAX_DEPTH) -> Any:
    """``value`` as :func:`loads` would have made it: strings encodable, depth at most ``max_depth``.

    For values that did not come through :func:`loads` (a dict a caller built). Returned as is
    when already clean (a read-only walk); otherwise a cleaned copy, so the caller's data is never
    changed. Iterative, so any depth is fine.
    """
    if _is_clean(value, max_depth):
        return value
    if isinstance(value, str):
        return encodable(value)
    if not isinstance(value, (dict, list)):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any, int]] = [(value, root, 1)]
    while stack:
        source, target, depth = stack.pop()
        for key, child in (source.items() if isinstance(source, dict) else enumerate(source)):
            new: Any
            if isinstance(child, (dict, list)):
                new = None if depth >= max_depth else ({} if isinstance(child, dict) else [])
                if new is not None:
                    stack.append((child, new, depth + 1))
            else:
                new = encodable(child) if isinstance(child, str) else child
            if isinstance(target, dict):
                target[encodable(key) if isinstance(key, str) else key] = new
            else:
                target.append(new)
    return root


def _is_clean(value: Any, max_depth: int) -> bool:
    # Strings are tested where they are met rather than gathered and tested again, and with
    # is_encodable's test written out (no call per ASCII string). This walk runs on every answer's
    # attributions: for the reference reply's three, 7.1 us before, 2.4 us now on their own, and
    # ~15 us less CPU per CopilotClient.chat turn (benchmarks/client_overhead.py; caches are colder there).
    # Level by level, as ``_containers_below``: no (container, depth) tuple per container for the
    # garbage collector to track (the dump of 100,000 attributions, collector on: 253 ms with the
    # tuples, 75 ms now; with it off, 80 ms and 66 ms; best of 7 on a loaded machine).
    if isinstance(value, str):
        return is_encodable(value)
    if not isinstance(value, (dict, list)):
        return True
    level: list[Any] = [value]
    for _ in range(max_depth):
        below: list[Any] = []
        push = below.append
        for node in level:
            if isinstance(node, dict):
                for key in node:
                    if isinstance(key, str) and not key.isascii() and has_surrogate(key):
                        return False
                children = node.values()
            else:
                children = node
            for child in children:
                if isinstance(child, str):
                    if not child.isascii() and has_surrogate(child):
                        return False
                elif isinstance(child, (dict, list)):
                    push(child)
        if not below:
            return True
        level = below
    return False  # a container ``max_depth`` below the root


# A JSON string or one bracket. The string is unrolled and also matches when unterminated (to the
# end of the text), so no quote is ever a start that scans ahead and fails: linear on any text.
# Possessive quantifiers (Python 3.11+) keep the engine from saving backtracking state per escape.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


def _prune_text(text: str, max_depth: int) -> str:
    """``text`` with every container nested deeper than ``max_depth`` replaced by ``null``.

    For JSON too deep for the C parser: the same pruning as :func:`_prune`, done on the text in
    one left-to-right pass over its strings and brackets, so that the rest (the answer's text)
    can still be read. Only this rare path pays for a Python step per bracket.
    """
    pieces: list[str] = []
    depth = 0
    last = 0
    cut: int | None = None
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token[0] == '"':
            continue
        if token in "[{":
            depth += 1
            if depth == max_depth + 1:
                cut = match.start()
        else:
            if depth == max_depth + 1 and cut is not None:
                pieces.append(text[last:cut])
                pieces.append("null")
                last = match.end()
                cut = None
            depth -= 1
    pieces.append(text[last:])
    logger.warning("JSON from the service nested deeper than %d levels; the deeper parts were left out", max_depth)
    return "".join(pieces)


def _parse_pruned(parse: Any, text: str) -> Any:
    try:
        return parse(text)
    except RecursionError:  # not expected after pruning; refuse rather than crash
        raise _too_deep() from None


def _too_deep() -> JSONTooDeepError:
    return JSONTooDeepError(
        "The service sent JSON nested too deeply to read.",
        hint="This is not a shape Copilot sends; it may come from a proxy or a hostile source. Try again.",
    )


_DECODER = json.JSONDecoder()
#: JSON's whitespace between values, skipped in C (a Python loop took a step per character).
_WHITESPACE = re.compile(r"[ \t\r\n]*")
