"""Colour you can steer: one photo, its encoder features kept, re-coloured for each set of hints.

:class:`SteeredPhoto` runs the steerable colorizer's encoder once per photo (at the
working size) and keeps the features, so that every edit (a hint added, moved, removed)
costs only the decoder and the finishing: the web page's preview, the CLI and the film
pipeline share it. For a spot it also gives the likely colours (:meth:`SteeredPhoto.suggest`):
the network's own distribution over a*b* bins in that working-grid cell, given the hints
already placed, each colour shown at the pixel's own gray and in gamut.

The finishing is edge-aware: the working-size chroma is modelled locally as a linear
function of the gray (the guided filter, :func:`chromaprior.core.filters.guided_coefficients`,
radius and eps from the model card), so at full size colour changes where the full-size
gray has edges; then the hinted pixels get their hinted chroma exactly and the gamut clamp
keeps the gray exact everywhere.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core import operators
from ..core.color import AB_SCALE, gamut_clamp, lab_to_rgb, rgb_to_lab, transfer_palette
from ..core.errors import InputError
from ..core.filters import edge_aware_propagate, guided_coefficients
from ..core.hints import Hint, rasterize
from ..core.tiles import finish
from ..nets.steerable import SteerableColorizer, hint_planes, pool_hints

__all__ = ["SteeredPhoto", "DEFAULT_TOP"]

#: colours a suggestion lists by default
DEFAULT_TOP = 6
#: how far (a*b* units) the true colour of a hinted cell is from the hint's: half an a*b* bin
HINT_SIGMA = 5.0


class SteeredPhoto:
    """A gray photo prepared for the steerable colorizer.

    Args:
        net: the steerable colorizer.
        gray: ``(1, 1, H, W)`` in ``[0, 1]``, the full-size photo.
        work: ``(h, w)``, the working grid (multiples of 32).
        weights: the gray operator's weights (sum 1).
    """

    def __init__(self, net: SteerableColorizer, gray: Tensor, work: tuple[int, int], weights: Sequence[float]):
        self.net, self.gray, self.work = net, gray, work
        self.operator = operators.gray(tuple(weights))
        self.small = F.interpolate(gray, size=work, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
        self.lightness = rgb_to_lab(self.small.expand(-1, 3, -1, -1))[:, :1]
        with torch.no_grad():
            self.feats = net.encode(self.small)

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.gray.shape[-2:])  # type: ignore[return-value]

    def _scale(self, grid: tuple[int, int]) -> tuple[float, float]:
        return grid[0] / self.size[0], grid[1] / self.size[1]

    def _grid_hints(self, hints: list[Hint]) -> tuple[Tensor, Tensor, Tensor]:
        """The hints on the working grid: hinted pixels ``(1, 1, h, w)``, their colours
        ``(1, 3, h, w)`` and the network's hint planes (:func:`hint_planes`)."""
        keep, colors = rasterize(hints, *self.work, self._scale(self.work))
        keep, colors = keep.to(self.small), colors.to(self.small)
        return keep, colors, hint_planes(keep, rgb_to_lab(colors)[:, 1:])

    def _logits(self, planes: Tensor | None) -> Tensor:
        """The network's a*b*-bin logits ``(1, Q, h/4, w/4)`` given hint planes (None: none)."""
        with torch.no_grad():
            return self.net.decode(self.feats, planes)

    def chroma(self, hints: list[Hint] | None = None, vividness: float | None = None,
               reference: Tensor | None = None) -> Tensor:
        """Working-size chroma ``(1, 3, h, w)`` (``A c = 0``) of the colouring with ``hints``:
        the network's (its hinted path, or with ``colour_from="automatic"`` its automatic one),
        then (``spread_decay`` > 0) what it leaves of each hint's correction spread edge-aware
        over the gray."""
        cfg = self.net.config
        grid = self._grid_hints(hints) if hints else None
        hinted = grid is not None and cfg.colour_from == "hinted"
        ab = self.net.read_out(self._logits(grid[2] if hinted else None), hinted, vividness)
        ab = F.interpolate(ab, size=self.work, mode="bilinear", align_corners=False)
        x = lab_to_rgb(torch.cat([self.lightness, ab], dim=1))
        if reference is not None:
            x = transfer_palette(x, reference)
        chroma = x - self.operator.forward(x)
        if grid is not None and cfg.spread_decay > 0:
            keep, colors, _ = grid
            wanted = colors - self.operator.forward(colors)
            chroma = chroma + edge_aware_propagate(self.small, keep * (wanted - chroma), keep,
                                                   cfg.spread_decay, cfg.spread_sigma)
        return chroma

    def colorize(self, hints: list[Hint] | None = None, vividness: float | None = None, temperature: float = 6500.0,
                 reference: Tensor | None = None, gray: Tensor | None = None) -> Tensor:
        """The colour photo ``(1, 3, H, W)`` in ``[0, 1]`` with the gray ``gray`` (default: the
        photo's own; a smaller copy gives a preview, hints still in the photo's pixels)."""
        gray = self.gray if gray is None else gray
        chroma = self.chroma(hints, vividness, reference)
        cfg = self.net.config
        slope = None
        if cfg.edge_radius > 0:
            slope, chroma = guided_coefficients(self.small, chroma, cfg.edge_radius, cfg.edge_eps)
        fixed = None
        if hints:
            scale = self._scale(tuple(gray.shape[-2:]))

            def fixed(top: int, bottom: int) -> tuple[Tensor, Tensor]:
                keep, colors = rasterize(hints, bottom - top, gray.shape[-1], scale, rows=(top, bottom))
                return keep.to(gray.device), (colors - self.operator.forward(colors)).to(gray.device)

        return finish(gray, chroma, temperature, slope=slope, fixed=fixed)

    def _at_gray(self, ab: Tensor, gray: Tensor, steps: int = 24) -> Tensor:
        """The colours ``(N, 3, 1, 1)`` of a*b* ``(N, 2)`` whose gray (this photo's operator) is
        ``gray``: L* found by bisection (the gray grows with L* at fixed a*b*), unclipped."""
        lo, hi = torch.zeros(len(ab), 1, 1, 1), torch.full((len(ab), 1, 1, 1), 100.0)
        ab = ab.view(-1, 2, 1, 1)
        for _ in range(steps):
            mid = (lo + hi) / 2
            darker = self.operator.forward(lab_to_rgb(torch.cat([mid, ab], dim=1))) < gray
            lo, hi = torch.where(darker, mid, lo), torch.where(darker, hi, mid)
        return lab_to_rgb(torch.cat([(lo + hi) / 2, ab], dim=1))

    def suggest(self, x: float, y: float, top: int = DEFAULT_TOP, hints: list[Hint] | None = None) -> list[dict]:
        """The ``top`` most likely colours of the spot ``(x, y)`` (input pixels): its working-grid
        cell's predicted distribution given ``hints`` (a hint in that cell also weighs each bin by
        its closeness to the hint's colour, :data:`HINT_SIGMA`), each bin's a*b* rendered at the
        pixel's own gray (the L* that gives that gray) and brought into the RGB cube (bins that render alike are merged, their
        probabilities added). Returns ``[{"rgb": [r, g, b], "p": 0.31}, ...]``, most likely first."""
        height, width = self.size
        if not (0 <= x < width and 0 <= y < height):
            raise InputError(f"the spot ({x:g}, {y:g}) is outside the {width}x{height} photo")
        if not 1 <= top <= 50:
            raise InputError(f"top must be in 1..50, got {top}")
        planes = self._grid_hints(hints)[2] if hints else None
        logits = self._logits(planes)
        lh, lw = logits.shape[-2:]
        row, col = min(lh - 1, int((y + 0.5) * lh / height)), min(lw - 1, int((x + 0.5) * lw / width))
        p = torch.softmax(logits[0, :, row, col].float(), dim=0)
        if planes is not None:  # a hint in the cell is evidence of its colour: p(bin) x N(hint's a*b*; bin, HINT_SIGMA)
            cell = pool_hints(planes, (lh, lw))[0, :, row, col]
            if cell[2] > 0:
                d2 = ((self.net.centres.to(p) - cell[:2] * AB_SCALE) ** 2).sum(dim=1)
                p = p * torch.exp(-d2 / (2 * HINT_SIGMA**2))
                p = p / p.sum().clamp_min(1e-30)
        g = self.gray[0, 0, int(y), int(x)].float().clamp(0, 1)
        rgb = self._at_gray(self.net.centres.to(p), g)
        rgb = gamut_clamp(g.expand(len(p), 1, 1, 1), rgb - self.operator.forward(rgb))
        keys = torch.round(rgb.view(-1, 3) * 255).to(torch.int64)
        merged: dict[tuple[int, int, int], float] = {}
        for key, prob in zip(map(tuple, keys.tolist()), p.tolist()):
            merged[key] = merged.get(key, 0.0) + prob
        best = sorted(merged.items(), key=lambda kv: -kv[1])[:top]
        return [{"rgb": list(k), "p": round(v, 4)} for k, v in best]
