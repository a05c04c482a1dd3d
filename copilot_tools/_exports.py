"""Public names of a package imported on first use (a module ``__getattr__``, PEP 562).

``copilot_tools`` and ``copilot_tools.langchain`` list their public names with the module that
defines each, and import that module only when a name is first looked up: a program (or a
command such as ``copilot-tools --help``) pays for what it uses (benchmarks/import_time.py).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any


def import_export(package: str, exports: Mapping[str, str], namespace: MutableMapping[str, Any], name: str) -> Any:
    """The public ``name`` of ``package``, imported from its module and kept in ``namespace``
    (the package's globals) so that later lookups never come here again."""
    module_name = exports.get(name)
    if module_name is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    namespace[name] = value
    return value
