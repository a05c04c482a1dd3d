"""``copilot_tools._lazy.LazyModule``: a module imported when one of its names is first read."""

from __future__ import annotations

import subprocess
import sys

from copilot_tools._lazy import LazyModule


def test_a_name_is_read_from_the_module_and_kept() -> None:
    json = LazyModule("json")
    dumps = json.dumps
    assert dumps({"a": 1}) == '{"a": 1}'
    assert vars(json)["dumps"] is dumps  # later reads are plain attribute reads


def test_importing_the_sync_client_leaves_anyio_unimported() -> None:
    code = "import sys; from copilot_tools import CopilotClient; print('anyio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
