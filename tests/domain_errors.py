"""Every domain error class `core` defines, for the tests of the error tables."""

from __future__ import annotations

import importlib
import pkgutil

import core
from core.errors import DomainError


def domain_errors() -> list[type[DomainError]]:
    """The subclasses of DomainError that `core` defines (not ones a test makes up)."""
    for module in pkgutil.walk_packages(core.__path__, "core."):
        importlib.import_module(module.name)
    found: list[type[DomainError]] = []
    todo = [DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("core."):
                found.append(sub)
    return found
