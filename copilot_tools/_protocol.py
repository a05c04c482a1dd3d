"""Sans-IO protocol: the endpoint catalogue, input validation, request building,
response parsing and error mapping.

Nothing here does I/O, so the sync and async clients share every decision about what
goes on the wire and what comes back; they differ only in how they move bytes.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn, TypedDict
from urllib.parse import SplitResult, quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from typing_extensions import Unpack

from copilot_tools import _json
from copilot_tools._lazy import lazy_pattern
from copilot_tools._net import is_loopback_host
from copilot_tools._redact import redact
from copilot_tools.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConversationNotFoundError,
    InvalidInputError,
    LicenseRequiredError,
    PermissionDeniedError,
    ServiceError,
    ThrottledError,
)
from copilot_tools.settings import DEFAULT_FILE_HOSTS
from copilot_tools._wire import (
    ChatRequest,
    ContextMessage,
    ContextualResources,
    Conversation,
    FileReference,
    GraphError,
    LocationHint,
    RequestMessage,
    WebContext,
    validate_json_fast,
)

GRAPH_BASE = "https://graph.microsoft.com/beta"
WORKIQ_BASE = "https://workiq.svc.cloud.microsoft/rest"
WORKIQ_BETA_BASE = "https://workiq.svc.cloud.microsoft/rest/beta"
# Seed 000 prints /rest/beta/copilot/conversations; that path creates a conversation but
# answers 404 on /chat. The service's working path has no /copilot/ segment, so a base
# URL spelled the seed's way (.../rest/beta/copilot) is read as .../rest/beta.
WORKIQ_CONVERSATIONS_PATH = "conversations"
GRAPH_CONVERSATIONS_PATH = "copilot/conversations"

#: The named endpoints: ``workiq`` is Work IQ's production path (documented since
#: 2026-06-25), ``workiq-beta`` its beta path. Anything else must be a base URL.
NAMED_ENDPOINTS: dict[str, tuple[str, str]] = {
    "graph": (GRAPH_BASE, GRAPH_CONVERSATIONS_PATH),
    "workiq": (WORKIQ_BASE, WORKIQ_CONVERSATIONS_PATH),
    "workiq-beta": (WORKIQ_BETA_BASE, WORKIQ_CONVERSATIONS_PATH),
}

#: How much of an error's code and message from the service the error text quotes.
MAX_ERROR_TEXT = 2_000
#: How much of an error body an ``APIStatusError`` keeps in ``body``.
MAX_ERROR_BODY = 65_536
MAX_FILES = 20
MAX_FILE_URI_LENGTH = 2048
MAX_MESSAGE_LENGTH = 100_000
#: One ``additional_context`` entry, and all of them together (the service's own limit is not
#: documented; these keep a model from sending megabytes nobody meant to send).
MAX_CONTEXT_ENTRY_LENGTH = 100_000
MAX_CONTEXT_TOTAL_LENGTH = 400_000
MAX_CONTEXT_ENTRIES = 50
MAX_CONTEXT_DESCRIPTION_LENGTH = 1_000
MAX_TIME_ZONE_LENGTH = 64
MAX_ENDPOINT_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the Copilot API lives and how its paths are spelled."""

    name: str
    base_url: str
    conversations_path: str = GRAPH_CONVERSATIONS_PATH
    namespaced_actions: bool = False

    @classmethod
    def resolve(cls, value: str, *, workiq_conversations_path: str | None = None) -> Endpoint:
        """``graph``, ``workiq``, ``workiq-beta`` or a base URL (the emulator's, a national cloud's)."""
        key = value.strip()
        if workiq_conversations_path is not None:
            validate_url_path("workiq_conversations_path", workiq_conversations_path)
        named = NAMED_ENDPOINTS.get(key.lower())
        if named is not None:
            base, path = named
            if key.lower().startswith("workiq"):
                path = workiq_conversations_path or path
            return cls(key.lower(), base, path)
        parts = split_base_url("endpoint", key)
        if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
            raise InvalidInputError(
                "endpoint", f"{value!r} is plain http to a non-loopback host; tokens would travel unencrypted",
                hint="Use https, or http only for a local emulator on 127.0.0.1.",
            )
        base = key.rstrip("/")
        path = parts.path.rstrip("/")
        if path.endswith(("/rest/beta/copilot", "/rest/copilot")):
            base, path = base.removesuffix("/copilot"), path.removesuffix("/copilot")
        if path.endswith(("/rest/beta", "/rest")):
            return cls("custom", base, workiq_conversations_path or WORKIQ_CONVERSATIONS_PATH)
        return cls("custom", base)

    @property
    def is_workiq(self) -> bool:
        return self.name in ("workiq", "workiq-beta")

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(urlsplit(self.base_url).hostname or "")

    def url(self, *segments: str) -> str:
        return "/".join([self.base_url, *segments])

    def conversations_url(self) -> str:
        return self.url(self.conversations_path)

    def turn_url(self, conversation_id: str, *, stream: bool, from_service: bool = False) -> str:
        """The turn's URL. An id the service just returned is used as returned (quoted, never
        a path step); an id from a user or a model must look like the service's."""
        action = "chatOverStream" if stream else "chat"
        if self.namespaced_actions:
            action = f"microsoft.graph.copilot.{action}"
        if from_service:
            if conversation_id in ("", ".", ".."):
                raise ServiceError(f"The service returned an unusable conversation id {conversation_id!r}.")
            segment = quote(conversation_id, safe="")
        else:
            # Letters, digits and dashes only: ``quote`` would return it unchanged (0.3 us a turn).
            segment = validate_conversation_id(conversation_id)
        return self.url(self.conversations_path, segment, action)

    def retrieval_url(self) -> str:
        return self.url("copilot", "retrieval")

    def batch_url(self) -> str:
        return self.url("$batch")


# --- validation ---------------------------------------------------------------------------

#: The longest conversation id accepted: the service's ids (and the emulator's) are GUIDs, 36 characters.
MAX_CONVERSATION_ID_LENGTH = 128
_CONVERSATION_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9-]{{0,{MAX_CONVERSATION_ID_LENGTH - 1}}}")
#: A plain ``https://host[:443]/path[?query]``: the only file URL shape that every parser (Python's,
#: browsers', .NET's, the service's) reads the same way. No backslash, no userinfo, no fragment.
_PLAIN_HTTPS_URL = lazy_pattern(
    r"https://(?P<host>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?)"
    r"(?P<port>:443)?(?P<rest>[/?][^\\#\s]*)?",
)
#: An IANA zone name: ``Area/Location`` with letters, digits, ``_ + -``.
_TIME_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}")
#: Files in a zoneinfo directory that ``ZoneInfo`` opens but that are not IANA zone names.
_NOT_ZONES = frozenset({"localtime", "posixrules", "factory"})
_NOT_ZONE_PREFIXES = ("posix/", "right/")
#: ``workiq_conversations_path``: path segments of unreserved characters, no ``..``.
_URL_PATH = lazy_pattern(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){0,7}")


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` for an error message, a string cut at ``limit`` characters: an argument from a
    model or a reply may be megabytes long, and the message quotes it back."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit] + "…")
    return repr(value)


def validate_conversation_id(conversation_id: str) -> str:
    """Only ids shaped like the service's reach a URL (``../../v1.0/me/messages`` never does)."""
    if not isinstance(conversation_id, str) or not _CONVERSATION_ID.fullmatch(conversation_id):
        raise InvalidInputError(
            "conversation_id",
            f"{shown(conversation_id)} does not look like a Copilot conversation id "
            "(letters, digits and dashes, such as a GUID)",
            hint="Use the conversation_id returned by an earlier answer.",
        )
    return conversation_id


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def validate_text(argument: str, text: str) -> str:
    """Text that can travel as JSON and means what it shows: valid Unicode, no control characters."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(
            argument, "it holds bytes that are not valid Unicode text",
            hint="Re-save the input as UTF-8 (it may come from a file in another encoding).",
        ) from None
    match = _CONTROL.search(text)
    if match:
        raise InvalidInputError(
            argument, f"it holds the control character {match.group()!r} at position {match.start()}",
            hint="Remove control characters; tabs and line breaks are fine.",
        )
    return text


def validate_message(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("message", "the question is empty", hint="Ask something.")
    validate_text("message", text)
    if len(text) > MAX_MESSAGE_LENGTH:
        raise InvalidInputError(
            "message",
            f"the question is {len(text):,} characters long; the limit here is {MAX_MESSAGE_LENGTH:,}",
            hint="Move long material into additional_context entries.",
        )
    return text


def validate_time_zone(name: str) -> str:
    """A real IANA zone name, as the service requires.

    The shape is checked before the zone database is asked: ``ZoneInfo`` opens any file under
    the zoneinfo directory (``localtime``, ``posixrules``, ``Factory``, ``posix/…``), none of
    which the service knows, and a very long name raises ``OSError`` from the file system.
    """
    if type(name) is str and name in _VALID_ZONES:
        return name  # every turn names its zone; checked once (0.6 us), then a set lookup
    if (
        not isinstance(name, str) or len(name) > MAX_TIME_ZONE_LENGTH or not _TIME_ZONE.fullmatch(name)
        or name.lower() in _NOT_ZONES or name.lower().startswith(_NOT_ZONE_PREFIXES)
    ):
        raise InvalidInputError("time_zone", f"{shown(name)} is not an IANA time zone",
                                hint="Use e.g. 'Europe/Paris'.")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInputError(
            "time_zone", f"{name!r} is not an IANA time zone", hint="Use e.g. 'America/New_York'."
        ) from None
    if type(name) is str:
        if len(_VALID_ZONES) >= 256:  # far more zones than a process uses; past it, start over
            _VALID_ZONES.clear()
        _VALID_ZONES.add(name)
    return name


#: Zone names ``validate_time_zone`` accepted (the zone database does not change under a process).
_VALID_ZONES: set[str] = set()


def validate_file_uri(uri: str, allowed_hosts: Sequence[str] = DEFAULT_FILE_HOSTS) -> str:
    """An https OneDrive/SharePoint URL on an allowed host, kept exactly as given.

    Only a plain ``https://host/path`` passes: Python's ``urlsplit`` and a browser disagree
    about ``https://evil.com\\.sharepoint.com/a.docx`` (a SharePoint host for one,
    ``evil.com`` for the other), so anything two parsers could read differently (a backslash,
    userinfo, a port other than 443, a fragment, a malformed IPv6 literal) is refused before
    the host is compared with the allow-list.
    """
    if not isinstance(uri, str) or not uri:
        raise InvalidInputError("files", "a file URL is empty")
    if len(uri) > MAX_FILE_URI_LENGTH or any(ord(ch) < 0x20 or ch in " \x7f" for ch in uri):
        raise InvalidInputError("files", f"{uri[:80]!r} has spaces or control characters, or is too long",
                                hint="Paste the file's link as SharePoint shows it (spaces as %20).")
    validate_text("files", uri)
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        _refuse_file(uri, "is not a well-formed URL (a bad port or IPv6 address)")
    plain = _PLAIN_HTTPS_URL().fullmatch(uri)
    host = (plain.group("host") if plain else "").lower().rstrip(".")
    problem = None
    if parts.scheme.lower() != "https":
        problem = "must be an https URL"
    elif "\\" in uri:
        problem = "must not contain a backslash (browsers read it as '/', so the host would not be what it seems)"
    elif parts.username is not None or parts.password is not None or "@" in parts.netloc:
        problem = "must not carry a user name or password"
    elif port not in (None, 443):
        problem = "must not name a port"
    elif parts.fragment or "#" in uri:
        problem = "must not have a #fragment"
    elif _is_ip(parts.hostname or ""):
        problem = "must name a SharePoint or OneDrive host"
    elif plain is None or host != (parts.hostname or "").lower().rstrip("."):
        problem = "is not a plain https://host/path URL"
    elif not any(host == allowed or host.endswith("." + allowed) for allowed in allowed_hosts):
        problem = f"is on {host}, which is not an allowed file host ({', '.join(allowed_hosts)})"
    if problem:
        _refuse_file(uri, problem)
    return uri


def _refuse_file(uri: str, problem: str) -> NoReturn:
    raise InvalidInputError(
        "files", f"{uri[:300]!r} {problem}",
        hint="Pass OneDrive or SharePoint file URLs; other hosts can be allowed with COPILOT_TOOLS_FILE_HOSTS.",
    )


def split_base_url(argument: str, value: str) -> SplitResult:
    """``urlsplit`` of an http(s) base URL (an endpoint, an authority), or ``InvalidInputError``
    naming ``argument``: no backslash, userinfo, query, fragment, whitespace, or malformed host/port."""
    hint = "Use e.g. COPILOT_TOOLS_ENDPOINT=http://127.0.0.1:8000/beta for the emulator."
    shown = f"{value[:200]!r}"
    if len(value) > MAX_ENDPOINT_LENGTH or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidInputError(argument, f"{shown} has spaces or control characters, or is too long", hint=hint)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise InvalidInputError(argument, f"{shown} is not a well-formed URL ({exc})", hint=hint) from None
    problem = None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        aliases = " (nor 'graph', 'workiq' or 'workiq-beta')" if argument == "endpoint" else ""
        problem = "is not an http(s) URL" + aliases
    elif "\\" in value:
        problem = "contains a backslash"
    elif "@" in parts.netloc:
        problem = "must not carry a user name or password"
    elif parts.query or parts.fragment or value.endswith(("?", "#")):
        problem = "must not have a ?query or #fragment"
    if problem:
        raise InvalidInputError(argument, f"{shown} {problem}", hint=hint)
    return parts


#: A Graph connector's connection id, and a managed property name (``resourceMetadata``).
CONNECTION_ID = lazy_pattern(r"[A-Za-z0-9]{3,32}")
PROPERTY_NAME = lazy_pattern(r"[A-Za-z][A-Za-z0-9_]{0,63}")
MAX_NAMES = 50


def validate_names(argument: str, values: Sequence[Any], shape: Callable[[], re.Pattern[str]]) -> list[str]:
    """A short list of identifiers from a model or a caller, each of ``shape()`` (``CONNECTION_ID``...)."""
    names = list(values)
    if len(names) > MAX_NAMES:
        raise InvalidInputError(argument, f"{len(names)} given; at most {MAX_NAMES}")
    for name in names:
        if not isinstance(name, str) or not shape().fullmatch(name):
            raise InvalidInputError(argument, f"{str(name)[:80]!r} is not a valid name (letters and digits)")
    return names


#: A tenant as sign-in takes it: a GUID, a domain (contoso.onmicrosoft.com), or common/organizations.
#: Compiled at sign-in only: 1.2 ms, the costliest pattern of the import (its nested counted repeats).
_TENANT = lazy_pattern(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})){0,10}")


def validate_tenant(tenant: str | None) -> str | None:
    """A tenant id or domain that can only ever be one path segment of the sign-in authority."""
    if tenant is None:
        return None
    if not isinstance(tenant, str) or not _TENANT().fullmatch(tenant.strip()):
        raise InvalidInputError(
            "tenant_id", f"{str(tenant)[:100]!r} is not a tenant id or domain",
            hint="Use the Directory (tenant) ID GUID or a domain such as contoso.onmicrosoft.com.",
        )
    return tenant.strip()


def validate_authority_host(value: str | None) -> str | None:
    """``COPILOT_TOOLS_AUTHORITY``: an https base URL (plain http only on loopback, for test stand-ins),
    since sign-in sends refresh tokens there."""
    if value is None:
        return None
    parts = split_base_url("authority", value.strip().rstrip("/"))
    if parts.scheme != "https" and not is_loopback_host(parts.hostname or ""):
        raise InvalidInputError(
            "authority", f"{value[:200]!r} is plain http: sign-in would send tokens unencrypted",
            hint="Set COPILOT_TOOLS_AUTHORITY to an https URL such as https://login.microsoftonline.us, or unset it.",
        )
    return value.strip()


def validate_url_path(argument: str, path: str) -> str:
    """A relative URL path from a setting (``workiq_conversations_path``): plain segments, no ``..``."""
    if not isinstance(path, str) or not _URL_PATH().fullmatch(path) or ".." in path.split("/"):
        raise InvalidInputError(
            argument, f"{shown(path, 100)} is not a relative path of plain segments",
            hint="Use e.g. 'conversations' or 'copilot/conversations' (letters, digits, - _ . ~ and /).",
        )
    return path


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


# --- requests -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request ready for any HTTP client."""

    method: str
    url: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


def new_request_id() -> str:
    """A random UUID4, formatted as ``str(uuid.uuid4())`` formats it.

    Written out because every attempt makes one (``uuid.UUID`` validates its input and builds an
    int): the same 122 random bits from ``os.urandom``; the version nibble is ``4`` and the variant
    nibble one of ``89ab`` (its top bits ``10``). They are made ``_IDS_AT_ONCE`` at a time, from one
    ``os.urandom`` call (a system call, the dearest step on a loaded machine) and one list
    comprehension: 0.85 us each made one by one, 0.5 us now (best of 5). ``list.pop`` takes
    one in a single step under the GIL, so no two threads get the same; a forked child drops the
    parent's (``os.register_at_fork``) so that the two never send the same id.
    """
    try:
        return _IDS.pop()
    except IndexError:
        digits = os.urandom(16 * _IDS_AT_ONCE).hex()
        _IDS.extend([f"{digits[at:at + 8]}-{digits[at + 8:at + 12]}-4{digits[at + 13:at + 16]}-"
                     f"{_VARIANT[digits[at + 16]]}{digits[at + 17:at + 20]}-{digits[at + 20:at + 32]}"
                     for at in range(0, 32 * _IDS_AT_ONCE, 32)])
        return _IDS.pop()


_IDS: list[str] = []
_IDS_AT_ONCE = 64
#: The variant nibble for each random hex digit: ``89ab`` by its low two bits.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
os.register_at_fork(after_in_child=_IDS.clear)


def build_create_request(endpoint: Endpoint) -> HttpRequest:
    return HttpRequest("POST", endpoint.conversations_url(), json={})


def build_chat_body(
    message: str,
    *,
    time_zone: str,
    files: Sequence[str] = (),
    web_search: bool | None = None,
    additional_context: Sequence[str | Mapping[str, str] | ContextMessage] = (),
    allowed_file_hosts: Sequence[str] = DEFAULT_FILE_HOSTS,
) -> ChatRequest:
    """Validate every argument and build the ``/chat`` body. Raises ``InvalidInputError``."""
    validate_message(message)
    validate_time_zone(time_zone)
    files = as_list(files)
    additional_context = as_list(additional_context)
    if len(files) > MAX_FILES:
        raise InvalidInputError("files", f"{len(files)} files given; at most {MAX_FILES} per turn")
    file_refs = [FileReference(uri=validate_file_uri(uri, allowed_file_hosts)) for uri in files]
    context = _context_messages(additional_context)
    resources = None
    if file_refs or web_search is not None:
        resources = ContextualResources(
            files=file_refs or None,
            web_context=WebContext(is_web_enabled=web_search) if web_search is not None else None,
        )
    return ChatRequest(
        message=RequestMessage(text=message),
        location_hint=LocationHint(time_zone=time_zone),
        additional_context=context or None,
        contextual_resources=resources,
    )


class ChatBodyOptions(TypedDict, total=False):
    """The optional arguments of ``build_chat_body``, as ``chat_body_wire`` passes them on."""

    files: Sequence[str]
    web_search: bool | None
    additional_context: Sequence[str | Mapping[str, str] | ContextMessage]
    allowed_file_hosts: Sequence[str]


def chat_body_wire(message: str, *, time_zone: str, **options: Unpack[ChatBodyOptions]) -> dict[str, Any]:
    """``build_chat_body(...).to_wire()``: the ``/chat`` body as sent, validated the same way.

    A turn without files or context (nearly all of them) is written out as the dict ``to_wire``
    makes: building and dumping the three models cost 5.5 us of a turn's ~100 us over bare httpx
    (benchmarks/client_overhead.py), this 1 us. Only exact ``None``/``True``/``False`` for
    ``web_search`` take this path (pydantic would also read ``1`` or ``"yes"``); anything else
    goes through the models. tests/unit/test_turn_request.py pins the bytes sent.
    """
    web_search = options.get("web_search")
    if (_nothing(options.get("files")) and _nothing(options.get("additional_context"))
            and (web_search is None or type(web_search) is bool)):
        validate_message(message)
        validate_time_zone(time_zone)
        body: dict[str, Any] = {"message": {"text": message}, "locationHint": {"timeZone": time_zone}}
        if web_search is not None:
            body["contextualResources"] = {"webContext": {"isWebEnabled": web_search}}
        return body
    return build_chat_body(message, time_zone=time_zone, **options).to_wire()


def _nothing(value: object) -> bool:
    """None or an empty tuple or list (``as_list`` reads both as no entries)."""
    return value is None or (type(value) is tuple or type(value) is list) and not value


def as_list(value: Any) -> list[Any]:
    """A list argument given as one string (or None) means a list of that one (or none)."""
    if value is None:
        return []
    if isinstance(value, (str, Mapping)):
        return [value]
    return list(value)


def _context_messages(items: list[Any]) -> list[ContextMessage]:
    """Every ``additional_context`` entry checked, within the count and size limits."""
    if len(items) > MAX_CONTEXT_ENTRIES:
        raise InvalidInputError("additional_context", f"{len(items)} entries given; at most {MAX_CONTEXT_ENTRIES}")
    messages = [_context_message(item) for item in items]
    total = sum(len(m.text) for m in messages)
    if total > MAX_CONTEXT_TOTAL_LENGTH:
        raise InvalidInputError(
            "additional_context", f"the entries hold {total:,} characters; the limit is {MAX_CONTEXT_TOTAL_LENGTH:,}",
            hint="Pass only the passages that matter, or share the document as a file.",
        )
    return messages


def _context_message(item: str | Mapping[str, str] | ContextMessage) -> ContextMessage:
    if isinstance(item, ContextMessage):
        message = item
    elif isinstance(item, str):
        message = ContextMessage(text=item)
    elif isinstance(item, Mapping) and isinstance(item.get("text"), str) and (
        item.get("description") is None or isinstance(item.get("description"), str)
    ):
        message = ContextMessage(text=item["text"], description=item.get("description"))
    else:
        raise InvalidInputError(
            "additional_context", "each entry must be a string or {'text': ..., 'description': ...}"
        )
    if not message.text.strip():
        raise InvalidInputError("additional_context", "an entry is empty")
    if len(message.text) > MAX_CONTEXT_ENTRY_LENGTH:
        raise InvalidInputError(
            "additional_context",
            f"an entry is {len(message.text):,} characters long; the limit is {MAX_CONTEXT_ENTRY_LENGTH:,}",
            hint="Pass only the passages that matter, or share the document as a file.",
        )
    validate_text("additional_context", message.text)
    if message.description is not None:
        if len(message.description) > MAX_CONTEXT_DESCRIPTION_LENGTH:
            raise InvalidInputError("additional_context", f"a description is longer than "
                                    f"{MAX_CONTEXT_DESCRIPTION_LENGTH:,} characters")
        validate_text("additional_context", message.description)
    return message


def build_turn_request(
    endpoint: Endpoint, conversation_id: str, body: dict[str, Any], *, stream: bool, from_service: bool = False,
) -> HttpRequest:
    """The turn's POST; ``body`` is what ``chat_body_wire`` gives (``ChatRequest.to_wire()``)."""
    headers = {"Accept": "text/event-stream"} if stream else {}
    url = endpoint.turn_url(conversation_id, stream=stream, from_service=from_service)
    return HttpRequest("POST", url, json=body, headers=headers)


# --- responses ----------------------------------------------------------------------------


def parse_conversation(body: bytes | str | Any, *, request_id: str | None = None) -> Conversation:
    """A ``copilotConversation`` from a response body, or a ``ServiceError`` saying why not."""
    if isinstance(body, bytes) and (fast := validate_json_fast(Conversation, body)) is not None:
        return fast  # the usual reply, read in one step; anything odd takes the tolerant path below
    try:
        data = _json.loads(body) if isinstance(body, (bytes, str)) else body
        return Conversation.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise ServiceError(
            f"The service's answer is not a Copilot conversation ({type(exc).__name__}).",
            hint="This may be a proxy or an outage; try again, and report the request id if it persists.",
            request_id=request_id,
        ) from None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from ``Retry-After`` (delta-seconds or an HTTP date); None when absent, junk or negative.

    A negative value (or a date in the past) must not turn into an immediate retry loop:
    it counts as no advice, and the caller's own back-off applies.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds) or seconds < 0:
        return None  # junk, or a negative delay: back off as if none was given
    return seconds


_CLAIMS = lazy_pattern(r'claims="([^"]*)"')


def parse_claims_challenge(www_authenticate: str | None) -> str | None:
    """The decoded claims of a CAE ``insufficient_claims`` challenge, if there is one."""
    if not www_authenticate or "insufficient_claims" not in www_authenticate:
        return None
    match = _CLAIMS().search(www_authenticate)
    if not match:
        return None
    raw = match.group(1)
    try:
        return base64.b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return raw


_PERMISSIONS_HINT = {
    "graph": "The Chat API needs all seven delegated Graph permissions (Sites.Read.All, Mail.Read, "
    "People.Read.All, OnlineMeetingTranscript.Read.All, Chat.Read, ChannelMessage.Read.All, "
    "ExternalItem.Read.All) with admin consent, and a Microsoft 365 Copilot licence for the user.",
    "workiq": "Work IQ needs the delegated permission WorkIQAgent.Ask with admin consent; "
    "licensing depends on the tenant.",
}


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    endpoint_name: str = "graph",
    operation: str = "request",
    loopback: bool = False,
) -> APIStatusError:
    """The typed error for a non-2xx response. Never includes request headers or tokens.

    ``loopback``: the endpoint is a local emulator, whose only sign-in is the token it was
    started with, so a 401 says so instead of sending the user to ``copilot-tools login``.
    """
    request_id = headers.get("request-id") or headers.get("x-ms-request-id")
    code, message, conversation, inner_request_id = _error_details(body)
    # A proxy may echo the request (its Authorization header) in the body: the message
    # quotes the body, so it is redacted here, before any exception carries it.
    code, message = redact(code), redact(message)
    if request_id is None:
        request_id = inner_request_id
    detail = f"{code}: {message}" if code and message else (message or code or f"HTTP {status}")
    common: dict[str, Any] = {"status_code": status, "code": code or None, "request_id": request_id,
                              "body": body[:MAX_ERROR_BODY]}
    if status == 401:
        claims = parse_claims_challenge(headers.get("www-authenticate"))
        if loopback:
            return AuthenticationError(
                f"The local emulator rejected the access token ({detail}).", claims=claims,
                hint="The emulator was started with --token: pass that same token "
                "(COPILOT_TOOLS_ACCESS_TOKEN, or token= in code).", **common)
        return AuthenticationError(f"The service rejected the access token ({detail}).", claims=claims, **common)
    if status == 403:
        if conversation is not None:
            reply = next((m.text for m in reversed(conversation.messages) if m.text), "")
            return LicenseRequiredError(
                f"Copilot refused the request: {reply or 'no valid licence'}",
                hint=(
                    "Ask an administrator to assign a Microsoft 365 Copilot licence; "
                    "a new licence takes 15–30 minutes to work."
                ),
                **common,
            )
        if re.search(r"licen[cs]e", message, re.IGNORECASE):
            return LicenseRequiredError(f"Copilot is not licensed for this user ({detail}).",
                                        hint=permissions_hint(endpoint_name), **common)
        return PermissionDeniedError(
            f"Permission denied ({detail}).",
            hint=permissions_hint(endpoint_name),
            **common,
        )
    if status in (404, 410) and operation == "turn":
        return ConversationNotFoundError(
            f"The conversation was not found or has expired ({detail}).",
            hint="Start a new conversation (ask without a conversation id).",
            **common,
        )
    if status == 429:
        retry_after = parse_retry_after(headers.get("retry-after"))
        return ThrottledError(f"Copilot is throttling requests ({detail}).", retry_after=retry_after, **common)
    if status >= 500 and "IC3" in message and "403" in message:
        return LicenseRequiredError(
            f"The user lacks a Microsoft 365 (Exchange/Teams) licence that Copilot needs ({detail}).",
            hint="Ask an administrator to assign an Exchange Online and Teams licence; retrying will not help.",
            **common,
        )
    if status >= 500:
        return ServiceError(
            f"The Copilot service failed ({detail}).",
            hint="Try again in a moment; long, broad questions can time out at the gateway.",
            **common,
        )
    if status == 404:
        return BadRequestError(f"The endpoint was not found ({detail}).",
                               hint="Check the endpoint setting (graph, workiq or a base URL).", **common)
    return BadRequestError(f"The service refused the request ({detail}).", **common)


def permissions_hint(endpoint_name: str) -> str:
    return _PERMISSIONS_HINT["workiq" if endpoint_name.startswith("workiq") else "graph"]


def _error_details(body: bytes) -> tuple[str, str, Conversation | None, str | None]:
    """(code, message, a conversation sent as the error, the inner request id), from one parse of ``body``."""
    try:
        data = _json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return "", text[:300], None, None
    if isinstance(data, dict) and "error" in data:
        try:
            error = GraphError.model_validate(data).error
            inner = error.inner_error
            # The message goes into an exception, its redaction and a model's context: keep it a
            # message, however long the service (or a proxy in its place) made it.
            request_id = inner.request_id if inner else None
            return error.code[:MAX_ERROR_TEXT], error.message[:MAX_ERROR_TEXT], None, request_id
        except ValidationError:
            pass
    if isinstance(data, dict) and "messages" in data and "id" in data:
        try:
            return "", "", Conversation.model_validate(data), None
        except ValidationError:
            pass
    return "", json.dumps(data)[:300], None, None
