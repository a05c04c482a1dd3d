"""Icons hosts show next to the server and its tools: small SVGs as ``data:`` URIs (no fetch).

Each is a rounded square in one colour with a plain glyph; no script, no external
reference, so a host can render it safely.
"""

from __future__ import annotations

import base64

from mcp.types import Icon

_FRAME = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48">'
          '<rect width="48" height="48" rx="10" fill="{colour}"/>{glyph}</svg>')
_STROKE = 'fill="none" stroke="#fff" stroke-width="3.5" stroke-linecap="round" stroke-linejoin="round"'

_SERVER = ('<path d="M14 30c0-9 4-16 10-16s10 7 10 16" ' + _STROKE + '/>'
           '<circle cx="18" cy="32" r="4" fill="#fff"/><circle cx="30" cy="32" r="4" fill="#fff"/>')
_GLYPHS = {
    "ask_copilot": '<path d="M12 14h24v15H22l-7 6v-6h-3z" ' + _STROKE + '/>',
    "ask_with_files": '<path d="M15 10h12l7 7v21H15z M27 10v7h7" ' + _STROKE + '/>',
    "continue_conversation": '<path d="M10 12h20v12H18l-5 4v-4h-3z M34 20h4v12h-3v4l-5-4h-8" ' + _STROKE + '/>',
    "retrieve": '<circle cx="21" cy="21" r="9" ' + _STROKE + '/><path d="M28 28l9 9" ' + _STROKE + '/>',
    "verify_answer": '<path d="M13 25l7 7 15-16" ' + _STROKE + '/>',
    "whoami": '<circle cx="24" cy="18" r="7" ' + _STROKE + '/><path d="M11 38c2-7 7-10 13-10s11 3 13 10" '
              + _STROKE + '/>',
}
_COLOUR = "#0F6CBD"


def _icon(glyph: str) -> list[Icon]:
    svg = _FRAME.format(colour=_COLOUR, glyph=glyph)
    source = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
    return [Icon(src=source, mime_type="image/svg+xml", sizes=["any"])]


def server_icons() -> list[Icon]:
    return _icon(_SERVER)


def tool_icons(name: str) -> list[Icon]:
    """The tool's own icon, or the server's for a tool without one."""
    glyph = _GLYPHS.get(name)
    return _icon(glyph) if glyph is not None else server_icons()
