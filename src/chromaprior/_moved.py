"""The module paths of chromaprior 0.1 that moved in 0.2 (CHANGELOG.md), kept importable:
``import chromaprior.colorize`` gives a thin module that forwards every attribute to
:mod:`chromaprior.methods.colorize` and warns once with a :class:`DeprecationWarning`.

The aliases have no file of their own (a finder on :data:`sys.meta_path` answers for them),
so the old paths cannot drift from the new modules.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings

#: old module -> new module
MOVED = {
    "chromaprior.api": "chromaprior.apps.api",
    "chromaprior.cli": "chromaprior.apps.cli",
    "chromaprior.colorize": "chromaprior.methods.colorize",
    "chromaprior.checkpoint": "chromaprior.models.checkpoint",
    "chromaprior.demosaick": "chromaprior.methods.learned",
    "chromaprior.errors": "chromaprior.core.errors",
    "chromaprior.hints": "chromaprior.core.hints",
    "chromaprior.io": "chromaprior.core.io",
    "chromaprior.restore": "chromaprior.methods.hgm",
    "chromaprior.video": "chromaprior.apps.video",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec):  # noqa: ARG002 - the default module object
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        warnings.warn(f"{module.__name__} moved to {self.new} (chromaprior 0.2); import it from there",
                      DeprecationWarning, stacklevel=2)  # the import machinery's frames are skipped
        target = importlib.import_module(self.new)
        module.__doc__ = f"Moved to :mod:`{self.new}` (this name forwards to it)."
        module.__all__ = list(getattr(target, "__all__", ()))
        module.__getattr__ = lambda name: getattr(target, name)
        module.__dir__ = lambda: dir(target)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):  # noqa: ARG002
        if fullname in MOVED:
            return importlib.machinery.ModuleSpec(fullname, _Alias(MOVED[fullname]))
        return None


def install() -> None:
    """Answer for the old paths (once per interpreter)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
