"""The tenant folder: documents, connector items, people, calendar and sensitivity labels.

Two layouts are read. A *tenant folder* (like the bundled ``tenant/contoso``) has
``documents/`` and optionally ``connectors/``, ``people.json``, ``calendar.json`` and
``labels.json``. A *plain folder* of a user's ``.md``/``.txt`` notes is served as one
SharePoint site, each file with a synthetic https URL, so the client's file-URL checks
(https, SharePoint host) hold for it too. Loading is cached per process: the demo and
the tests start many emulators on the same folder.

A user's folder is often a checkout: hidden folders (``.git``, ``.venv``) and tool folders
(``node_modules``, ``__pycache__``) are not walked at all, and a file that is not UTF-8
text, or has no text once its front matter is set aside, is skipped with a warning
(``copilot-tools emulator`` prints the warnings) instead of being served empty.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from copilot_tools.emulator.markdown import (
    Section,
    first_heading,
    parse_front_matter,
    parse_sections,
)

TENANT_DIR = Path(__file__).parent / "tenant" / "contoso"
DOCUMENT_SUFFIXES = (".md", ".markdown", ".txt")
LOCAL_SITE_URL = "https://contoso.sharepoint.com/sites/Local/Shared%20Documents/"
LOCAL_SITE_ID = "5b0c6d5e-3f1a-4c57-9a39-2f0d6c8e1a01"
_TENANT_FILES = ("people.json", "calendar.json", "labels.json", "README.md", "readme.md")
_TOOL_FOLDERS = frozenset({"node_modules", "__pycache__"})
EMBEDDED = "sharePointEmbedded"
SOURCES = ("sharePoint", "oneDriveBusiness", "externalItem", EMBEDDED)


class CorpusError(ValueError):
    """The folder cannot be served; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class Label:
    """A sensitivity label as ``labels.json`` lists it (Graph's searchSensitivityLabelInfo); its fields
    are those of the wire model ``SensitivityLabel``, which ``payloads`` fills field for field."""

    sensitivity_label_id: str
    display_name: str
    tooltip: str | None = None
    priority: int = 0
    color: str | None = None
    is_encrypted: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Document:
    """A SharePoint/OneDrive file or a connector item; ``source`` is the retrieval data source."""

    key: str
    title: str
    filename: str
    web_url: str
    source: str
    sections: tuple[Section, ...]
    site: str = ""
    site_id: str = ""
    author: str = ""
    modified_by: str = ""
    created: datetime | None = None
    modified: datetime | None = None
    label: Label | None = None
    connection_id: str | None = None
    container_type_id: str | None = None

    @property
    def extension(self) -> str:
        return self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""

    @property
    def is_file(self) -> bool:
        return self.source != "externalItem"

    @property
    def is_embedded(self) -> bool:
        """A SharePoint Embedded file: retrievable with its container type, never in chat answers."""
        return self.source == EMBEDDED


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    display_name: str
    mail: str = ""
    user_principal_name: str = ""
    job_title: str = ""
    department: str = ""
    office_location: str = ""
    manager: str | None = None
    phone: str = ""
    is_me: bool = False


@dataclass(frozen=True, slots=True)
class Event:
    """A calendar entry; dates are relative (``day_offset`` from today, in the caller's zone)."""

    id: str
    subject: str
    organizer: str
    attendees: tuple[str, ...]
    day_offset: int
    start: time
    end: time
    recurrence: str = "none"
    location: str = ""
    online: bool = False
    response_status: str = "none"
    body: str = ""
    web_url: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Corpus:
    root: Path
    documents: tuple[Document, ...]
    people: tuple[Person, ...] = ()
    events: tuple[Event, ...] = ()
    labels: tuple[Label, ...] = ()
    warnings: tuple[str, ...] = ()
    _by_url: dict[str, Document] = field(default_factory=dict, repr=False)

    def document_for_url(self, url: str) -> Document | None:
        """The file a ``contextualResources.files`` URI names, compared as the service would."""
        return self._by_url.get(normalize_url(url))

    def person(self, name: str | None) -> Person | None:
        if not name:
            return None
        folded = name.casefold()
        return next((p for p in self.people if p.display_name.casefold() == folded), None)

    @property
    def me(self) -> Person | None:
        return next((p for p in self.people if p.is_me), None)


def normalize_url(url: str) -> str:
    """Percent-decoded, host case-folded, no trailing slash: how two spellings of a URL meet."""
    parts = urlsplit(url.strip())
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), unquote(parts.path).rstrip("/"), unquote(parts.query), "")
    )


def _timestamp(value: str | None, where: str, warnings: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        warnings.append(f"{where}: {value!r} is not an ISO 8601 date; ignored")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_json_list(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise CorpusError(f"{path}: expected a JSON array of objects")
    return data


def _labels(root: Path) -> tuple[Label, ...]:
    return tuple(
        Label(
            sensitivity_label_id=str(item["sensitivityLabelId"]),
            display_name=str(item.get("displayName") or ""),
            tooltip=item.get("tooltip") or item.get("toolTip"),
            priority=int(item.get("priority") or 0),
            color=item.get("color"),
            is_encrypted=bool(item.get("isEncrypted")),
        )
        for item in _read_json_list(root / "labels.json")
        if item.get("sensitivityLabelId")
    )


def _people(root: Path) -> tuple[Person, ...]:
    return tuple(
        Person(
            id=str(item.get("id") or ""),
            display_name=str(item["displayName"]),
            mail=str(item.get("mail") or ""),
            user_principal_name=str(item.get("userPrincipalName") or ""),
            job_title=str(item.get("jobTitle") or ""),
            department=str(item.get("department") or ""),
            office_location=str(item.get("officeLocation") or ""),
            manager=item.get("manager"),
            phone=str(item.get("phone") or ""),
            is_me=bool(item.get("isMe")),
        )
        for item in _read_json_list(root / "people.json")
        if item.get("displayName")
    )


def _clock(value: Any, where: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise CorpusError(f"{where}: {value!r} is not an HH:MM time") from None


def _events(root: Path) -> tuple[Event, ...]:
    path = root / "calendar.json"
    events = []
    for item in _read_json_list(path):
        where = f"{path} ({item.get('subject', '?')})"
        events.append(
            Event(
                id=str(item.get("id") or item.get("subject")),
                subject=str(item.get("subject") or "(no subject)"),
                organizer=str(item.get("organizer") or ""),
                attendees=tuple(str(a) for a in item.get("attendees") or ()),
                day_offset=int(item.get("day_offset") or 0),
                start=_clock(item.get("start", "09:00"), where),
                end=_clock(item.get("end", item.get("start", "09:30")), where),
                recurrence=str(item.get("recurrence") or "none"),
                location=str(item.get("location") or ""),
                online=bool(item.get("online")),
                response_status=str(item.get("responseStatus") or "none"),
                body=str(item.get("body") or ""),
                web_url=str(item.get("web_url") or ""),
            )
        )
    return tuple(events)


def _local_url(relative: str) -> str:
    return LOCAL_SITE_URL + quote(relative, safe="/")


def _text_of(path: Path, relative: str, warnings: list[str]) -> str | None:
    """The file's text, or None (with a warning) when it is not UTF-8 text."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        warnings.append(f"{relative}: not UTF-8 text (a binary file?); skipped")
        return None
    return text


def _document(
    path: Path, root: Path, labels: dict[str, Label], warnings: list[str], *, connector: bool
) -> Document | None:
    """The document of ``path``, or None (with a warning) when it has nothing to serve."""
    relative = path.relative_to(root).as_posix()
    text = _text_of(path, relative, warnings)
    if text is None:
        return None
    meta, body = parse_front_matter(text)
    if path.suffix.lower() == ".txt" and not meta:
        body = text
    sections = parse_sections(body)
    if not any(section.units for section in sections):
        warnings.append(f"{relative}: no text to serve (empty, or only front matter and headings); skipped")
        return None
    label = None
    label_ref = meta.get("sensitivity_label")
    if label_ref:
        label = labels.get(label_ref) or labels.get(label_ref.casefold())
        if label is None:
            warnings.append(f"{relative}: sensitivity label {label_ref!r} is not in labels.json; ignored")
    source = meta.get("source") or ("externalItem" if connector else "sharePoint")
    if source not in SOURCES:
        warnings.append(f"{relative}: source {source!r} is not one of {', '.join(SOURCES)}")
        source = "sharePoint"
    if source == EMBEDDED and not meta.get("container_type_id"):
        warnings.append(f"{relative}: a sharePointEmbedded file needs a container_type_id; skipped")
        return None
    title = meta.get("title") or first_heading(body) or path.stem.replace("-", " ").replace("_", " ")
    return Document(
        key=relative,
        title=title,
        filename=meta.get("filename") or path.name,
        web_url=meta.get("web_url") or _local_url(relative),
        source=source,
        sections=sections,
        site=meta.get("site") or ("Local" if not meta.get("web_url") else ""),
        site_id=meta.get("site_id") or (LOCAL_SITE_ID if not meta.get("web_url") else ""),
        author=meta.get("author", ""),
        modified_by=meta.get("modified_by") or meta.get("author", ""),
        created=_timestamp(meta.get("created"), relative, warnings),
        modified=_timestamp(meta.get("modified"), relative, warnings)
        or datetime.fromtimestamp(int(path.stat().st_mtime), UTC),
        label=label,
        connection_id=meta.get("connection_id") or (path.parent.name if connector else None),
        container_type_id=meta.get("container_type_id") or None,
    )


def _files(folder: Path) -> list[Path]:
    """The .md/.txt files under ``folder``, hidden and tool folders left unwalked."""
    found: list[Path] = []
    for top, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".") and name not in _TOOL_FOLDERS]
        for name in names:
            path = Path(top, name)
            if not name.startswith(".") and path.suffix.lower() in DOCUMENT_SUFFIXES and path.is_file():
                found.append(path)
    return sorted(found)


@lru_cache(maxsize=16)
def _load(root: Path) -> Corpus:
    if not root.is_dir():
        raise CorpusError(f"{root} is not a folder")
    warnings: list[str] = []
    label_list = _labels(root)
    labels = {label.sensitivity_label_id: label for label in label_list}
    labels |= {label.display_name.casefold(): label for label in label_list}
    tenant_layout = (root / "documents").is_dir()
    if tenant_layout:
        paths = [(p, False) for p in _files(root / "documents")]
        if (root / "connectors").is_dir():
            paths += [(p, True) for p in _files(root / "connectors")]
    else:
        paths = [(p, False) for p in _files(root) if p.relative_to(root).as_posix() not in _TENANT_FILES]
    documents = tuple(
        document for p, c in paths if (document := _document(p, root, labels, warnings, connector=c)) is not None
    )
    if not documents:
        skipped = f" ({len(paths)} skipped: {'; '.join(warnings[:3])})" if paths else ""
        raise CorpusError(f"{root} holds no .md or .txt documents with text{skipped}")
    by_url: dict[str, Document] = {}
    for document in documents:
        key = normalize_url(document.web_url)
        if key in by_url:
            warnings.append(f"{document.key}: same web_url as {by_url[key].key}; the first one wins")
        by_url.setdefault(key, document)
    return Corpus(
        root=root,
        documents=documents,
        people=_people(root),
        events=_events(root),
        labels=label_list,
        warnings=tuple(warnings),
        _by_url=by_url,
    )


def load_corpus(folder: Path | str | None = None) -> Corpus:
    """The corpus of ``folder`` (the bundled Contoso tenant when None), loaded once per process."""
    return _load(Path(folder).expanduser().resolve() if folder is not None else TENANT_DIR.resolve())
