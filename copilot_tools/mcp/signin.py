"""Sign-in from inside a tool call: URL-mode elicitation where the host supports it.

When nobody is signed in, the device-code provider starts a flow and every tool call
answers at once with its link and code (``SignInRequiredError``): a host shows that to
the model, which shows it to the user. A host that supports URL-mode elicitation (MCP
2025-11-25) can do better: it asks the user itself to open the sign-in page, outside
the model's context. When they accept, the call waits (with progress) until the
sign-in completes, then answers, and tells the host the elicitation is complete. If the
host has no such capability, there is no back channel (the 2026-07-28 protocol), the
user declines, or the wait passes ``SIGN_IN_WAIT`` seconds, the call answers as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError

from copilot_tools.auth.errors import SignInRequiredError

_log = logging.getLogger(__name__)

#: The longest a call waits for the user to finish signing in (well under a host's 60 s timeout).
SIGN_IN_WAIT = 45.0
#: How often it checks.
POLL_INTERVAL = 2.0

T = TypeVar("T")


def supports_url_elicitation(ctx: Context[Any, Any]) -> bool:
    try:
        capabilities = ctx.session.client_capabilities
    except (ValueError, AttributeError):  # outside a request, or a session without capabilities
        return False
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and elicitation.url is not None


async def sign_in_then(
    ctx: Context[Any, Any],
    error: SignInRequiredError,
    attempt: Callable[[], Awaitable[T]],
    report: Callable[[str], Awaitable[None]],
) -> T | None:
    """Offer the sign-in page through the host, wait for the sign-in, then ``attempt()`` again.

    Returns ``attempt()``'s result once it stops asking for a sign-in, or None when the
    host cannot ask, the user declined, or the wait ran out (the caller then reports
    ``error`` as usual, with its link and code).
    """
    if not supports_url_elicitation(ctx):
        return None
    message = (f"Sign in to Microsoft 365 so Copilot can answer: open the page and enter the code "
               f"{error.user_code} (it expires in {error.expires_in_minutes} min).")
    try:
        answer = await ctx.elicit_url(message=message, url=error.verification_uri, elicitation_id=error.flow_id)
    except MCPError as exc:  # no back channel, or the host refused the request
        _log.info("URL elicitation for sign-in not available: %s", exc)
        return None
    if answer.action != "accept":
        return None
    deadline = time.monotonic() + min(SIGN_IN_WAIT, max(0.0, error.expires_at - time.time()))
    while time.monotonic() < deadline:
        await report(f"Waiting for the sign-in at {error.verification_uri} (code {error.user_code})")
        await anyio.sleep(POLL_INTERVAL)
        try:
            result = await attempt()
        except SignInRequiredError:
            continue
        await _complete(ctx, error.flow_id)
        return result
    return None


async def _complete(ctx: Context[Any, Any], elicitation_id: str) -> None:
    try:
        await ctx.session.send_elicit_complete(elicitation_id, related_request_id=ctx.request_id)
    except MCPError as exc:  # the answer matters more than the notification
        _log.info("Could not send elicitation/complete: %s", exc)
