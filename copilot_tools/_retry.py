"""What is safe to send again, and when.

No Copilot endpoint promises idempotency, so the policy is per operation:

- ``create`` (a new empty conversation; a duplicate is only an orphan): 429, 503, 504
  and errors raised before the request left;
- ``turn`` (``/chat``, ``/chatOverStream``; appends a turn): only 429, which the service
  answers before executing, and errors raised before the request left. Never a read
  timeout or a 5xx after sending, and never a stream after its first byte;
- ``read`` (retrieval, ``$batch``): 429, 503, 504 and any transport error.

``Retry-After`` (on 429, 503 and 504) is honoured up to ``max_retry_after`` seconds;
above that the throttle is surfaced to the caller instead of sleeping inside a tool
call. A ``Deadline`` bounds the whole call: no back-off is started that would end
after it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from copilot_tools.errors import DeadlineExceededError

Operation = Literal["create", "turn", "read"]

_RETRY_STATUS: dict[str, frozenset[int]] = {
    "create": frozenset({429, 503, 504}),
    "turn": frozenset({429}),
    "read": frozenset({429, 503, 504}),
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 60.0

    def delay_for_status(
        self, operation: Operation, status: int, attempt: int, retry_after: float | None
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if attempt >= self.max_retries or status not in _RETRY_STATUS[operation]:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff(attempt)

    def delay_for_transport_error(self, operation: Operation, attempt: int, *, request_sent: bool) -> float | None:
        """Seconds to wait after a network failure, or None when re-sending is unsafe."""
        if attempt >= self.max_retries:
            return None
        if request_sent and operation != "read":
            return None
        return self.backoff(attempt)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: never less than half the step, so a
        retry is never immediate (and clients that failed together spread out)."""
        step = min(self.max_delay, self.base_delay * 2.0**attempt)
        return step / 2 + random.uniform(0, step / 2)


class Deadline:
    """A call's total time budget (``deadline`` seconds), on a monotonic clock.

    The clients start one per public call and consult it before every attempt, every
    back-off and every chunk read; ``exchange()`` itself never reads a clock.
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._expires = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._expires - self._clock())

    def expired(self, *, slack: float = 0.0) -> bool:
        """Whether the deadline has passed (or will within ``slack`` seconds)."""
        return self._clock() + slack >= self._expires

    def allows_wait(self, seconds: float) -> bool:
        """Whether a wait of ``seconds`` ends before the deadline (with time left to act)."""
        return seconds < self._expires - self._clock()

    def exceeded(
        self, *, partial_text: str = "", request_id: str | None = None, sent: bool = False
    ) -> DeadlineExceededError:
        """The error that ends a call whose deadline passed."""
        message = f"The call did not finish within its deadline of {self.seconds:g} s."
        if partial_text:
            message += " The answer so far is attached; the question was not re-sent."
        elif sent:
            message += " The question was sent, so Copilot may have processed it; it was not re-sent."
        return DeadlineExceededError(message, deadline=self.seconds, partial_text=partial_text, request_id=request_id)
