"""Writing files so that a crash or a full disk never leaves half of one behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, content: str, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``content`` all at once: a temp file beside it, fsync, rename.

    The file gets ``mode`` (private by default: token caches, host configurations that
    may hold secrets); the temp file is removed if anything fails.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if os.name == "posix":
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
