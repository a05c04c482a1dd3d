"""Names a package exports without importing their modules until first use.

A package that keeps its start-up light (the CLI imports ``copilot_tools`` for every command)
maps each public name to the module that defines it and lets Python's module ``__getattr__``
(PEP 562) import that module when the name is first read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, namespace: dict[str, Any], exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``exports`` maps a name to its module
    (absolute, or relative to ``package`` with a leading dot); the value is cached in ``namespace``."""

    def __getattr__(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name, package), name)
        namespace[name] = value
        return value

    return __getattr__
