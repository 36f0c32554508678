"""chromaprior: restore colour in images with learned score priors (colorize gray photos and
films, demosaick, inpaint).

``from chromaprior import Colorizer, Restorer`` gives the colorizer
(:class:`chromaprior.methods.colorize.Colorizer`) and the HGM restorer
(:class:`chromaprior.methods.hgm.Restorer`); they are imported on first use, so that
``import chromaprior`` (and the command line's start-up) stays light. The layers of the
package are described in docs/architecture.md.
"""

from . import _moved

__version__ = "0.2.0"

__all__ = ["Colorizer", "Restorer", "__version__"]

#: the names imported on first access (PEP 562): name -> module
_LAZY = {"Colorizer": "chromaprior.methods.colorize", "Restorer": "chromaprior.methods.hgm"}

_moved.install()


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'chromaprior' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
