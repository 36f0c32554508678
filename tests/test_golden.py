"""Golden outputs of every shipped model on small fixed inputs (fixed seeds, short sampling
schedules): a refactoring that is meant to change nothing must reproduce them.

``tests/data/golden.npz`` holds each output as 16-bit levels (``round(x * 65535)``); a result
passes when it is within 1/255 of the stored one everywhere (float reordering may move a few
values; anything else is a change of behaviour). Regenerate (only after a deliberate change)
with ``CHROMAPRIOR_WRITE_GOLDEN=1 python -m pytest tests/test_golden.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import synthetic_rgb

GOLDEN = Path(__file__).parent / "data" / "golden.npz"
EXAMPLE = Path(__file__).parents[1] / "examples" / "coffee-gray.jpg"
TOLERANCE = 1 / 255


def _gray() -> torch.Tensor:
    """A 32x48 crop of the example photo, ``(1, 1, 32, 48)`` in ``[0, 1]``."""
    a = np.asarray(Image.open(EXAMPLE).convert("L"), dtype=np.float32)[200:232, 300:348] / 255
    return torch.from_numpy(a)[None, None]


def _rgb() -> torch.Tensor:
    """A smooth colourful ``(1, 3, 32, 48)`` image."""
    return torch.from_numpy(synthetic_rgb(32, 48, seed=3).astype(np.float32) / 255).permute(2, 0, 1)[None]


def _missing() -> torch.Tensor:
    m = torch.zeros(1, 1, 32, 48, dtype=torch.bool)
    m[..., 8:20, 10:30] = True
    m[..., ::5, ::3] = True
    return m


def _cases():
    """``name -> () -> (1, 3, H, W)`` for every shipped model (and a few options)."""
    from chromaprior import Colorizer, Restorer
    from chromaprior.core.hints import Hint
    from chromaprior.methods.hgm import mosaic
    from chromaprior.methods.learned import load_demosaicker, load_inpainter

    gray, rgb, missing = _gray(), _rgb(), _missing()
    raw = mosaic(rgb, "RGGB")
    raw_g = mosaic(rgb, "GBRG")

    def colorize(method, **kw):
        return lambda: Colorizer(method=method)(gray, **kw)

    def hgm_demosaick(**kw):
        return lambda: Restorer(**kw).demosaick(raw, "RGGB", preset="preview", seed=1)

    return {
        "steerable": colorize("steerable"),
        "steerable-hints": colorize("steerable", hints=[Hint(10, 12, (200, 40, 30), 3), Hint(35, 20, (30, 90, 210), 2)]),
        "semantic": colorize("semantic"),
        "semantic-vivid-warm": colorize("semantic", vividness=1.0, temperature=4500.0),
        "unet": colorize("unet"),
        "cgan": colorize("cgan"),
        "jgm": colorize("jgm", preset="preview", seed=2, work_size=32),
        "jgm-hint": colorize("jgm", preset="preview", seed=2, work_size=32, hints=[Hint(10, 12, (200, 40, 30), 4)]),
        "jgm-guided": colorize("jgm-guided", preset="preview", seed=5, work_size=64),
        "unet-hint": colorize("unet", hints=[Hint(30, 20, (20, 60, 220), 5)]),
        "learned-demosaick": lambda: load_demosaicker().demosaick(raw, "RGGB"),
        "learned-demosaick-gbrg": lambda: load_demosaicker().demosaick(raw_g, "GBRG", tile=16),
        "learned-inpaint": lambda: load_inpainter().inpaint(rgb, missing),
        "hgm-demosaick": hgm_demosaick(),
        "hgm-demosaick-menon": hgm_demosaick(first_stage="Menon2007"),
        "hgm-inpaint": lambda: Restorer().inpaint(rgb, missing, preset="preview", seed=4),
    }


def _levels(x: torch.Tensor) -> np.ndarray:
    return np.round(x.detach().double().cpu().numpy().clip(0, 1) * 65535).astype(np.uint16)


@pytest.fixture(scope="module")
def golden():
    if os.environ.get("CHROMAPRIOR_WRITE_GOLDEN"):
        torch.manual_seed(0)
        np.savez_compressed(GOLDEN, **{name: _levels(fn()) for name, fn in _cases().items()})
    return dict(np.load(GOLDEN))


@pytest.mark.parametrize("name", sorted(np.load(GOLDEN).files) if GOLDEN.exists() else [])
def test_shipped_model_reproduces_its_golden_output(golden, name):
    out = _cases()[name]()
    got = out.detach().double().cpu().numpy()
    want = golden[name].astype(np.float64) / 65535
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= TOLERANCE


def test_every_shipped_model_has_a_golden_output():
    from chromaprior.models.registry import METHODS

    covered = {name.replace("hgm-", "hgm-pixel-scale-") for name in np.load(GOLDEN).files}
    for spec in METHODS.values():
        if spec.shipped:
            assert any(c == spec.name or c.startswith(spec.name + "-") for c in covered), spec.name
