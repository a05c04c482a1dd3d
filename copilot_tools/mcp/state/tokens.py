"""On-behalf-of tokens shared by replicas in Redis, sealed with Fernet (AES-128-CBC + HMAC).

The key comes from ``COPILOT_TOOLS_STATE_KEY`` (one or more comma-separated Fernet keys: the
first seals, all unseal, so keys can be rotated). Redis sees only a digest of the user and
scopes as the key, and a sealed value that expires with the token. The store is synchronous
(the exchange runs on a worker thread); it gives up quickly, and any failure is a cache miss.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

from copilot_tools.errors import InvalidInputError
from copilot_tools.mcp.state.config import ENV_STATE_KEY, StateConfig
from copilot_tools.mcp.state.redis_backend import PREFIX

GENERATE = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


def sealing_key(environ: Mapping[str, str]) -> Any | None:
    """The ``MultiFernet`` from ``COPILOT_TOOLS_STATE_KEY``, None when unset; a malformed key is an
    ``InvalidInputError`` that says how to make one."""
    from cryptography.fernet import Fernet, MultiFernet

    raw = environ.get(ENV_STATE_KEY, "").strip()
    if not raw:
        return None
    try:
        return MultiFernet([Fernet(part.strip()) for part in raw.split(",") if part.strip()])
    except (ValueError, TypeError):
        raise InvalidInputError("state key", f"{ENV_STATE_KEY} is not a Fernet key (or a comma-separated list)",
                                hint=f"Make one with: {GENERATE}") from None


class SealedTokenStore:
    """``copilot_tools.auth.obo.TokenStore`` in Redis, sealed with ``fernet``."""

    def __init__(self, config: StateConfig, fernet: Any, client: Any = None) -> None:
        if client is None:
            import redis

            client = redis.Redis.from_url(config.state_url, socket_timeout=2, socket_connect_timeout=2,
                                          client_name="copilot-tools")
        self.redis = client
        self.fernet = fernet

    def get(self, key: str) -> tuple[str, float, str] | None:
        sealed = self.redis.get(f"{PREFIX}o:{key}")
        if sealed is None:
            return None
        from cryptography.fernet import InvalidToken

        try:
            data = json.loads(self.fernet.decrypt(bytes(sealed)))
            return str(data["token"]), float(data["expires_at"]), str(data["digest"])
        except (InvalidToken, ValueError, KeyError, TypeError):
            return None  # sealed with a key no longer configured, or damaged: exchange again

    def put(self, key: str, token: str, expires_at: float, assertion_digest: str) -> None:
        ttl = expires_at - time.time()
        if ttl <= 1:
            return
        sealed = self.fernet.encrypt(json.dumps(
            {"token": token, "expires_at": expires_at, "digest": assertion_digest}).encode("utf-8"))
        self.redis.set(f"{PREFIX}o:{key}", sealed, ex=math.floor(ttl))

    def delete(self, key: str) -> None:
        self.redis.delete(f"{PREFIX}o:{key}")


__all__ = ["SealedTokenStore", "sealing_key"]
