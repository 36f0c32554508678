"""Test helpers: synthetic images."""

import numpy as np


def synthetic_rgb(h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    """A smooth colourful test image, uint8 (H, W, 3)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    phase = rng.uniform(0, 2 * np.pi, 3)
    img = np.stack([0.5 + 0.4 * np.sin(5 * xx + 3 * yy + p) for p in phase], axis=-1)
    return (img * 255).astype(np.uint8)
