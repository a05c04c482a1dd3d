"""npm packages the tests drive (the MCP Inspector, the TypeScript SDK, the conformance suite, the
mcpb CLI): installed once into a cache outside the repository, then reused.

``COPILOT_TOOLS_TEST_CACHE`` moves the cache (default: ``<tmp>/copilot-tools-test-cache``).
Where node or npm are absent the caller's test is skipped and says so; where npm is present but
the install fails, the test fails with npm's own words: a broken install must not pass for a
missing tool.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from filelock import FileLock


def cache_dir() -> Path:
    return Path(os.environ.get("COPILOT_TOOLS_TEST_CACHE") or Path(tempfile.gettempdir()) / "copilot-tools-test-cache")


def require_node(why: str) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip(f"node and npm are needed to {why}; they are not on PATH")


def npm_install(name: str, packages: list[str], marker: str) -> Path:
    """``packages`` installed under ``<cache>/<name>`` (once: reused while ``marker`` exists there)."""
    prefix = cache_dir() / name
    if (prefix / marker).exists():
        return prefix
    prefix.parent.mkdir(parents=True, exist_ok=True)
    # One install at a time per tool: pytest-xdist workers (and other test runs on the machine) share
    # the cache, and two concurrent `npm install` into one prefix can leave it broken.
    with FileLock(str(prefix) + ".lock", timeout=900):
        if (prefix / marker).exists():  # installed while this one waited
            return prefix
        prefix.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(prefix), *packages],
            capture_output=True, text=True, timeout=600, check=False,
        )
    if result.returncode != 0 or not (prefix / marker).exists():
        pytest.fail(f"npm could not install {' '.join(packages)} into {prefix}:\n{result.stderr[-2000:]}")
    return prefix


def npm_tool(package: str, version: str, executable: str, *, purpose: str) -> Path:
    """The path of ``executable`` from ``package@version``, installing it on first use."""
    require_node(f"run {purpose}")
    marker = f"node_modules/.bin/{executable}"
    return npm_install(f"{package.rsplit('/', 1)[-1]}-{version}", [f"{package}@{version}"], marker) / marker
