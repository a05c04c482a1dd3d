"""``CopilotError`` → a tool error the host model can act on.

A tool error is a normal ``CallToolResult`` with ``isError`` set: the model reads it and
decides what to do next (retry later, tell the user to sign in, start a new
conversation, fix an argument). So the text leads with the kind, then what happened,
then what to do, all phrased for a model that only knows this server's tool names. The
same facts go into ``_meta`` under ``copilot-tools/error`` for programs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp.types import CallToolResult, TextContent

from copilot_tools.errors import (
    AuthenticationError,
    ConversationNotFoundError,
    CopilotError,
    InvalidInputError,
    StreamInterruptedError,
    ThrottledError,
)
from copilot_tools.mcp.content import wrap_untrusted

ERROR_META_KEY = "copilot-tools/error"


def error_result(
    error: CopilotError,
    *,
    argument_names: Mapping[str, str] | None = None,
    conversation_id: str | None = None,
) -> CallToolResult:
    """The tool result for ``error``.

    ``argument_names`` maps the core's argument names to this tool's (the core calls the
    question ``message``; ``ask_copilot`` calls it ``question``), so an input error names
    the argument the model actually sent. ``conversation_id`` is the conversation the
    failed turn belonged to, when the model knows it (a follow-up can retry in it).
    """
    names = argument_names or {}
    details: dict[str, Any] = {"kind": error.kind, "message": error.message, "hint": error.hint}
    lines = [f"{error.kind}: {_message(error, names)}"]
    hint = _hint(error, conversation_id)
    if hint:
        lines.append(f"What to do: {hint}")
        details["hint"] = hint
    if isinstance(error, InvalidInputError):
        details["argument"] = names.get(error.argument, error.argument)
    if isinstance(error, ThrottledError) and error.retry_after is not None:
        details["retry_after"] = error.retry_after
    sign_in = _sign_in_details(error)
    details.update(sign_in)
    if error.request_id:
        lines.append(f"(request-id {error.request_id})")
        details["request_id"] = error.request_id
    if isinstance(error, StreamInterruptedError) and error.partial_text.strip():
        lines.append("The answer as far as it arrived (incomplete):")
        lines.append(wrap_untrusted(error.partial_text))
    return CallToolResult(
        content=[TextContent(type="text", text="\n".join(lines))],
        is_error=True,
        _meta={ERROR_META_KEY: details},
    )


def _message(error: CopilotError, names: Mapping[str, str]) -> str:
    if isinstance(error, InvalidInputError):
        prefix = f"Invalid {error.argument}: "
        detail = error.message.removeprefix(prefix)
        if error.argument in names:
            return f"Invalid argument `{names[error.argument]}`: {detail}"
        # Not one of this tool's arguments: the server's own configuration is wrong.
        return f"The server's configuration is invalid ({error.argument}): {detail}"
    return error.message


def _hint(error: CopilotError, conversation_id: str | None) -> str | None:
    if isinstance(error, ConversationNotFoundError):
        return "Start a new conversation with the ask_copilot tool (the old one cannot be continued)."
    if isinstance(error, AuthenticationError):
        uri, code = getattr(error, "verification_uri", None), getattr(error, "user_code", None)
        if uri and code:
            # The message already carries the URL and the code; say how to resume.
            return (f"Show the user the link {uri} and the code {code} (only their own sign-in makes the "
                    "code useful); once they have signed in, call this tool again. Or they can run "
                    "`copilot-tools login` in a terminal.")
        return error.hint or "Ask the user to run `copilot-tools login` in a terminal, then call this tool again."
    if isinstance(error, InvalidInputError):
        return error.hint or "Fix the argument and call the tool again."
    if isinstance(error, StreamInterruptedError):
        if conversation_id:
            return (f"The turn may have been processed; for a complete answer call continue_conversation "
                    f"again with conversation_id {conversation_id}.")
        return "Ask again for a complete answer."
    return error.hint


def _sign_in_details(error: CopilotError) -> dict[str, str]:
    details = {}
    for name in ("verification_uri", "user_code"):
        value = getattr(error, name, None)
        if isinstance(value, str) and value:
            details[name] = value
    return details
