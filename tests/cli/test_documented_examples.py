"""Every example the README and the docs mark as runnable runs as printed, against the emulator.

A fenced block preceded by the line ``<!-- runnable -->`` (invisible on GitHub and on the
site) is collected from README.md and docs/**/*.md:

- ``bash``: the block runs as one script under ``set -euo pipefail``, one command per line
  (``\\`` continues a line). Every command must exit 0, or the code its ``# exit N``
  comment names, and print something that is not "No matching documents were found." A
  line that starts the emulator (``copilot-tools emulator …``) is left out: the test's own
  emulator serves instead, and ``127.0.0.1:8000`` in the text becomes its address.
- ``python``: the block runs as a script with ``COPILOT_TOOLS_ENDPOINT`` pointing at the
  emulator, and ``127.0.0.1:8000`` replaced as above. It must exit 0.

The commands run with the test environment's ``copilot-tools`` first on ``PATH``, an empty
home and no ``COPILOT_TOOLS_*`` variable from outside.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from copilot_tools.emulator import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- runnable -->"
DOCUMENTED_PORT = "127.0.0.1:8000"
_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\b.*$")
_COMMENT = re.compile(r"\s+#\s.*$")
_ASSIGNMENT = re.compile(r"""^(export\s+)?[A-Za-z_][A-Za-z0-9_]*=(\S+|\$\(.*\)|".*"|'.*')$""")


@dataclass(frozen=True)
class Example:
    path: Path
    line: int
    language: str
    code: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documented_examples() -> list[Example]:
    """The runnable blocks of README.md and docs/**/*.md, in file order."""
    found: list[Example] = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, text in enumerate(lines):
            if text.strip() != MARKER:
                continue
            fence = lines[index + 1].strip() if index + 1 < len(lines) else ""
            assert fence.startswith("```"), f"{path}:{index + 1}: {MARKER} must come right before a fenced block"
            language = fence[3:].split()[0] if fence[3:].strip() else ""
            end = next(i for i in range(index + 2, len(lines)) if lines[i].strip().startswith("```"))
            found.append(Example(path, index + 2, language, "\n".join(lines[index + 2:end]) + "\n"))
    return found


EXAMPLES = documented_examples()


def test_the_docs_mark_their_examples() -> None:
    files = {example.path.name for example in EXAMPLES}
    assert "README.md" in files
    assert len(files) >= 4, files
    assert {example.language for example in EXAMPLES} == {"bash", "python"}


def bash_script(code: str) -> str:
    """The block as a checked script: each command's exit code and output are verified."""
    logical: list[str] = []
    pending = ""
    for raw in code.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        logical.append(pending + raw)
        pending = ""
    script = ["set -euo pipefail"]
    for line in logical:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if re.match(r"^(copilot-tools|\./dev) emulator\b", stripped):
            continue  # the test's emulator serves instead
        match = _EXIT.search(stripped)
        expected = int(match.group(1)) if match else 0
        command = _COMMENT.sub("", stripped) if not match else stripped[: match.start()]
        if _ASSIGNMENT.match(command):  # a variable for the lines after it (not VAR=x command)
            script.append(command)
            continue
        quoted = shlex.quote(command)
        script += [
            "set +e",
            f"out=$( {command} ); rc=$?",
            "set -e",
            f'if [ "$rc" -ne {expected} ]; then echo "exit $rc, expected {expected}: "{quoted} >&2; exit 99; fi',
            'printf "%s\\n" "$out"',
        ]
        if expected == 0 and ">" not in command.replace("->", ""):
            script.append(f'if [ -z "$out" ]; then echo "printed nothing: "{quoted} >&2; exit 98; fi')
        script.append(f'case "$out" in *"No matching documents were found"*) echo "found nothing: "{quoted} >&2; '
                      "exit 97;; esac")
    return "\n".join(script) + "\n"


@pytest.fixture
def example_env(emulator: EmulatorServer, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_TOOLS_")}
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        (tmp_path / name).mkdir()
        env[name] = str(tmp_path / name)
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "COPILOT_TOOLS_CONFIG": str(tmp_path / "config.toml"),
        "COPILOT_TOOLS_ENDPOINT": emulator.base_url,
        "NO_COLOR": "1",
        "PYTHONIOENCODING": "utf-8",
    })
    return env


def localized(code: str, emulator: EmulatorServer) -> str:
    return code.replace(DOCUMENTED_PORT, emulator.root_url.split("://", 1)[1].rstrip("/"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_documented_example_runs(example: Example, emulator: EmulatorServer, example_env: dict[str, str],
                                 tmp_path: Path) -> None:
    code = localized(example.code, emulator)
    if example.language == "bash":
        if "| jq" in code and shutil.which("jq") is None:
            pytest.skip("this example pipes into jq, which is not on PATH")
        command = ["bash", "-c", bash_script(code)]
    else:
        command = [sys.executable, "-c", code]
    result = subprocess.run(command, cwd=ROOT, env=example_env, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, encoding="utf-8", timeout=180, check=False)
    assert result.returncode == 0, f"{example.name}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
