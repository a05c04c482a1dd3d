"""What a tool hands back: text for the model, ``resource_link``s for the sources, ``structuredContent``.

The text is the spec's (``ToolOutput.text()``, the same the LangChain tools give):
answers and retrieved extracts spotlighted between nonce markers, because they come from
documents other people author. Each cited source follows as a ``resource_link`` block
(title, uri, mimeType where the URL names one), so hosts can show it as a link.
"""

from __future__ import annotations

from mcp.types import CallToolResult, ContentBlock, ResourceLink, TextContent

from copilot_tools.agent import SourceLink, ToolOutput
from copilot_tools.agent.text import wrap_untrusted

__all__ = ["output_result", "resource_links", "wrap_untrusted"]


def resource_links(sources: list[SourceLink]) -> list[ResourceLink]:
    return [ResourceLink(type="resource_link", uri=source.uri, name=source.title, title=source.title,
                         mime_type=source.mime_type) for source in sources]


def output_result(output: ToolOutput) -> CallToolResult:
    """The spec's text, one link per source, and the structured result."""
    content: list[ContentBlock] = [TextContent(type="text", text=output.text())]
    content.extend(resource_links(output.sources()))
    return CallToolResult(content=content, structured_content=output.structured())
