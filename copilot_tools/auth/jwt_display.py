"""Read a JWT's payload for display only.

Nothing here verifies a signature: the claims are shown to the user (``whoami``) and
used as cache keys next to other checks, never trusted for a security decision. An
access token is opaque to its client by contract, so everything tolerates a token that
is not a JWT at all (``None``).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any


def decode_payload(token: str) -> dict[str, Any] | None:
    """The payload of ``token`` as a dict, WITHOUT verification; None if not a JWT."""
    parts = token.split(".")
    if len(parts) < 3 or not parts[1]:
        return None
    segment = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        payload = json.loads(base64.urlsafe_b64decode(segment.encode("ascii")))
    except (ValueError, UnicodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _time(value: Any) -> str | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def describe_token(token: str) -> dict[str, Any]:
    """The claims worth showing (account, tenant, audience, scopes, expiry); never the token."""
    payload = decode_payload(token) or {}
    scopes = payload.get("scp")
    xms_cc = payload.get("xms_cc")
    return {
        "username": payload.get("preferred_username") or payload.get("upn") or payload.get("unique_name"),
        "name": payload.get("name"),
        "tenant_id": payload.get("tid"),
        "object_id": payload.get("oid"),
        "audience": payload.get("aud"),
        "app_id": payload.get("appid") or payload.get("azp"),
        "scopes": scopes.split() if isinstance(scopes, str) else [],
        "roles": payload.get("roles") or [],
        "issued_at": _time(payload.get("iat")),
        "expires_at": _time(payload.get("exp")),
        "cae": bool(xms_cc and "cp1" in [str(v).lower() for v in (xms_cc if isinstance(xms_cc, list) else [xms_cc])]),
        "is_jwt": bool(payload),
    }
