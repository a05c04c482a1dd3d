"""What goes wrong with shared state, as typed errors every front end already understands.

``LimitExceededError`` is a ``ThrottledError`` (the caller is told which limit and when to
retry); ``StateUnavailableError`` is a ``ServiceError`` that says the store is unreachable
and that the request may be retried as it is: nothing was half-written.
"""

from __future__ import annotations

import math

from copilot_tools.errors import ServiceError, ThrottledError


class LimitExceededError(ThrottledError):
    """One user (or the server as a whole) is over a limit; ``limit`` names it, ``setting`` says
    how an operator changes it, ``retry_after`` is in whole seconds."""

    kind = "limit_exceeded"

    def __init__(self, limit: str, value: int, setting: str, retry_after: float, *, scope: str = "user") -> None:
        self.limit = limit
        self.value = value
        self.setting = setting
        self.scope = scope
        wait = max(1, math.ceil(retry_after))
        whose = "You have" if scope == "user" else "The server has"
        super().__init__(
            f"{whose} reached the limit of {value} {limit}.",
            retry_after=wait,
            hint=f"Retry after {wait} s. (Operators: the limit is set by {setting}.)",
        )


class StateUnavailableError(ServiceError):
    """The shared state store (Redis) cannot be reached; retry shortly."""

    kind = "state_unavailable"
    retry_after = 5

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "The server's shared state store (Redis) is unreachable" + (f" ({detail})" if detail else "") + ".",
            hint=f"Nothing was changed; retry in {self.retry_after} s. The server recovers by itself when the "
            "store is back.",
            status_code=503,
        )


__all__ = ["LimitExceededError", "StateUnavailableError"]
