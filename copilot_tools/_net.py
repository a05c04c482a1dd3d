"""Where a host or URL points: the one place that decides what counts as this machine.

Plain http, unauthenticated servers and the emulator's no-sign-in mode are allowed only on
loopback, so every such decision in the package goes through these two functions.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address: the only hosts plain http and unauthenticated servers may use."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_url(endpoint: str) -> bool:
    """True for a plain-http URL on this machine (the emulator), which needs no sign-in."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme != "http" or not parts.hostname:
        return False
    return is_loopback_host(parts.hostname)
