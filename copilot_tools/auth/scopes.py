"""Which permissions each endpoint needs, and which app asks for them by default.

Pure data and string handling: no MSAL, no I/O.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from copilot_tools._net import is_loopback_url
from copilot_tools.errors import InvalidInputError

GRAPH_RESOURCE = "https://graph.microsoft.com"

#: The delegated Graph permissions the Chat API requires (all seven), then Retrieval's
#: extra one (it also uses Sites.Read.All and ExternalItem.Read.All, already listed).
GRAPH_PERMISSIONS: tuple[str, ...] = (
    "Sites.Read.All",
    "Mail.Read",
    "People.Read.All",
    "OnlineMeetingTranscript.Read.All",
    "Chat.Read",
    "ChannelMessage.Read.All",
    "ExternalItem.Read.All",
    "Files.Read.All",
)

WORKIQ_RESOURCE = "api://workiq.svc.cloud.microsoft"
WORKIQ_PERMISSIONS: tuple[str, ...] = ("WorkIQAgent.Ask",)

#: Microsoft Graph Command Line Tools: a Microsoft-published multi-tenant public client
#: that may request any delegated Graph permission with dynamic consent and has
#: ``http://localhost`` and device code enabled. Tenants can block it; then register
#: your own app (README "Sign-in") and set ``client_id``.
GRAPH_DEFAULT_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
#: The Work IQ CLI's public client: Microsoft's Work IQ admin guide has admins consent
#: ``WorkIQAgent.Ask`` for exactly this id, so it works wherever Work IQ was set up.
WORKIQ_DEFAULT_CLIENT_ID = "ba081686-5d24-4bc6-a0d6-d034ecffed87"

#: Work or school accounts only: the Copilot APIs are delegated and have no MSA variant.
DEFAULT_TENANT = "organizations"

_WORKIQ_HOSTS = ("workiq.svc.cloud.microsoft",)

#: An Entra application (client) id: a GUID, as the admin centre shows it.
_CLIENT_ID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
#: What a GUID mistyped is made of (a secret has other letters and ``~``): quoted in the error.
_GUID_CHARACTERS = re.compile(r"[0-9A-Fa-f{}\- ]{0,60}")


def endpoint_kind(endpoint: str) -> str:
    """``graph``, ``workiq``, ``emulator`` or ``custom`` for a Settings.endpoint value."""
    key = endpoint.strip()
    if key.lower() in ("graph", "workiq", "workiq-beta"):
        return key.lower().removesuffix("-beta")
    if is_loopback_url(key):
        return "emulator"
    parts = urlsplit(key)
    host = (parts.hostname or "").lower()
    path = parts.path.rstrip("/")
    if host in _WORKIQ_HOSTS or path.endswith(("/rest/beta", "/rest", "/rest/beta/copilot", "/rest/copilot")):
        return "workiq"
    if host.startswith(("graph.", "dod-graph.", "microsoftgraph.")):
        return "graph"
    return "custom"


def _graph_resource(endpoint: str) -> str:
    """``https://<host>`` for a national-cloud Graph URL, the public cloud otherwise."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme == "https" and parts.hostname:
        return f"https://{parts.hostname.lower()}"
    return GRAPH_RESOURCE


def scopes_for_endpoint(endpoint: str, *, default_scope: bool = False) -> list[str]:
    """The scopes to request for ``endpoint`` (``graph``, ``workiq`` or a base URL).

    ``default_scope=True`` asks for ``<resource>/.default`` (whatever was consented),
    which credentials such as the Azure CLI's require. An https URL that is neither
    Graph nor Work IQ gets ``https://<host>/.default``.
    """
    kind = endpoint_kind(endpoint)
    if kind == "emulator":
        return []
    if kind == "graph":
        resource, permissions = _graph_resource(endpoint), GRAPH_PERMISSIONS
    elif kind == "workiq":
        resource, permissions = WORKIQ_RESOURCE, WORKIQ_PERMISSIONS
    else:
        parts = urlsplit(endpoint.strip())
        return [f"https://{(parts.hostname or '').lower()}/.default"]
    if default_scope:
        return [f"{resource}/.default"]
    return [f"{resource}/{permission}" for permission in permissions]


def default_client_id(endpoint: str) -> str:
    """The public client used when no ``client_id`` is configured (see the constants)."""
    return WORKIQ_DEFAULT_CLIENT_ID if endpoint_kind(endpoint) == "workiq" else GRAPH_DEFAULT_CLIENT_ID


def validate_client_id(client_id: str, *, argument: str = "client_id") -> str:
    """``client_id`` (stripped) if it is an application (client) id, else an ``InvalidInputError``.

    The id goes to the sign-in service and into the admin-consent link people are shown:
    anything but a GUID is a mistake (an app's name, a URL, a stray character)
    that would otherwise surface only as a sign-in failure, or as a misleading link.
    """
    if not _CLIENT_ID.fullmatch(client_id.strip()):
        # A near-GUID is quoted, to show the stray character; anything else only by its length: a
        # client secret pasted in the wrong place would otherwise land on stderr and in server logs.
        given = repr(client_id) if _GUID_CHARACTERS.fullmatch(client_id) else f"a value of {len(client_id)} characters"
        raise InvalidInputError(
            argument,
            f"{given} is not an application (client) id, which is a GUID such as {GRAPH_DEFAULT_CLIENT_ID}",
            hint="Copy it from the Microsoft Entra admin centre: App registrations, your app, "
            '"Application (client) ID"; or unset it to sign in with the default app.',
        )
    return client_id.strip()


def short_scope_names(scopes: list[str] | tuple[str, ...] | str) -> list[str]:
    """``Mail.Read`` for ``https://graph.microsoft.com/Mail.Read`` (for display)."""
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    return [item.rsplit("/", 1)[-1] if "://" in item else item for item in items]


def admin_consent_url(
    client_id: str, tenant: str | None, *, authority_host: str = "https://login.microsoftonline.com"
) -> str:
    """Where a tenant administrator grants the permissions for every user at once.

    The values are validated where they enter (``Settings``); they are quoted here too, so a
    value that bypassed that check can still not add a path, a query or a fragment to the link.
    """
    tenant_part = quote(tenant, safe="") if tenant and tenant not in ("organizations", "common") else "{your-tenant-id}"
    return f"{authority_host.rstrip('/')}/{tenant_part}/adminconsent?client_id={quote(client_id, safe='')}"
