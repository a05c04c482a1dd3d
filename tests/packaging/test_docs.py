"""The documentation site builds with warnings as errors, API pages generated from docstrings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.packaging.conftest import ROOT


def test_the_site_builds_strictly_with_api_pages(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    client = (site / "reference" / "client" / "index.html").read_text(encoding="utf-8")
    assert "CopilotClient" in client and "retrieve_many" in client  # from the class and its docstrings
    assert "Conditional Access" in (site / "reference" / "auth" / "index.html").read_text(encoding="utf-8")


def test_every_page_of_mine_is_in_the_nav_and_every_nav_entry_exists() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)

    def pages(items: object) -> list[str]:
        if isinstance(items, str):
            return [items]
        if isinstance(items, list):
            return [page for item in items for page in pages(item)]
        if isinstance(items, dict):
            return [page for value in items.values() for page in pages(value)]
        return []

    listed = pages(config["nav"])
    assert all((ROOT / "docs" / page).is_file() for page in listed)
    for page in ("index.md", "getting-started.md", "development.md", "sign-in.md", "settings.md"):
        assert page in listed
