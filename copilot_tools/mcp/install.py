"""``copilot-tools mcp install claude-desktop``: add this server to Claude Desktop's config.

The config file is the user's: other servers and settings in it are kept as they are,
the old file is backed up next to it, the new one replaces it atomically (a crash leaves
the old or the new file, never half of one), and a file that does not parse is left
alone with an error rather than overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copilot_tools.errors import InvalidInputError
from copilot_tools._files import atomic_write


def claude_desktop_config_path() -> Path:
    """Where Claude Desktop reads its MCP servers on this platform."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / "Claude" / "claude_desktop_config.json"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "Claude" / "claude_desktop_config.json"


def server_command() -> tuple[str, list[str]]:
    """An absolute command that starts ``copilot-tools mcp`` with this installation.

    Claude Desktop does not start servers from the user's shell, so a bare
    ``copilot-tools`` may not be on its PATH; the script beside this interpreter (the
    same virtual environment) is preferred, then one on PATH, then ``python -m``.
    """
    scripts = Path(sys.executable).parent
    for name in ("copilot-tools", "copilot-tools.exe"):
        candidate = scripts / name
        if candidate.is_file():
            return str(candidate), ["mcp"]
    found = shutil.which("copilot-tools")
    if found:
        return found, ["mcp"]
    return sys.executable, ["-m", "copilot_tools", "mcp"]


def server_entry(env: dict[str, str]) -> dict[str, Any]:
    command, args = server_command()
    entry: dict[str, Any] = {"command": command, "args": args}
    if env:
        entry["env"] = env
    return entry


@dataclass(frozen=True, slots=True)
class InstallResult:
    path: Path
    action: str  # "added", "updated" or "unchanged"
    backup: Path | None


def install_entry(path: Path, name: str, entry: dict[str, Any], *, force: bool = False) -> InstallResult:
    """Put ``entry`` under ``mcpServers[name]`` in the JSON file at ``path``."""
    config = _read(path)
    servers = config.setdefault("mcpServers", {})
    if not isinstance(servers, dict):
        raise InvalidInputError("config file", f"{path}: \"mcpServers\" is not a JSON object",
                                hint="Fix the file by hand; it was left unchanged.")
    existing = servers.get(name)
    if existing == entry:
        return InstallResult(path, "unchanged", None)
    if existing is not None and not force:
        raise InvalidInputError(
            "name", f"{path} already has a different MCP server named {name!r}",
            hint="Pass --force to replace it (the old file is backed up), or --name to add another.",
        )
    servers[name] = entry
    backup = _backup(path) if path.exists() else None
    _write_atomically(path, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return InstallResult(path, "updated" if existing is not None else "added", backup)


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        config = json.loads(text) if text.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError("config file", f"{path} is not valid JSON ({exc})",
                                hint="Fix the file by hand (or move it away); it was left unchanged.") from None
    if not isinstance(config, dict):
        raise InvalidInputError("config file", f"{path} does not hold a JSON object",
                                hint="Fix the file by hand (or move it away); it was left unchanged.")
    return config


def _backup(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    counter = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.{stamp}-{counter}.bak")
        counter += 1
    shutil.copy2(path, backup)
    return backup


def _write_atomically(path: Path, text: str) -> None:
    """Keep an existing file's permissions; a new one is private."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text, mode=path.stat().st_mode & 0o777 if path.exists() else 0o600)
