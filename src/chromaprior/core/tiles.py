"""Large images in pieces: the finishing of a colorization in row strips, and any local
operator (the learned demosaicker) in overlapping tiles (bounded peak memory).

:func:`overlapping` runs a function whose output at a pixel depends only on the input
within ``margin`` pixels of it on tiles read with that much context on each side and
keeps each tile's centre: the result is the whole-image result (up to float rounding),
with no seams. Tile offsets are multiples of ``align`` (2 keeps a Bayer phase).


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

from typing import Callable

from .color import gamut_clamp, white_balance

__all__ = ["finish", "STRIP_PIXELS", "overlapping", "tile_grid", "mirror_fold", "mirror_pad"]

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


def finish(gray: Tensor, chroma: Tensor, temperature: float, strip_pixels: int = STRIP_PIXELS,
           slope: Tensor | None = None, fixed: Callable[[int, int], tuple[Tensor, Tensor]] | None = None) -> Tensor:
    """``(1, 1, H, W)`` gray + working-size ``(1, 3, h, w)`` chroma -> ``(1, 3, H, W)`` in
    ``[0, 1]``: chroma upsampled, gamut clamped, re-lit to ``temperature``, strip by strip.

    ``slope`` ``(1, 3, h, w)``: chroma is a local linear function of the gray (the guided
    filter's model, :func:`chromaprior.core.filters.guided_coefficients`): at full size it is
    ``up(chroma) + up(slope) * gray``, so it changes where the full-size gray has edges.
    ``fixed(top, bottom)``: ``(keep (1, 1, rows, W), chroma (1, 3, rows, W))`` imposed on
    those rows where ``keep`` (user hints, exactly), before the clamp."""
    height, width = gray.shape[-2:]

    def colour(rows: Tensor, c: Tensor, a: Tensor | None, top: int) -> Tensor:
        if a is not None:
            c = c + a * rows
        if fixed is not None:
            keep, value = fixed(top, top + rows.shape[-2])
            c = torch.where(keep > 0, value.to(c), c)
        return white_balance(gamut_clamp(rows, c), temperature)

    planes = [chroma] if slope is None else [chroma, slope]
    if height * width <= strip_pixels:
        up = [F.interpolate(p, size=(height, width), mode="bilinear", align_corners=False) for p in planes]
        return colour(gray, up[0], up[1] if slope is not None else None, 0)
    wide = [F.interpolate(p, size=(p.shape[-2], width), mode="bilinear", align_corners=False) for p in planes]
    out = torch.empty(gray.shape[0], 3, height, width, dtype=gray.dtype, device=gray.device)
    step = max(1, strip_pixels // width)
    for start in range(0, height, step):
        stop = min(height, start + step)
        i0, i1, t = _rows(height, chroma.shape[-2], start, stop, gray.device)
        t = t[:, None]
        strips = [w[:, :, i0] * (1 - t) + w[:, :, i1] * t for w in wide]
        out[:, :, start:stop] = colour(gray[:, :, start:stop], strips[0], strips[1] if slope is not None else None,
                                       start)
    return out


def tile_grid(height: int, width: int, tile: int) -> list[tuple[int, int, int, int]]:
    """The ``(top, bottom, left, right)`` boxes of ``tile x tile`` tiles covering an image
    (the last row and column smaller), row by row."""
    return [(t, min(t + tile, height), l, min(l + tile, width))
            for t in range(0, height, tile) for l in range(0, width, tile)]


def overlapping(fn: Callable[[Tensor], Tensor], x: Tensor, tile: int, margin: int, align: int = 2,
                callback: Callable[[int, int], None] | None = None) -> Tensor:
    """``fn`` applied to ``x`` ``(B, C, H, W)`` tile by tile: every ``tile x tile`` box is
    computed from the box grown by ``margin`` pixels on each side (less at the image's
    edges, where the whole image stops too) and only its centre is kept. When ``fn``'s
    output at a pixel depends on nothing farther than ``margin`` pixels (its receptive
    field), the result equals ``fn(x)``. ``fn`` maps ``(B, C, h, w)`` to ``(B, K, h, w)``;
    ``tile`` and ``margin`` are rounded up to multiples of ``align``, so every tile starts
    at an offset that is a multiple of it (a Bayer mosaic keeps its phase).
    ``callback(done, total)`` after each tile."""
    up = lambda n: -(-n // align) * align  # noqa: E731
    tile, margin = up(max(tile, 1)), up(max(margin, 0))
    height, width = x.shape[-2:]
    boxes = tile_grid(height, width, tile)
    if len(boxes) == 1:
        out = fn(x)
        if callback:
            callback(1, 1)
        return out
    out = None
    for i, (t, b, l, r) in enumerate(boxes):
        t0, b0, l0, r0 = max(0, t - margin), min(height, b + margin), max(0, l - margin), min(width, r + margin)
        piece = fn(x[..., t0:b0, l0:r0])
        if out is None:
            out = torch.empty(x.shape[0], piece.shape[1], height, width, dtype=piece.dtype, device=piece.device)
        out[..., t:b, l:r] = piece[..., t - t0 : b - t0, l - l0 : r - l0]
        if callback:
            callback(i + 1, len(boxes))
    return out


def mirror_fold(n: int, start: int, stop: int, device=None) -> Tensor:
    """Indices ``start..stop-1`` folded into ``0..n-1`` by mirror reflection without edge
    repetition (scipy's ``mirror``, numpy's ``reflect``); period ``2 (n - 1)``, even, so a
    Bayer phase is kept. ``n == 1``: all 0."""
    i = torch.arange(start, stop, device=device)
    if n == 1:
        return torch.zeros_like(i)
    m = i.remainder(2 * (n - 1))
    return torch.where(m < n, m, 2 * (n - 1) - m)


def mirror_pad(x: Tensor, top: int, bottom: int, left: int, right: int) -> Tensor:
    """Pad the last two axes by mirror reflection (repeated as often as needed: any size)."""
    h, w = x.shape[-2:]
    if not (top or bottom or left or right):
        return x
    if max(top, bottom) < h and max(left, right) < w and x.ndim == 4:
        return F.pad(x, (left, right, top, bottom), mode="reflect")
    rows = mirror_fold(h, -top, h + bottom, x.device)
    cols = mirror_fold(w, -left, w + right, x.device)
    return x[..., rows[:, None], cols[None, :]]
