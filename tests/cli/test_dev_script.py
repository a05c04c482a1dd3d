"""``./dev`` on a clone: it sets up its environment visibly, then runs any command as printed.

The tests give ``./dev`` one fresh, empty virtual environment (``COPILOT_TOOLS_DEV_VENV``)
that sees the test run's own packages through a ``.pth`` line, and keep pip offline
(``PIP_NO_INDEX``, no build isolation): the first command really installs this tree into
it, with its progress on stderr, without reaching the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from copilot_tools.emulator import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DevClone:
    env: dict[str, str]
    first: subprocess.CompletedProcess[str]  # the command that set the environment up


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorServer) -> DevClone:
    """A fresh environment for ``./dev``, set up by its first command: an ``ask``."""
    tmp_path = tmp_path_factory.mktemp("dev")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    print_purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = subprocess.run([str(venv / "bin" / "python"), "-c", print_purelib],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "_test_run_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOT_TOOLS_", "PIP_", "VIRTUAL_ENV"))}
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        (tmp_path / name).mkdir()
        env[name] = str(tmp_path / name)
    env.update({
        "COPILOT_TOOLS_DEV_VENV": str(venv),
        "COPILOT_TOOLS_CONFIG": str(tmp_path / "config.toml"),
        "PYTHON": sys.executable,
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # pip's spelling of --no-build-isolation
        "NO_COLOR": "1",
    })
    first = dev({**env, "COPILOT_TOOLS_ENDPOINT": emulator.base_url}, "ask", "What meeting do I have at 9 AM tomorrow?")
    return DevClone(env, first)


def dev(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / "dev"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300, check=False)


def test_the_first_run_shows_progress_then_runs_the_command(clone: DevClone, emulator: EmulatorServer) -> None:
    first = clone.first
    assert first.returncode == 0, first.stderr
    venv = clone.env["COPILOT_TOOLS_DEV_VENV"]
    assert f"dev: installing copilot-tools into {venv} (the first time takes about a minute)…" in first.stderr
    assert "packages…" in first.stderr  # pip's progress, condensed
    assert f"To type copilot-tools yourself: source {venv}/bin/activate" in first.stderr
    assert "Sources:" in first.stdout
    again = dev({**clone.env, "COPILOT_TOOLS_ENDPOINT": emulator.base_url},
                "copilot-tools", "retrieve", "travel policy per diem", "--max", "2")
    assert again.returncode == 0, again.stderr
    assert "dev: installing" not in again.stderr  # installed once
    assert "[1] " in again.stdout


def test_after_the_demo_its_next_steps_run_as_printed(clone: DevClone) -> None:
    demo = dev(clone.env, "demo")
    assert demo.returncode == 0, demo.stderr
    steps = [line.split("   #", 1)[0].strip() for line in demo.stderr.split("Next:", 1)[1].splitlines() if "#" in line]
    assert steps[0] == './dev demo "What is our travel policy per diem?"'
    assert "./dev emulator --port 8000" in steps and "./dev login" in steps
    first = steps[0].split(" ", 2)
    again = dev(clone.env, first[1], first[2].strip('"'))
    assert again.returncode == 0, again.stderr
    assert "per diem" in again.stdout.lower()


def test_a_mistyped_command_through_dev_gets_did_you_mean(clone: DevClone) -> None:
    result = dev(clone.env, "retreive", "budget")
    assert result.returncode == 2
    assert "Did you mean `./dev retrieve`?" in result.stderr


def test_help_lists_dev_and_copilot_tools_commands(clone: DevClone) -> None:
    result = dev(clone.env, "--help")
    assert result.returncode == 0
    for line in ("demo ", "test ", "lint ", "docs ", "bench ", "COMMAND "):
        assert f"  {line}" in result.stderr
    assert "retrieve" in result.stderr and "source .venv/bin/activate" in result.stderr


def test_bench_passes_its_arguments_to_the_benchmark_runner(clone: DevClone) -> None:
    result = dev(clone.env, "bench", "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: run_all.py" in result.stdout and "--quick" in result.stdout
