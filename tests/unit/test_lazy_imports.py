"""What ``from copilot_tools import CopilotClient`` leaves for first use, and the helpers that defer it.

Every program pays the client's import (benchmarks/import_time.py); what only some calls need
(the async client's anyio, retrieval, verification, sign-in, the config file's parser, the
front ends) loads when such a call is first made.
"""

from __future__ import annotations

import re
import sys
import types

from copilot_tools._lazy import LazyModule, lazy_pattern
from tests.conftest import run_python

#: Modules the import of the sync client must not load.
NOT_AT_IMPORT = (
    "anyio", "copilot_tools._retrieval", "copilot_tools._kql", "copilot_tools._verify", "copilot_tools.auth.public",
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


def test_the_async_client_loads_anyio_when_it_first_waits() -> None:
    out = run_python("""
        import sys
        from copilot_tools import AsyncCopilotClient
        from copilot_tools import _backoff, client
        before = "anyio" in sys.modules
        import asyncio
        asyncio.run(_backoff.pause(0, None))
        print(before, "anyio" in sys.modules, _backoff.anyio is sys.modules["anyio"], type(client.anyio).__name__)
    """, check=True)
    assert out.stdout.split() == ["False", "True", "True", "LazyModule"]


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
