"""Sign-in errors richer than a plain ``AuthenticationError``.

Both are ``AuthenticationError`` subclasses, so the clients' contract holds: a provider
that cannot produce a token raises an ``AuthenticationError``. None of them ever
carries a token.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from copilot_tools.errors import AuthenticationError, PermissionDeniedError


class SignInRequiredError(AuthenticationError):
    """Nobody is signed in yet; a device-code sign-in is waiting for the user.

    Raised at once (never after more than about a second) by the background provider
    that MCP stdio servers use. A flow keeps polling in the background: the user opens
    ``verification_uri``, enters ``user_code``, and the next call succeeds.
    ``expires_at`` is a Unix time; ``flow_id`` is stable for one flow (an MCP URL
    elicitation id, for instance).
    """

    kind = "not_signed_in"

    def __init__(
        self,
        *,
        verification_uri: str,
        user_code: str,
        expires_at: float,
        flow_id: str,
        claims: str | None = None,
        message: str | None = None,
        previous_error: str | None = None,
    ) -> None:
        self.verification_uri = verification_uri
        self.user_code = user_code
        self.expires_at = expires_at
        self.flow_id = flow_id
        self.previous_error = previous_error
        text = message or (
            f"Sign-in required: open {verification_uri} and enter the code {user_code} "
            f"to sign in to Microsoft 365 (the code expires in {self.expires_in_minutes} min)."
        )
        if previous_error:
            text = f"{previous_error} {text}"
        super().__init__(
            text,
            claims=claims,
            hint=(
                "Show this to the user: only their own sign-in makes the code useful. "
                "The request succeeds once they have signed in; or run `copilot-tools login` in a terminal."
            ),
        )

    @property
    def expires_in_minutes(self) -> int:
        return max(0, round((self.expires_at - time.time()) / 60))

    @property
    def expires_at_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, tz=UTC)

    def to_dict(self) -> dict[str, Any]:
        """Structured form for tool results (no secrets: the code needs the user's sign-in)."""
        return {
            "error": "sign_in_required",
            "message": self.message,
            "verification_uri": self.verification_uri,
            "user_code": self.user_code,
            "expires_at": self.expires_at_datetime.isoformat(),
            "flow_id": self.flow_id,
        }


class ConsentRequiredError(AuthenticationError, PermissionDeniedError):
    """The app lacks (admin) consent for the permissions (AADSTS65001 and kin).

    An ``AuthenticationError`` for the clients, a permission problem for people: its
    ``kind`` makes the CLI exit with the permission code.
    """

    kind = "permission_denied"


class SignInFailedError(AuthenticationError):
    """An interactive sign-in ended without a token (declined, expired, blocked)."""

    kind = "not_signed_in"


_CONSENT_CODES = ("AADSTS65001", "AADSTS650052", "AADSTS90094", "AADSTS90008")
_HINTS: tuple[tuple[str, str], ...] = (
    ("AADSTS700016", "The client id is not known in this tenant: check `client_id`, or register an app (README, Sign-in)."),
    ("AADSTS7000218", "The app registration must allow public client flows (Authentication > Allow public client flows: Yes)."),
    ("AADSTS50020", "Use a work or school account of the tenant; personal Microsoft accounts cannot use Copilot."),
    ("AADSTS53003", "Conditional Access blocked this sign-in (often device code): try `copilot-tools login` without --device-code on a desktop, or ask your admin."),
    ("AADSTS530084", "A token-protection policy applies: sign in on a managed Windows or macOS desktop with the system browser."),
    ("AADSTS50076", "Multi-factor authentication is required: sign in again interactively."),
    ("AADSTS50079", "Multi-factor authentication registration is required: sign in again interactively."),
    ("AADSTS70043", "The saved sign-in expired under a sign-in frequency policy: sign in again."),
    ("AADSTS700082", "The saved sign-in expired after a long time unused: sign in again."),
    ("AADSTS50173", "The password changed since the last sign-in: sign in again."),
)


def _first_line(description: str) -> str:
    text = description.strip().splitlines()[0] if description.strip() else ""
    return text.split(" Trace ID:")[0].strip()


def error_from_msal_result(
    result: dict[str, Any],
    *,
    action: str,
    client_id: str,
    tenant: str | None,
    authority_host: str = "https://login.microsoftonline.com",
    hint: str | None = None,
) -> AuthenticationError:
    """The typed error for an MSAL error dict (never includes a token: MSAL error dicts have none)."""
    from copilot_tools.auth.scopes import admin_consent_url

    error = str(result.get("error") or "unknown_error")
    description = _first_line(str(result.get("error_description") or ""))
    claims = result.get("claims") or None
    summary = f"{action} failed: {description or error}"
    codes = result.get("error_codes") or []
    text = f"{error} {description} {' '.join(f'AADSTS{c}' for c in codes)}"
    if error == "consent_required" or result.get("suberror") == "consent_required" or any(
        code in text for code in _CONSENT_CODES
    ):
        return ConsentRequiredError(
            summary,
            hint=(
                "The permissions have not been granted to this app. A tenant administrator can grant "
                f"them for everyone at {admin_consent_url(client_id, tenant, authority_host=authority_host)} "
                "(or register your own app, README: Sign-in)."
            ),
        )
    if error == "authorization_declined":
        return SignInFailedError("The sign-in was declined.", hint="Run `copilot-tools login` again to retry.")
    if error in ("expired_token", "code_expired"):
        return SignInFailedError(
            "The sign-in code expired before it was used.", hint="Run `copilot-tools login` again for a new code."
        )
    for code, code_hint in _HINTS:
        if code in text:
            return SignInFailedError(summary, hint=code_hint, claims=claims)
    if error == "invalid_grant" and action.startswith("Refreshing"):
        return AuthenticationError(
            f"The saved sign-in is no longer valid (expired or revoked): {description or error}",
            hint="Sign in again with `copilot-tools login`.",
            claims=claims,
        )
    if hint is not None:
        return AuthenticationError(summary, claims=claims, hint=hint)
    return AuthenticationError(summary, claims=claims)
