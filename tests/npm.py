"""npm command-line tools the tests drive (the MCP Inspector, the mcpb CLI), installed once.

Each pinned package goes into its own prefix under a cache directory outside the
repository (``COPILOT_TOOLS_TEST_CACHE``, default ``$TMPDIR/copilot-tools-test-cache``) and
is reused by later runs. Where node or npm are absent the calling test is skipped, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


def npm_tool(package: str, version: str, executable: str, *, purpose: str) -> Path:
    """The path of ``executable`` from ``package@version``, installing it on first use."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip(f"node and npm are needed to run {purpose}; they are not on PATH")
    cache = Path(os.environ.get("COPILOT_TOOLS_TEST_CACHE") or Path(tempfile.gettempdir()) / "copilot-tools-test-cache")
    prefix = cache / f"{package.rsplit('/', 1)[-1]}-{version}"
    path = prefix / "node_modules" / ".bin" / executable
    if not path.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(prefix),
             f"{package}@{version}"],
            capture_output=True, text=True, timeout=300, check=False,
        )
        if result.returncode != 0 or not path.exists():
            pytest.fail(f"npm could not install {package}@{version}:\n{result.stderr[-2000:]}")
    return path
