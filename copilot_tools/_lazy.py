"""Names, modules and patterns a module holds without paying for them until first use.

A package that keeps its start-up light (the CLI imports ``copilot_tools`` for every command)
maps each public name to the module that defines it and lets Python's module ``__getattr__``
(PEP 562) import that module when the name is first read. The same idea, for a module that
only one kind of call needs (``_retrieval``, for retrieval alone), and for a regular expression
that only an uncommon path uses: ``re.compile`` costs 20-1,200 us a pattern, and what
``from copilot_tools import CopilotClient`` compiles every program pays (benchmarks/import_time.py).
Only what the first construction and the first ``ask()`` do not load anyway is worth deferring:
``anyio``, say, is not (``httpx.Client()`` imports it, through httpcore).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from types import ModuleType
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
    """Stands for module ``name`` in ``namespace[alias]`` and imports it on the first attribute read,
    then puts the module itself there, so later reads cost what a plain ``import`` costs.

    For a module that one kind of call alone uses: ``if TYPE_CHECKING: from copilot_tools import
    _retrieval as retrieval`` / ``else: retrieval = LazyModule("copilot_tools._retrieval", globals(), "retrieval")``.
    """

    __slots__ = ("_name", "_namespace", "_alias")

    def __init__(self, name: str, namespace: dict[str, Any], alias: str | None = None) -> None:
        self._name = name
        self._namespace = namespace
        self._alias = alias or name.rpartition(".")[2]

    def _load(self) -> ModuleType:
        module = importlib.import_module(self._name)
        if self._namespace.get(self._alias) is self:
            self._namespace[self._alias] = module
        return module

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._load(), attribute)

    def __setattr__(self, attribute: str, value: Any) -> None:
        # A write through the stand-in (a test's ``monkeypatch.setattr``) reaches the module.
        if attribute in LazyModule.__slots__:
            object.__setattr__(self, attribute, value)
        else:
            setattr(self._load(), attribute, value)

    def __delattr__(self, attribute: str) -> None:
        delattr(self._load(), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def load(*modules: ModuleType) -> None:
    """Import now the modules behind these stand-ins (what a client's first construction does, so that
    its first call pays no import); a module already in place costs one ``isinstance``."""
    for module in modules:
        if isinstance(module, LazyModule):
            module._load()


def lazy_pattern(pattern: str, flags: int = 0) -> Callable[[], re.Pattern[str]]:
    """A function that returns ``re.compile(pattern, flags)``, compiled at its first call only."""
    compiled: list[re.Pattern[str]] = []

    def get() -> re.Pattern[str]:
        if not compiled:
            compiled.append(re.compile(pattern, flags))
        return compiled[0]

    return get
