"""Full-resolution finishing of a colorization in row strips (bounded peak memory).

The colorizers make chroma at a small working size; the upsampling of that chroma to the
input's size, the gamut clamp and the white balance are per-pixel once the chroma is
upsampled, so they run here on strips of rows. Peak memory is the output (3 float32 per
pixel) plus one strip's temporaries, instead of about ten full-size float32 planes. The
result equals ``white_balance(gamut_clamp(gray, interpolate(chroma)), temperature)`` with
bilinear interpolation (``align_corners=False``) up to float rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["finish", "STRIP_PIXELS"]

#: Pixels per strip (about 1 MP: a few tens of MB of temporaries).
STRIP_PIXELS = 1 << 20


def _rows(out_size: int, in_size: int, start: int, stop: int, device) -> tuple[Tensor, Tensor, Tensor]:
    """Source rows and weights of bilinear interpolation (``align_corners=False``, as
    :func:`torch.nn.functional.interpolate`) for output rows ``start..stop-1``."""
    scale = in_size / out_size
    src = ((torch.arange(start, stop, device=device, dtype=torch.float64) + 0.5) * scale - 0.5).clamp_min(0)
    i0 = src.floor().long().clamp_max(in_size - 1)
    i1 = (i0 + 1).clamp_max(in_size - 1)
    return i0, i1, (src - i0).float()


def finish(gray: Tensor, chroma: Tensor, temperature: float, strip_pixels: int = STRIP_PIXELS) -> Tensor:
    """``(1, 1, H, W)`` gray + working-size ``(1, 3, h, w)`` chroma -> ``(1, 3, H, W)`` in
    ``[0, 1]``: chroma upsampled, gamut clamped, re-lit to ``temperature``, strip by strip."""
    from .colorize import gamut_clamp
    from .color import white_balance

    height, width = gray.shape[-2:]
    if height * width <= strip_pixels:
        up = F.interpolate(chroma, size=(height, width), mode="bilinear", align_corners=False)
        return white_balance(gamut_clamp(gray, up), temperature)
    wide = F.interpolate(chroma, size=(chroma.shape[-2], width), mode="bilinear", align_corners=False)
    out = torch.empty(gray.shape[0], 3, height, width, dtype=gray.dtype, device=gray.device)
    step = max(1, strip_pixels // width)
    for start in range(0, height, step):
        stop = min(height, start + step)
        i0, i1, t = _rows(height, chroma.shape[-2], start, stop, gray.device)
        t = t[:, None]
        strip = wide[:, :, i0] * (1 - t) + wide[:, :, i1] * t
        out[:, :, start:stop] = white_balance(gamut_clamp(gray[:, :, start:stop], strip), temperature)
    return out
