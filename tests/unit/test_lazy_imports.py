"""What ``from copilot_tools import CopilotClient`` leaves for first use, and the helpers that defer it.

Every program pays the client's import (benchmarks/import_time.py); what only some calls need
(retrieval, verification, sign-in, the config file's parser, the front ends) loads when such a
call is first made, as long as the first construction and ``ask()`` do not load it anyway.
"""

from __future__ import annotations

import re
import sys
import types

from copilot_tools._lazy import LazyModule, lazy_pattern
from copilot_tools.emulator import EmulatorServer
from tests.conftest import run_python

#: Modules the import of the sync client must not load.
NOT_AT_IMPORT = (
    "copilot_tools._retrieval", "copilot_tools._kql", "copilot_tools._verify", "copilot_tools.auth.public",
    "msal", "tomllib", "platformdirs", "copilot_tools.cli", "copilot_tools.mcp", "copilot_tools.langchain",
    "copilot_tools.emulator", "mcp", "langchain_core", "uvicorn", "starlette",
)


def test_the_client_import_leaves_first_use_machinery_unloaded() -> None:
    out = run_python(f"""
        import sys
        from copilot_tools import CopilotClient
        print(sorted(m for m in {NOT_AT_IMPORT!r} if m in sys.modules))
    """, check=True)
    assert out.stdout.strip() == "[]"


def test_the_first_ask_loads_no_retrieval_or_verification(emulator: EmulatorServer) -> None:
    out = run_python(f"""
        import sys
        from copilot_tools import CopilotClient
        with CopilotClient(base_url={emulator.base_url!r}, token="t", time_zone="UTC") as client:
            assert client.ask("What meeting do I have at 9 AM on Monday?").text
        print(sorted(m for m in ("copilot_tools._retrieval", "copilot_tools._kql", "copilot_tools._verify")
                     if m in sys.modules))
    """, check=True)
    assert out.stdout.strip() == "[]"


def test_a_lazy_module_imports_on_first_read_then_steps_aside() -> None:
    namespace: dict[str, object] = {}
    namespace["textwrap"] = stand_in = LazyModule("textwrap", namespace)
    assert "lazy module 'textwrap'" in repr(stand_in)
    assert stand_in.dedent("  a") == "a"
    assert isinstance(namespace["textwrap"], types.ModuleType) and namespace["textwrap"] is sys.modules["textwrap"]


def test_a_lazy_module_passes_attribute_writes_to_the_module() -> None:
    module = types.ModuleType("copilot_tools_test_lazy_target")
    sys.modules[module.__name__] = module
    try:
        stand_in = LazyModule(module.__name__, {})
        stand_in.value = 1
        assert module.value == 1
        del stand_in.value
        assert not hasattr(module, "value")
    finally:
        del sys.modules[module.__name__]


def test_a_lazy_pattern_compiles_once() -> None:
    pattern = lazy_pattern(r"[a-z]+\d", re.IGNORECASE)
    first = pattern()
    assert first is pattern() and first.flags & re.IGNORECASE and first.fullmatch("Ab1")
