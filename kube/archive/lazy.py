"""A module imported on first use: for modules that search and info reach but rarely need.

``kube.archive.git`` (subprocess, selectors, locale, GitPython on demand) is
needed by every update and by a search only when the archive must be cloned
or repaired; importing it on the first attribute read keeps it off the quick
path. Type checkers see the real module (``if TYPE_CHECKING`` at the use).
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any


class LazyModule:
    def __init__(self, name: str) -> None:
        self._name = name

    def _module(self) -> ModuleType:
        module = sys.modules.get(self._name)
        if module is None:
            # __import__ (not importlib): the interpreter's own path, which -X importtime reports.
            __import__(self._name)
            module = sys.modules[self._name]
        return module

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._module(), attr)
