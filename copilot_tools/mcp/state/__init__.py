"""Where the HTTP server's shared state lives: ``memory`` (one process) or Redis (replicas).

``open_state(config)`` gives the backend; ``http_app`` builds the server on it. See
``docs/deployment.md`` for what is stored, for how long, and the limits.
"""

from __future__ import annotations

from copilot_tools.mcp.state.base import SessionRecord, StateBackend, StoredEvent
from copilot_tools.mcp.state.config import ENV_STATE_KEY, ENV_STATE_URL, StateConfig, load_state_config
from copilot_tools.mcp.state.errors import LimitExceededError, StateUnavailableError


def open_state(config: StateConfig) -> StateBackend:
    """The backend ``config.state_url`` names (no I/O yet; ``await backend.ping()`` checks it)."""
    if not config.shared:
        from copilot_tools.mcp.state.memory import MemoryState

        return MemoryState(config)
    try:
        import redis  # noqa: F401
    except ImportError:
        from copilot_tools.errors import InvalidInputError

        raise InvalidInputError("state", "a Redis URL needs the redis package",
                                hint="pip install 'copilot-tools[redis]'") from None
    from copilot_tools.mcp.state.redis_backend import RedisState

    return RedisState(config)


__all__ = [
    "ENV_STATE_KEY",
    "ENV_STATE_URL",
    "LimitExceededError",
    "SessionRecord",
    "StateBackend",
    "StateConfig",
    "StateUnavailableError",
    "StoredEvent",
    "load_state_config",
    "open_state",
]
