"""The persistent token cache every front end shares.

The OS's encrypted store where it works (msal-extensions: DPAPI on Windows, the
Keychain on macOS, the Secret Service on Linux). Where it does not (headless Linux,
SSH, containers), a plain file under the user's data directory, readable only by its
owner: the file is 0600 and its directory 0700, and a cache or directory with looser
permissions (or another owner, or a symlink) is refused rather than used. The user is
told once, on stderr, when that file is created.

Several processes (an MCP server per host window, a ``copilot-tools login`` in a
terminal) share the cache: msal-extensions takes a lock file around every write and
reloads before reading when another process wrote; writes here are atomic (temp file
and rename), so a reader never sees half a file. MSAL writes refreshed tokens back
through the same path.

Environment:
- ``COPILOT_TOOLS_TOKEN_CACHE``: the cache file (default: ``<user data dir>/msal_token_cache.json``,
  or ``.bin`` for the encrypted store's file).
- ``COPILOT_TOOLS_TOKEN_CACHE_ENCRYPTION``: ``auto`` (default), ``required`` (refuse the
  plain file), or ``off`` (always the plain file; tests, CI).
"""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot_tools._files import atomic_write
from copilot_tools.errors import AuthenticationError

if TYPE_CHECKING:
    from msal_extensions import PersistedTokenCache  # type: ignore[import-untyped]

ENV_CACHE_PATH = "COPILOT_TOOLS_TOKEN_CACHE"
ENV_ENCRYPTION = "COPILOT_TOOLS_TOKEN_CACHE_ENCRYPTION"
APP_NAME = "copilot-tools"
PLAIN_NAME = "msal_token_cache.json"
ENCRYPTED_NAME = "msal_token_cache.bin"
STATE_NAME = "auth_state.json"

_POSIX = os.name == "posix"
_notice_lock = threading.Lock()
_noticed: set[str] = set()


class TokenCacheError(AuthenticationError):
    """The token cache cannot be used safely (permissions, owner, encryption required)."""

    kind = "invalid_input"


class CorruptTokenCacheError(TokenCacheError):
    """The token cache file does not hold a token cache (garbage, wrong types, bad UTF-8).

    ``path`` is the file. ``copilot-tools login`` and ``logout --all`` set it aside
    (:func:`set_aside`) and carry on; every other command stops with this error.
    """

    kind = "not_signed_in"

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"The token cache {path} is unreadable: {problem}.",
            hint="Run `copilot-tools login` (or `copilot-tools logout --all`): it sets the file aside and "
            "starts a fresh cache; you will sign in again.",
        )
        self.path = path
        self.problem = problem


def check_cache_text(text: str | None, path: Path) -> None:
    """Raise ``CorruptTokenCacheError`` unless ``text`` is a serialized MSAL token cache: an
    object of sections, each a table of entries (JSON objects)."""
    if not text or not text.strip():
        return  # an empty cache
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise CorruptTokenCacheError(path, "it is not JSON") from None
    if not isinstance(data, dict):
        raise CorruptTokenCacheError(path, f"it holds a JSON {type(data).__name__}, not an object")
    for section, entries in data.items():
        if not isinstance(entries, dict) or not all(isinstance(entry, dict) for entry in entries.values()):
            raise CorruptTokenCacheError(path, f"its {str(section)[:40]!r} section is not a table of entries")
        if section in _FLAT_SECTIONS and not all(
            isinstance(value, _SCALARS) for entry in entries.values() for value in entry.values()
        ):
            raise CorruptTokenCacheError(path, f"an entry of its {section!r} section has the wrong types")


#: Sections whose entries MSAL reads as flat records of JSON scalars.
_FLAT_SECTIONS = frozenset({"AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"})
_SCALARS = (str, int, float, bool, type(None))


def set_aside(path: Path) -> Path:
    """Rename ``path`` to ``<name>.corrupt-<UTC time>`` (atomically) and return the new name.

    Nothing is deleted: the user (or a bug report) can still look at the file.
    """
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    os.rename(path, target)  # atomic within a directory; the timestamp makes the name new
    return target


def default_cache_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def cache_path(path: str | os.PathLike[str] | None = None, *, encrypted: bool = False) -> Path:
    """The cache file: ``path``, else ``COPILOT_TOOLS_TOKEN_CACHE``, else the default."""
    chosen = path or os.environ.get(ENV_CACHE_PATH)
    if chosen:
        return Path(chosen).expanduser()
    return default_cache_dir() / (ENCRYPTED_NAME if encrypted else PLAIN_NAME)


def _refuse(path: Path, problem: str, fix: str) -> TokenCacheError:
    return TokenCacheError(f"Refusing the token cache {path}: {problem}.", hint=fix)


def secure_directory(directory: Path) -> None:
    """Create ``directory`` as 0700, or check an existing one is private to this user."""
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _POSIX:
            os.chmod(directory, 0o700)
        return
    if not _POSIX:
        return
    info = os.stat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise _refuse(directory, "it is not a directory", "Point COPILOT_TOOLS_TOKEN_CACHE at a file in a directory.")
    if info.st_uid != os.getuid():
        raise _refuse(directory, "its directory belongs to another user", "Use a directory you own (mode 0700).")
    if info.st_mode & 0o077:
        raise _refuse(
            directory,
            f"its directory is accessible to other users (mode {stat.S_IMODE(info.st_mode):04o})",
            f"Run `chmod 700 {directory}`, then try again.",
        )


def check_file(path: Path, info: os.stat_result | None = None) -> None:
    """Refuse a cache file that is a symlink, not a file, foreign, or not 0600."""
    if not _POSIX:
        return
    if info is None:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return
    if stat.S_ISLNK(info.st_mode):
        raise _refuse(path, "it is a symbolic link", f"Remove {path} and sign in again.")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, "it is not a regular file", f"Remove {path} and sign in again.")
    if info.st_uid != os.getuid():
        raise _refuse(path, "it belongs to another user", f"Remove {path} and sign in again.")
    if info.st_mode & 0o077:
        raise _refuse(
            path,
            f"other users can access it (mode {stat.S_IMODE(info.st_mode):04o}, expected 0600)",
            f"Run `chmod 600 {path}` if nobody else could have read it, otherwise remove it and sign in again.",
        )


def read_private(path: Path) -> str | None:
    """The text of a private file, refusing it when not private; None when absent."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: a symlink
        reason = f"it cannot be opened safely ({exc.strerror})"
        raise _refuse(path, reason, f"Remove {path} and sign in again.") from None
    with os.fdopen(fd, "rb") as handle:
        check_file(path, os.fstat(handle.fileno()))
        data = handle.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptTokenCacheError(path, "it is not UTF-8 text") from None


def _file_persistence_class() -> type:
    from msal_extensions.persistence import FilePersistence, PersistenceNotFound  # type: ignore[import-untyped]

    class SecureFilePersistence(FilePersistence):  # type: ignore[misc]
        """msal-extensions' plain file, with permission checks and atomic writes."""

        def __init__(self, location: str) -> None:
            self._location = location
            self._path = Path(location)

        def save(self, content: str) -> None:
            atomic_write(self._path, content)

        def load(self) -> str:
            """The file's text, checked where the cache deserializes it (``_checked_cache``)."""
            text = read_private(self._path)
            if text is None:
                raise PersistenceNotFound(location=self._location)
            return text

    return SecureFilePersistence


def _checked_cache(persistence: Any, location: Path) -> PersistedTokenCache:
    """msal-extensions' cache whose every load is checked (:func:`check_cache_text`), so a
    corrupt cache is one typed error at once, not an ``AttributeError`` deep inside MSAL
    after three retries."""
    from msal_extensions import PersistedTokenCache

    class CheckedTokenCache(PersistedTokenCache):  # type: ignore[misc]
        def deserialize(self, state: str | None) -> None:
            check_cache_text(state, location)
            super().deserialize(state)

        def search(self, credential_type: Any, **kwargs: Any) -> Any:
            try:
                self._reload_if_necessary()
            except CorruptTokenCacheError:
                raise
            except Exception:  # noqa: BLE001, S110 - a dirty read while another process writes: MSAL retries
                pass
            return super().search(credential_type, **kwargs)

    cache = CheckedTokenCache(persistence)
    cache.copilot_tools_location = str(location)
    return cache


def _notice_once(path: Path, reason: str) -> None:
    key = str(path)
    with _notice_lock:
        if key in _noticed:
            return
        _noticed.add(key)
    print(
        f"copilot-tools: no encrypted credential store is available here ({reason}); "
        f"sign-in tokens will be kept in {path}, readable only by you (mode 0600). "
        f"Set {ENV_ENCRYPTION}=required to refuse this.",
        file=sys.stderr,
        flush=True,
    )


def _encryption_mode(encryption: str | None) -> str:
    mode = (encryption or os.environ.get(ENV_ENCRYPTION) or "auto").strip().lower()
    if mode not in ("auto", "required", "off"):
        raise TokenCacheError(
            f"{ENV_ENCRYPTION} must be auto, required or off, not {mode!r}.", hint="Fix the environment variable."
        )
    return mode


def open_token_cache(
    path: str | os.PathLike[str] | None = None, *, encryption: str | None = None
) -> PersistedTokenCache:
    """The shared persistent MSAL token cache (see the module docstring)."""
    from msal_extensions import build_encrypted_persistence

    mode = _encryption_mode(encryption)
    reason = "encryption turned off"
    if mode != "off":
        location = cache_path(path, encrypted=True)
        secure_directory(location.parent)
        try:
            persistence = build_encrypted_persistence(str(location))
        except Exception as exc:  # noqa: BLE001 - ImportError (no gi), RuntimeError/ValueError (no keyring)
            reason = _keyring_reason(exc)
            if mode == "required":
                raise TokenCacheError(
                    f"The encrypted credential store is not available: {reason}.",
                    hint=f"Unset {ENV_ENCRYPTION} to allow a private (0600) file instead.",
                ) from None
        else:
            return _checked_cache(persistence, location)
    location = cache_path(path)
    secure_directory(location.parent)
    check_file(location)
    if not location.exists():
        _notice_once(location, reason)
        atomic_write(location, "{}")
    return _checked_cache(_file_persistence_class()(str(location)), location)


def _keyring_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ImportError):
        return "the Secret Service bindings (PyGObject, libsecret) are not installed"
    return text[:200]


def describe_cache(cache: Any) -> dict[str, Any]:
    """Where the cache lives and whether it is encrypted (for ``whoami``)."""
    return {
        "location": getattr(cache, "copilot_tools_location", None),
        "encrypted": bool(getattr(cache, "is_encrypted", False)),
    }


# --- small per-user state next to the cache (the default account) -------------------


def state_path(cache: Any) -> Path | None:
    location = getattr(cache, "copilot_tools_location", None)
    return Path(location).parent / STATE_NAME if location else None


def read_state(cache: Any) -> dict[str, Any]:
    path = state_path(cache)
    if path is None:
        return {}
    try:
        text = read_private(path)
    except TokenCacheError:
        return {}
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def write_state(cache: Any, **values: Any) -> None:
    path = state_path(cache)
    if path is None:
        return
    data = read_state(cache)
    for key, value in values.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True))
