"""What ``from copilot_tools import CopilotClient`` leaves for first use, and the helpers that defer it.

Every program pays the client's import (benchmarks/import_time.py); what only some calls need
(retrieval, verification, sign-in, the config file's parser, the front ends) loads when such a
call is first made, as long as the first construction and ``ask()`` do not load it anyway.
"""

from __future__ import annotations

import re
import sys
import types

from copilot_tools._lazy import LazyModule, lazy_pattern, load
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


#: What the first construction of a client loads: pydantic's model machinery and our models, with the
#: modules that use them at import (~55 ms of the client's import before; benchmarks/import_time.py).
AT_CONSTRUCTION = (
    "pydantic.main", "pydantic.types", "copilot_tools.settings", "copilot_tools._wire", "copilot_tools.answer",
    "copilot_tools._protocol", "copilot_tools._exchange", "copilot_tools._base", "copilot_tools._io",
    "copilot_tools.streaming", "copilot_tools._stream",
)


def test_the_client_import_leaves_models_for_the_first_construction() -> None:
    out = run_python(f"""
        import sys
        from copilot_tools import AsyncCopilotClient, CopilotClient
        print(sorted(m for m in {AT_CONSTRUCTION!r} if m in sys.modules))
    """, check=True)
    assert out.stdout.strip() == "[]"


def test_the_first_construction_loads_what_the_first_call_needs(emulator: EmulatorServer) -> None:
    out = run_python(f"""
        import sys, types
        import copilot_tools.client as module
        from copilot_tools import AsyncCopilotClient, CopilotClient
        AsyncCopilotClient(base_url={emulator.base_url!r}, token="t", time_zone="UTC")
        print(sorted(m for m in {AT_CONSTRUCTION!r} if m not in sys.modules))
        stand_ins = ("_base", "_io", "_stream", "exchange", "streaming")
        print(sorted(name for name in stand_ins if not isinstance(vars(module)[name], types.ModuleType)))
        with CopilotClient(base_url={emulator.base_url!r}, token="t", time_zone="UTC") as client:
            loaded = set(sys.modules)
            assert client.ask("What meeting do I have at 9 AM on Monday?").text
            with client.stream(None, "What meeting do I have at 9 AM on Monday?") as stream:
                assert stream.until_done().text
        print(sorted(m for m in set(sys.modules) - loaded if m.startswith("copilot_tools")))
    """, check=True)
    assert out.stdout.split("\n")[:3] == ["[]", "[]", "[]"]


def test_the_client_module_still_re_exports_its_helpers() -> None:
    out = run_python("""
        from copilot_tools.client import AsyncStream, ClientOptionKeywords, Stream, TurnKeywords, http_timeout
        from copilot_tools import _base, _io, _stream
        print((Stream, AsyncStream, TurnKeywords, ClientOptionKeywords, http_timeout) == (
            _stream.Stream, _stream.AsyncStream, _base.TurnKeywords, _base.ClientOptionKeywords, _io.http_timeout))
    """, check=True)
    assert out.stdout.strip() == "True"


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


def test_load_imports_a_stand_in_now_and_passes_over_a_module() -> None:
    namespace: dict[str, object] = {"re": re}
    namespace["colorsys"] = stand_in = LazyModule("colorsys", namespace)
    load(stand_in, re)  # type: ignore[arg-type]
    assert namespace == {"re": re, "colorsys": sys.modules["colorsys"]}


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
