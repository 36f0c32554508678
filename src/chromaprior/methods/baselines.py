"""Classical baselines printed beside ours in every restoration benchmark.

Demosaicking: bilinear, Malvar-He-Cutler 2004 and Menon 2007 from ``colour-demosaicing``;
inpainting: biharmonic (scikit-image) and Telea 2004 (OpenCV). These libraries are the
``eval`` extra (``pip install 'chromaprior[eval]'``); a missing one is a one-line error.

Every function maps torch tensors to torch tensors, one image at a time:
mosaic ``(1, 1, H, W)`` or image ``(1, 3, H, W)`` + mask ``(1, 1, H, W)`` (true =
missing) to ``(1, 3, H, W)`` in ``[0, 1]``.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Callable

import numpy as np
import torch
from torch import Tensor
from ..core.errors import MissingExtra

__all__ = ["DEMOSAICKERS", "INPAINTERS", "require"]


def require(module: str):
    """Import an optional evaluation dependency or fail with how to install it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # colour-science warns about optional matplotlib
            return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"the classical baselines need {module.split('.')[0]}: pip install 'chromaprior[eval]'") from None


def _to_numpy(t: Tensor) -> np.ndarray:
    a = t[0].detach().cpu().double().numpy()
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


def _to_torch(a: np.ndarray) -> Tensor:
    return torch.from_numpy(np.clip(a, 0, 1).astype(np.float32)).permute(2, 0, 1)[None]


def _colour(name: str) -> Callable[[Tensor, str], Tensor]:
    def run(raw: Tensor, pattern: str) -> Tensor:
        cd = require("colour_demosaicing")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _to_torch(getattr(cd, f"demosaicing_CFA_Bayer_{name}")(_to_numpy(raw), pattern))

    return run


def biharmonic(image: Tensor, missing: Tensor) -> Tensor:
    restoration = require("skimage.restoration")
    m = _to_numpy(missing).astype(bool)
    return _to_torch(restoration.inpaint_biharmonic(_to_numpy(image), m, channel_axis=-1))


def telea(image: Tensor, missing: Tensor, radius: int = 3) -> Tensor:
    cv2 = require("cv2")
    u8 = np.clip(np.rint(_to_numpy(image) * 255), 0, 255).astype(np.uint8)
    m = _to_numpy(missing).astype(np.uint8)
    return _to_torch(cv2.inpaint(u8, m, radius, cv2.INPAINT_TELEA).astype(np.float64) / 255)


#: name -> ``f(mosaic (1,1,H,W), pattern) -> (1,3,H,W)``
DEMOSAICKERS: dict[str, Callable[[Tensor, str], Tensor]] = {
    "bilinear": _colour("bilinear"),
    "Malvar2004": _colour("Malvar2004"),
    "Menon2007": _colour("Menon2007"),
}
#: name -> ``f(image (1,3,H,W), missing (1,1,H,W)) -> (1,3,H,W)``
INPAINTERS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"biharmonic": biharmonic, "Telea": telea}
