"""Where shared state lives and the limits it enforces: one frozen value, read from options or
the environment, checked once at start-up (a garbage value stops the server with a message that
names the variable, never a traceback later)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from copilot_tools.errors import InvalidInputError

ENV_STATE_URL = "COPILOT_TOOLS_STATE_URL"
ENV_STATE_KEY = "COPILOT_TOOLS_STATE_KEY"


@dataclass(frozen=True, slots=True)
class StateConfig:
    """``state_url``: ``memory`` (one process) or ``redis://``/``rediss://`` (shared by replicas).

    Limits are per user unless named ``max_sessions`` (the whole deployment). Times are seconds.
    """

    state_url: str = "memory"
    #: Turns (conversation tool calls) one user may have running at once.
    max_turns_per_user: int = 4
    #: Open MCP sessions per user; at the limit the user's longest-idle session is evicted when it
    #: has been idle ``session_evict_after``, otherwise the new session is refused (429).
    max_sessions_per_user: int = 20
    #: Open MCP sessions in total (all users, all replicas); the same eviction rule, else 503.
    max_sessions: int = 10_000
    #: HTTP requests per user per minute (429 with Retry-After over it).
    requests_per_minute: int = 240
    #: A session with no request for this long is closed.
    session_idle_timeout: float = 1800.0
    #: A session idle for this long may be evicted to admit a new one when a cap is reached.
    session_evict_after: float = 120.0
    #: How long a user's transcripts and conversation list are kept after their last turn.
    transcript_ttl: float = 7 * 24 * 3600.0
    #: How long the events of a response stream are kept for resumption (Last-Event-ID).
    stream_ttl: float = 3600.0
    #: The reconnection delay suggested to clients in the priming event (``retry:``), milliseconds.
    stream_retry_ms: int = 1000
    #: A turn slot is released at the latest after this long (a crashed replica cannot hold it).
    turn_lease: float = 900.0

    @property
    def shared(self) -> bool:
        return self.state_url != "memory"

    def redacted_url(self) -> str:
        """The URL without its password, for messages (from the netloc's text: a bad port cannot
        raise, an IPv6 host keeps its brackets)."""
        parts = urlsplit(self.state_url)
        if parts.password is None:
            return self.state_url
        netloc = f"{parts.username or ''}:***@{parts.netloc.rpartition('@')[2]}"
        return parts._replace(netloc=netloc).geturl()


#: field → environment variable.
ENVIRONMENT = {
    "state_url": ENV_STATE_URL,
    "max_turns_per_user": "COPILOT_TOOLS_MAX_TURNS_PER_USER",
    "max_sessions_per_user": "COPILOT_TOOLS_MAX_SESSIONS_PER_USER",
    "max_sessions": "COPILOT_TOOLS_MAX_SESSIONS",
    "requests_per_minute": "COPILOT_TOOLS_REQUESTS_PER_MINUTE",
    "session_idle_timeout": "COPILOT_TOOLS_SESSION_IDLE_TIMEOUT",
    "session_evict_after": "COPILOT_TOOLS_SESSION_EVICT_AFTER",
    "transcript_ttl": "COPILOT_TOOLS_TRANSCRIPT_TTL",
    "stream_ttl": "COPILOT_TOOLS_STREAM_TTL",
    "stream_retry_ms": "COPILOT_TOOLS_STREAM_RETRY_MS",
    "turn_lease": "COPILOT_TOOLS_TURN_LEASE",
}


def load_state_config(options: Mapping[str, object], environ: Mapping[str, str]) -> StateConfig:
    """``options`` (command-line values, None when not given) over ``environ``, over the defaults."""
    values: dict[str, object] = {}
    for spec in fields(StateConfig):
        raw = options.get(spec.name)
        variable = ENVIRONMENT[spec.name]
        if raw is None:
            raw = environ.get(variable, "").strip() or None
        if raw is None:
            continue
        values[spec.name] = _parse(spec.name, variable, str(raw).strip(), spec.type)
    return StateConfig(**values)  # type: ignore[arg-type]


def _parse(name: str, variable: str, raw: str, kind: object) -> object:
    if name == "state_url":
        return _state_url(variable, raw)
    try:
        number = float(raw) if kind in (float, "float") else int(raw)
    except ValueError:
        raise InvalidInputError(name, f"{raw!r} ({variable}) is not a number", hint="Give a positive number.") from None
    if not math.isfinite(number) or number <= 0 or number > 10**9:
        raise InvalidInputError(name, f"{raw!r} ({variable}) is out of range",
                                hint="Give a positive number (at most 1e9).")
    return number


def _state_url(variable: str, raw: str) -> str:
    if raw.lower() == "memory":
        return "memory"
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix") or "\\" in raw or any(ord(c) < 33 for c in raw):
        raise InvalidInputError(
            "state", f"{_redact(raw)!r} ({variable}) is not a state URL",
            hint="Use memory (one process) or redis://HOST:PORT/DB, rediss://… (TLS), unix:///path/redis.sock.",
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise InvalidInputError("state", f"{_redact(raw)!r} ({variable}) has a bad port") from None
    return raw


def _redact(raw: str) -> str:
    return StateConfig(state_url=raw).redacted_url() if "@" in raw else raw


__all__ = ["ENVIRONMENT", "ENV_STATE_KEY", "ENV_STATE_URL", "StateConfig", "load_state_config"]
