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


class LazyModule:
    """A stand-in for a module that imports it when one of its names is first read.

    For a dependency that only some calls need (``anyio``: the async client's deadlines and
    worker threads, never the sync client's): ``anyio = LazyModule("anyio")`` at the top of the
    module, the real import under ``TYPE_CHECKING`` for the type checker. Each name read is kept
    as an attribute of the stand-in, so later reads cost what a module attribute costs.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(importlib.import_module(self._name), attribute)
        setattr(self, attribute, value)
        return value

    def __repr__(self) -> str:
        return f"<LazyModule {self._name!r}>"


#: The one stand-in for anyio that the client modules share (so that patching ``client.anyio.sleep``
#: in a test reaches the retry waits of ``_backoff`` too, as with the module itself).
anyio = LazyModule("anyio")
