"""LangChain is an extra: the core and the MCP server never import it, and its absence is explained."""

from __future__ import annotations

from tests.conftest import run_python


def test_the_core_and_the_mcp_server_do_not_import_langchain() -> None:
    result = run_python("""
        import sys
        import copilot_tools, copilot_tools.mcp, copilot_tools.cli
        from copilot_tools.mcp import build_server
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("langchain_core", "langchain"))
        print(loaded)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_langchain_the_error_names_the_extra() -> None:
    result = run_python("""
        import importlib.abc, sys

        class NoLangChain(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "langchain_core":
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoLangChain())
        import copilot_tools  # the core still imports
        try:
            import copilot_tools.langchain
        except ImportError as exc:
            print(type(exc).__name__, exc)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ImportError ")
    assert 'pip install "copilot-tools[langchain]"' in result.stdout
