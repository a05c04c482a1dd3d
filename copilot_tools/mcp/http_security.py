"""What every request to the HTTP server must pass before MCP or authentication sees it.

DNS rebinding: a web page on ``evil.example`` can make a browser send requests to an address
on the user's machine or network (its name re-resolved to that address), with ``Host:
evil.example`` and ``Origin: https://evil.example``. The MCP transport spec requires servers to
check ``Origin``, and checking ``Host`` stops the rebinding itself. The SDK turns its check on
only when the bind address is literally ``127.0.0.1``, ``localhost`` or ``::1``; here it is
always on, with the allowed values derived from where the server listens:

- a loopback bind (``127.0.0.1``, ``127.0.0.2``, ``::1``, ``localhost``): ``Host`` must be a
  loopback name with the server's port, ``Origin`` (when sent) a loopback origin (any port: a
  page served from this machine, such as the MCP Inspector);
- any other bind (only with authentication): ``Host`` must be the resource URL's host (or the
  bind address, or a loopback name), ``Origin`` the resource URL's origin;
- plus whatever the operator allows (``--allowed-host``/``--allowed-origin``, the environment
  or the ``[mcp]`` table of the config file) for a reverse proxy or a browser-based client.

A refused ``Host`` is 421, a refused ``Origin`` 403, both before authentication (so a request
with a stranger's ``Origin`` is refused whether or not it carries a token). The well-known
metadata documents are public and fetched cross-origin by browser-based clients, so only their
``Host`` is checked.

Auth challenges: the SDK's ``WWW-Authenticate`` is completed with ``scope=`` (the MCP
authorization spec's step-up flow, 2025-11-25) on 401 and 403, and carries no ``error=`` when
the request sent no credentials at all (RFC 6750 section 3.1).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copilot_tools._net import is_loopback_host
from copilot_tools.errors import InvalidInputError

if TYPE_CHECKING:
    from mcp.server.transport_security import TransportSecuritySettings

    from copilot_tools.mcp.http_auth import EntraAuth

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})
#: ``host``, ``host:port`` or ``host:*`` (a bracketed IPv6 literal as host).
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::(?:[0-9]{1,5}|\*))?")
#: ``scheme://host``, ``scheme://host:port`` or ``scheme://host:*``; no path.
_ORIGIN = re.compile(r"https?://" + _HOST.pattern)
_PUBLIC_PREFIX = "/.well-known/"


@dataclass(frozen=True, slots=True)
class TransportSecurity:
    """The ``Host`` and ``Origin`` values the server answers (``name:*`` allows any port)."""

    allowed_hosts: tuple[str, ...]
    allowed_origins: tuple[str, ...]

    def host_allowed(self, host: str | None) -> bool:
        return host is not None and _matches(host.lower(), self.allowed_hosts)

    def origin_allowed(self, origin: str | None) -> bool:
        return origin is None or _matches(origin.lower(), self.allowed_origins)

    def sdk_settings(self) -> TransportSecuritySettings:
        """The same lists as the SDK's ``TransportSecuritySettings`` (its own check, inside the transport)."""
        from mcp.server.transport_security import TransportSecuritySettings

        return TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                         allowed_hosts=list(self.allowed_hosts),
                                         allowed_origins=list(self.allowed_origins))


def _matches(value: str, allowed: Iterable[str]) -> bool:
    for pattern in allowed:
        if value == pattern:
            return True
        if pattern.endswith(":*"):
            base, _, port = value.rpartition(":")
            if base == pattern[:-2] and port.isdigit():
                return True
    return False


def _bracketed(host: str) -> str:
    host = host.strip().strip("[]").lower()
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


def derive(
    bind_host: str,
    port: int,
    *,
    resource_url: str | None = None,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
) -> TransportSecurity:
    """The allowed ``Host`` and ``Origin`` values for a server bound to ``bind_host:port``."""
    hosts: list[str] = []
    origins: list[str] = []
    bind = _bracketed(bind_host)
    loopback = is_loopback_host(bind_host.strip())
    names = list(LOOPBACK_NAMES)
    if bind not in WILDCARD_BINDS and bind.strip("[]") not in WILDCARD_BINDS:
        names.append(bind)
    for name in dict.fromkeys(names):
        hosts.append(f"{name}:{port}" if port else f"{name}:*")
        if port == 80:
            hosts.append(name)
        if loopback:
            origins.append(f"http://{name}:*")
            origins.append(f"http://{name}")
    if resource_url:
        parts = urlsplit(resource_url)
        if parts.hostname:
            netloc = parts.netloc.rsplit("@", 1)[-1].lower()
            hosts.append(netloc)
            if parts.port is None:  # some clients spell out the default port
                hosts.append(f"{netloc}:{443 if parts.scheme.lower() == 'https' else 80}")
            origins.append(f"{parts.scheme.lower()}://{netloc}")
    hosts.extend(h.lower() for h in allowed_hosts)
    origins.extend(o.lower() for o in allowed_origins)
    return TransportSecurity(tuple(dict.fromkeys(hosts)), tuple(dict.fromkeys(origins)))


def parse_allowed(argument: str, values: Iterable[str]) -> tuple[str, ...]:
    """``--allowed-host``/``--allowed-origin`` values (each may hold several, comma-separated),
    checked: a host is ``name[:port|:*]``, an origin ``http(s)://name[:port|:*]`` without a path."""
    shape = _ORIGIN if argument == "allowed_origins" else _HOST
    example = "https://app.contoso.com or http://localhost:*" if argument == "allowed_origins" \
        else "mcp.contoso.com, mcp.contoso.com:8443 or 10.0.0.5:*"
    result: list[str] = []
    for value in values:
        for item in str(value).split(","):
            item = item.strip().rstrip("/") if argument == "allowed_origins" else item.strip()
            if not item:
                continue
            if not shape.fullmatch(item):
                raise InvalidInputError(argument, f"{item[:100]!r} is not a valid value", hint=f"Use e.g. {example}.")
            result.append(item.lower())
    return tuple(result)


class HttpGuard:
    """ASGI middleware: the ``Host``/``Origin`` check and the auth-challenge fixes (module docstring)."""

    def __init__(self, app: ASGIApp, security: TransportSecurity, *, required_scope: str | None = None) -> None:
        self.app = app
        self.security = security
        self.required_scope = required_scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        if not self.security.host_allowed(headers.get("host")):
            await _refuse(send, 421, "Invalid Host header",
                          "This server does not answer that host name; an operator can allow it with --allowed-host.")
            return
        public = str(scope.get("path", "")).startswith(_PUBLIC_PREFIX)
        if not public and not self.security.origin_allowed(headers.get("origin")):
            await _refuse(send, 403, "Invalid Origin header",
                          "Requests from this web origin are refused; an operator can allow it with --allowed-origin.")
            return
        if self.required_scope is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _challenge_fixer(send, self.required_scope, "authorization" in headers))


def guard(app: ASGIApp, security: TransportSecurity, auth: EntraAuth | None = None) -> ASGIApp:
    """``app`` (the SDK's streamable HTTP app, or any app serving MCP) behind ``HttpGuard``."""
    return HttpGuard(app, security, required_scope=auth.config.required_scope if auth is not None else None)


def _challenge_fixer(send: Send, required_scope: str, sent_credentials: bool) -> Send:
    async def fixed(message: Message) -> None:
        if message["type"] == "http.response.start" and message.get("status") in (401, 403):
            message = {**message, "headers": [
                (key, _challenge(value.decode("latin-1"), required_scope, sent_credentials).encode("latin-1"))
                if key.lower() == b"www-authenticate" else (key, value)
                for key, value in message.get("headers", [])
            ]}
        await send(message)

    return fixed


_PARAM = re.compile(r'\s*([A-Za-z_]+)="((?:[^"\\]|\\.)*)"\s*,?')


def _challenge(value: str, required_scope: str, sent_credentials: bool) -> str:
    """``Bearer error=…, resource_metadata=…`` with ``scope`` added, and without ``error``/
    ``error_description`` when no credentials were sent."""
    scheme, _, rest = value.partition(" ")
    if scheme.lower() != "bearer":
        return value
    params = [(m.group(1), m.group(2)) for m in _PARAM.finditer(rest)]
    if not sent_credentials:
        params = [(name, text) for name, text in params if name not in ("error", "error_description")]
    if not any(name == "scope" for name, _ in params):
        params.append(("scope", required_scope))
    return "Bearer " + ", ".join(f'{name}="{text}"' for name, text in params) if params else "Bearer"


async def _refuse(send: Send, status: int, error: str, hint: str) -> None:
    body = json.dumps({"error": error, "hint": hint}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


__all__ = ["HttpGuard", "TransportSecurity", "derive", "guard", "parse_allowed"]
