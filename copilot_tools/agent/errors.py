"""A ``CopilotError`` from a tool call → what every framework reports (``tool_error``).

The model reads ``text`` (kind, what happened, what to do; written by ``agent.text``);
programs read ``details``. ``is_configuration`` marks an input error about none of the
tool's arguments: the application's set-up is wrong, which a framework may prefer to
raise rather than hand to the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from copilot_tools.agent.spec import ToolSpec, shown_name
from copilot_tools.agent.text import error_details, error_text, is_configuration_error
from copilot_tools.errors import CopilotError


@dataclass(frozen=True, slots=True)
class ToolErrorReport:
    text: str
    details: dict[str, Any]
    is_configuration: bool


def tool_error(
    spec: ToolSpec[Any, Any], error: CopilotError, arguments: Mapping[str, Any] | None = None
) -> ToolErrorReport:
    """The report of ``error`` raised by ``spec`` called with ``arguments`` (the raw ones are fine)."""
    sent = arguments if isinstance(arguments, Mapping) else {}
    # Any argument the model sent is the model's to fix, even one the tool does not have
    # (named as ``arguments_error`` quotes it: cut short, escaped).
    names = {**{shown: shown for shown in map(shown_name, sent)}, **spec.argument_names}
    conversation_id = sent.get("conversation_id")
    if not isinstance(conversation_id, str):
        conversation_id = None
    return ToolErrorReport(
        text=error_text(error, argument_names=names, conversation_id=conversation_id),
        details=error_details(error, argument_names=names, conversation_id=conversation_id),
        is_configuration=is_configuration_error(error, names),
    )
