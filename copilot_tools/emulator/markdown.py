"""Front matter and markdown bodies, parsed into sections of quotable units.

No YAML library: front matter here is flat ``key: value`` lines (see the tenant's README),
and a user's plain notes may have none at all. A body becomes sections (a heading and its
"units": sentences, list items and table rows), because answers quote units and
summaries walk sections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from copilot_tools.emulator.text import plain_inline, split_sentences

# The closing "###" of a heading is cut in code (``_heading``): a lazy ``(.*?)\s*#*\s*$``
# was cubic on a long line of spaces and hashes.
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_CLOSING_HASHES = re.compile(r"(?:^|\s)#+$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
# Matched against stripped lines: no leading or trailing \s* that could trade spaces back
# and forth (that made a long line of spaces quadratic).
_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True, slots=True)
class Section:
    """A heading (empty before the first one) and the units written under it."""

    heading: str
    level: int
    units: tuple[str, ...]


def _heading(line: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading line (already stripped), closing hashes removed."""
    match = _HEADING.match(line)
    if match is None:
        return None
    text = match.group(2).strip()
    closing = _CLOSING_HASHES.search(text)
    if closing is not None:
        text = text[: closing.start()].rstrip()
    return len(match.group(1)), plain_inline(text).strip("* ")


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """(metadata, body). Without a leading ``---`` block the metadata is empty."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            break
    else:
        return {}, text  # an unclosed block is body text, not metadata
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        key, sep, value = line.partition(":")
        if sep and key.strip() and not line.startswith((" ", "\t", "#")):
            meta[key.strip().lower()] = value.strip().strip('"').strip("'")
    return meta, "\n".join(lines[end + 1 :])


def _table_row(line: str, header: list[str] | None) -> str:
    cells = [plain_inline(cell.strip()) for cell in line.strip().strip("|").split("|")]
    cells = [cell for cell in cells if cell]
    if not cells:
        return ""
    if header and len(header) == len(cells) and len(cells) > 2:
        return "; ".join(f"{name}: {value}" for name, value in zip(header, cells, strict=True))
    return f"{cells[0]}: {', '.join(cells[1:])}" if len(cells) > 1 else cells[0]


def parse_sections(body: str) -> tuple[Section, ...]:
    """Split a markdown body into sections of units, skipping code blocks and images."""
    sections: list[Section] = []
    heading, level = "", 0
    units: list[str] = []
    paragraph: list[str] = []
    table_header: list[str] | None = None
    in_code = False
    lines = body.splitlines()

    def flush_paragraph() -> None:
        if paragraph:
            units.extend(split_sentences(plain_inline(" ".join(paragraph))))
            paragraph.clear()

    def flush_section() -> None:
        flush_paragraph()
        if units or heading:
            sections.append(Section(heading, level, tuple(u for u in units if u)))
        units.clear()

    for index, line in enumerate(lines):
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            continue
        stripped = line.strip()
        found = _heading(stripped)
        if found is not None:
            flush_section()
            level, heading = found
            table_header = None
            continue
        if not stripped:
            flush_paragraph()
            table_header = None
            continue
        if stripped.startswith("|"):
            flush_paragraph()
            if _TABLE_RULE.match(stripped):
                continue
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            if table_header is None and _TABLE_RULE.match(following):
                table_header = [plain_inline(c.strip()) for c in stripped.strip("|").split("|")]
                continue
            row = _table_row(stripped, table_header)
            if row:
                units.append(row)
            continue
        item = _LIST_ITEM.match(line)
        if item:
            flush_paragraph()
            units.append(plain_inline(item.group(1)))
            continue
        paragraph.append(stripped.lstrip("> ").strip())
    flush_section()
    return tuple(section for section in sections if section.units or section.level)


def first_heading(body: str) -> str | None:
    """The first heading's text, for documents that carry no title of their own."""
    for line in body.splitlines():
        found = _heading(line.strip())
        if found is not None:
            return found[1] or None
    return None
