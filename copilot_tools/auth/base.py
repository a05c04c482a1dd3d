"""The one interface between token sources and the clients.

The clients ask a provider for a bearer token right before each request. On a plain
401 they ask again with ``force_refresh=True`` (once); on a 401 carrying a
continuous-access-evaluation claims challenge they ask with ``claims=`` (once). A
provider that can do neither simply returns its token again, and the second 401 then
reaches the caller as an ``AuthenticationError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from copilot_tools.errors import AuthenticationError

if TYPE_CHECKING:
    from pydantic import SecretStr


@runtime_checkable
class TokenProvider(Protocol):
    """Anything that can hand out a bearer token for the configured endpoint."""

    def get_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str: ...


@runtime_checkable
class AsyncTokenProvider(Protocol):
    """A provider with a native async path (the async client prefers it when present)."""

    async def aget_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str: ...


class StaticTokenProvider:
    """A token the caller already has (argument or ``COPILOT_TOOLS_ACCESS_TOKEN``).

    It cannot refresh: when the service rejects it, the error tells the user to get a
    new one rather than retrying forever.
    """

    def __init__(self, token: str | SecretStr) -> None:
        # Not at import: ``SecretStr`` loads pydantic's model machinery (~27 ms), which the client's
        # import does without (see ``copilot_tools.client``); a client's construction loads it anyway.
        from pydantic import SecretStr

        secret = token if isinstance(token, SecretStr) else SecretStr(token)
        value = secret.get_secret_value()
        if not value.strip():
            raise AuthenticationError("The access token is empty.")
        if not (value.isascii() and value.isprintable()):
            # It could not travel in a header: httpx or h11 would refuse it later, quoting it.
            raise AuthenticationError(
                "The access token holds a line break, a control character or non-ASCII text.",
                hint="Pass the token alone, as issued (a token read from a file may end with a line break).",
            )
        self._token = secret

    def get_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
        return self._token.get_secret_value()

    async def aget_token(self, *, claims: str | None = None, force_refresh: bool = False) -> str:
        return self._token.get_secret_value()

    def __repr__(self) -> str:
        return "StaticTokenProvider(token=SecretStr('**********'))"
