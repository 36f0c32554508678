"""The package's front door: the short imports, the old module paths (forwarded with a
deprecation warning) and a light ``import chromaprior``."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest


def test_colorizer_and_restorer_import_from_the_package():
    from chromaprior import Colorizer, Restorer
    from chromaprior.methods.colorize import Colorizer as C
    from chromaprior.methods.hgm import Restorer as R

    assert Colorizer is C and Restorer is R


def test_import_chromaprior_loads_neither_torch_nor_the_methods():
    code = "import sys, chromaprior; print(sorted(m for m in ('torch', 'chromaprior.methods') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error():
    import chromaprior

    with pytest.raises(AttributeError, match="no attribute 'Colourizer'"):
        chromaprior.Colourizer  # noqa: B018


@pytest.mark.parametrize("old, new, name", [
    ("chromaprior.colorize", "chromaprior.methods.colorize", "Colorizer"),
    ("chromaprior.api", "chromaprior.apps.api", "colorize_picture"),
    ("chromaprior.io", "chromaprior.core.io", "read_image"),
    ("chromaprior.restore", "chromaprior.methods.hgm", "mosaic"),
])
def test_an_old_module_path_forwards_to_the_new_module_with_a_deprecation_warning(old, new, name):
    import importlib

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)
    assert name in module.__all__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(f"from {old} import {name}", {})  # imported once: no second warning


def test_the_deprecation_warning_points_at_the_importing_line():
    sys.modules.pop("chromaprior.io", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import chromaprior.io  # noqa: F401
    assert [w.filename for w in caught if issubclass(w.category, DeprecationWarning)] == [__file__]


def test_python_dash_m_chromaprior_runs_the_command_line():
    out = subprocess.run([sys.executable, "-m", "chromaprior", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "0.2" in out.stdout
