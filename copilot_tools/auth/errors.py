"""Turning MSAL's error dicts into the typed sign-in errors.

The classes live in ``copilot_tools.errors`` (one tree); they are re-exported here for
the code that imported them from this module. All are ``AuthenticationError``
subclasses, so the clients' contract holds: a provider that cannot produce a token
raises an ``AuthenticationError``. None of them ever carries a token.
"""

from __future__ import annotations

from typing import Any

from copilot_tools.errors import (
    AuthenticationError,
    ConsentRequiredError,
    SignInFailedError,
    SignInRequiredError,
)

__all__ = ["ConsentRequiredError", "SignInFailedError", "SignInRequiredError", "error_from_msal_result"]


_CONSENT_CODES = ("AADSTS65001", "AADSTS650052", "AADSTS90094", "AADSTS90008")
_HINTS: tuple[tuple[str, str], ...] = (
    (
        "AADSTS700016",
        "The client id is not known in this tenant: check `client_id`, or register an app (README, Sign-in).",
    ),
    (
        "AADSTS7000218",
        "The app registration must allow public client flows (Authentication > Allow public client flows: Yes).",
    ),
    ("AADSTS50020", "Use a work or school account of the tenant; personal Microsoft accounts cannot use Copilot."),
    (
        "AADSTS53003",
        "Conditional Access blocked this sign-in (often device code): "
        "try `copilot-tools login` without --device-code on a desktop, or ask your admin.",
    ),
    (
        "AADSTS530084",
        "A token-protection policy applies: sign in on a managed Windows or macOS desktop with the system browser.",
    ),
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
