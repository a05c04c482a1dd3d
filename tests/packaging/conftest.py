"""The package as a user gets it: the wheel and sdist built from this tree, the wheel
installed into a fresh virtual environment, and the npm tools that check the bundles.

Nothing here reaches the network. The fresh environment gets the wheel alone
(``--no-deps --no-index``); its dependencies come from the test run's own environment
through a ``.pth`` line, which adds that ``site-packages`` to ``sys.path`` without
running its ``.pth`` files, so this tree's editable install stays out and
``copilot_tools`` can only be imported from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Dists:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    """A fresh virtual environment with the wheel installed."""

    root: Path
    python: Path
    script: Path

    def env(self, home: Path) -> dict[str, str]:
        """An environment for its commands: no COPILOT_TOOLS_* from outside, a private HOME."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOT_TOOLS_", "PYTHON"))}
        for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            (home / name).mkdir(parents=True, exist_ok=True)
            env[name] = str(home / name)
        env.update({"PATH": f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}", "NO_COLOR": "1",
                    "COPILOT_TOOLS_CONFIG": str(home / "config.toml"), "COPILOT_TOOLS_TIME_ZONE": "America/New_York"})
        return env


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """``python -m build`` of this tree (no isolation: the build backend is a dev dependency)."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = out.glob("copilot_tools-*.whl")
    (sdist,) = out.glob("copilot_tools-*.tar.gz")
    return Dists(wheel, sdist)


@pytest.fixture(scope="session")
def installed(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "_dev_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", "--quiet", str(dists.wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return Installed(root, python, root / "bin" / "copilot-tools")


@pytest.fixture(scope="session")
def mcpb() -> Iterator[Path]:
    """The official ``mcpb`` CLI (npm ``@anthropic-ai/mcpb``), installed once into a cache."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run the official mcpb CLI; they are not on PATH")
    package = "@anthropic-ai/mcpb@2.1.2"
    cache = Path(os.environ.get("COPILOT_TOOLS_TEST_CACHE") or Path(tempfile.gettempdir()) / "copilot-tools-test-cache")
    prefix = cache / "mcpb-2.1.2"
    executable = prefix / "node_modules" / ".bin" / "mcpb"
    if not executable.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(prefix), package],
            capture_output=True, text=True, timeout=300, check=False,
        )
        if result.returncode != 0 or not executable.exists():
            pytest.fail(f"npm could not install {package}:\n{result.stderr[-2000:]}")
    yield executable
