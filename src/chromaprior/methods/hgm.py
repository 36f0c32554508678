"""Demosaicking and inpainting with a score prior (HGM), at the input's full resolution.

A :class:`Restorer` holds one image prior (trained with ``--task restore``; usually HGM's
pixel-scale lift) and solves ``y = A x`` for a Bayer operator (demosaicking) or a pixel
mask (inpainting) with the annealed Langevin sampler. The image is padded by reflection
to a size the network takes (which keeps the Bayer phase, since reflection moves pixels
by even offsets) and cropped back; the result meets the measurement exactly.

Sampling starts part-way down the noise ladder (``start_level``) from a first
restoration plus that level's noise, not from pure noise: the first restoration is the
classical :func:`fill` by default, or, in HGM's progressive strategy, the result of a
second (usually 3-channel) prior given as ``first_stage``. ``start_level=0`` is the
paper's plain sampler from noise.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from ..core.errors import InputError
from ..core import operators
from ..models.registry import input_multiple, load_model
from ..core.filters import gaussian_blur
from ..core.tiles import mirror_fold
from ..core.lifts import make_lift
from .sampling import Preset, get_preset, sample, seeded_generators

__all__ = ["Restorer", "mosaic", "fill", "START_LEVEL"]

#: Default first level of the sampler (of a 10-level ladder, scaled for others).
START_LEVEL = 6


def mosaic(rgb: Tensor, pattern: str) -> Tensor:
    """Bayer mosaic of an image: ``(B, 3, H, W) -> (B, 1, H, W)``."""
    return operators.bayer(pattern, *rgb.shape[-2:]).forward(rgb)


def fill(op: operators.Operator, y: Tensor) -> Tensor:
    """Classical first guess for operators that observe single channels of single
    pixels (masks, Bayer): normalised convolution of the observed values with Gaussians
    of growing width until every pixel and channel is covered; observed values are kept.

    With a Bayer operator this is close to bilinear demosaicking; with a mask, a smooth
    membrane over the holes.

    Args:
        op: ``(B, 3, H, W) -> (B, k, H, W)``, with ``A^T A`` diagonal.
        y: ``(B, k, H, W)``.
    Returns:
        ``(B, 3, H, W)`` with ``A x = y``.
    """
    values = op.adjoint(y)
    weight = op.adjoint(op.forward(torch.ones_like(values)))  # 1 where a channel is observed
    out, done = torch.zeros_like(values), torch.zeros_like(values, dtype=torch.bool)
    sigma = 0.5
    while not done.all():
        wb = gaussian_blur(weight, sigma)
        est = gaussian_blur(values, sigma) / wb.clamp_min(1e-12)
        ready = (wb > 1e-3) & ~done
        out = torch.where(ready, est, out)
        done |= ready
        sigma *= 2
        if sigma > 4 * max(y.shape[-2:]):
            out = torch.where(done, out, values.new_tensor(0.5))  # nothing observed in this channel
            break
    return op.project(out, y)


class Restorer:
    """Demosaicking and inpainting with a restoration score prior.

    Args:
        model: folder of ``model.safetensors`` + ``model.json``; None = the shipped prior.
        device: torch device to run on.
        first_stage: what starts this prior's sampling instead of :func:`fill`: a second
            model (or :class:`Restorer`; HGM's progressive strategy) or the name of a
            classical method of :mod:`chromaprior.methods.baselines` (e.g. ``Menon2007``,
            ``biharmonic``; the ``eval`` extra).
        start_level: ladder level at which sampling starts from the first restoration
            (default :data:`START_LEVEL`, chosen on the training validation split).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        device: str | torch.device = "cpu",
        first_stage: "str | Path | Restorer | None" = None,
        start_level: int | None = None,
    ):
        self.net, self.card = load_model(model, task="restore")
        if self.card.get("task", "colorize") != "restore":
            raise InputError("this model is a colorization prior; demosaick/inpaint need a model trained with --task restore")
        if self.card.get("lift") is None:
            raise InputError(f"this is a {self.card.get('method')} network, not a score prior (HGM): "
                             "use it with --method learned (chromaprior.methods.learned.LearnedDemosaicker)")
        self.device = torch.device(device)
        self.net.to(self.device)
        self.lift = make_lift(self.card["lift"])
        self.multiple = input_multiple(self.card)
        from .baselines import DEMOSAICKERS, INPAINTERS

        self.classical = first_stage if isinstance(first_stage, str) and first_stage in {**DEMOSAICKERS, **INPAINTERS} else None
        if first_stage is not None and self.classical is None and not isinstance(first_stage, Restorer):
            first_stage = Restorer(first_stage, device)
        self.first_stage = None if self.classical else first_stage
        levels = len(self.net.sigmas)
        start_level = round(START_LEVEL * (levels - 1) / 9) if start_level is None else start_level
        if not 0 <= start_level < levels:
            raise InputError(f"start_level must be in [0, {levels - 1}], got {start_level}")
        self.start_level = start_level

    def _preset(self, preset: str | Preset) -> Preset:
        preset = get_preset(preset) if isinstance(preset, str) else preset
        return replace(preset, first_level=max(preset.first_level, self.start_level))

    #: a score prior: each seed draws another restoration (the learned restorers: False)
    sampled = True

    def nfe(self, preset: str | Preset = "fast") -> int:
        """Network evaluations per image with this preset (both stages)."""
        own = self._preset(preset).nfe(len(self.net.sigmas))
        return own + (self.first_stage.nfe(preset) if self.first_stage else 0)

    def _pad(self, t: Tensor) -> Tensor:
        """Pad the bottom and right to multiples of :attr:`multiple` by mirroring (without
        repeating the edge, so a Bayer mosaic keeps its phase), repeated as often as needed:
        any size works, down to 1x1 (sides under twice the multiple are padded to that)."""
        h, w = t.shape[-2:]
        least = 2 * self.multiple  # the network's coarsest feature map must keep more than one pixel
        ph, pw = max(-h % self.multiple, least - h), max(-w % self.multiple, least - w)
        if not (ph or pw):
            return t
        return t[..., mirror_fold(h, 0, h + ph, t.device)[:, None], mirror_fold(w, 0, w + pw, t.device)[None, :]]

    def restore(
        self,
        operator_at: Callable[[int, int], operators.Operator],
        y: Tensor,
        preset: str | Preset = "fast",
        seed: int = 0,
        callback: Callable[[int, int], None] | None = None,
        classical: Callable[[Tensor], Tensor] | None = None,
    ) -> Tensor:
        """Sample ``x`` with ``A x = y``.

        Args:
            operator_at: ``(H, W) -> A`` for the padded size (a pixel-wise operator whose
                pattern starts at the top-left corner).
            y: measurement ``(B, k, H, W)``.
            classical: ``padded y -> (B, 3, H, W)`` first restoration (when ``first_stage``
                names a classical method).
        Returns:
            ``(B, 3, H, W)`` in ``[0, 1]`` (clipped after the final exact projection).
        """
        height, width = y.shape[-2:]
        y = self._pad(y.float().to(self.device))
        op = operator_at(*y.shape[-2:]).to(self.device)
        if self.first_stage is not None:
            start = self.first_stage.restore(operator_at, y, preset, seed, callback=callback)
        elif classical is not None:
            start = op.project(classical(y).to(y), y)
        else:
            start = fill(op, y)
        x = sample(self.net, op, y, self._preset(preset), generator=seeded_generators(seed, y.shape[0]),
                   lift=self.lift, init=start, callback=callback)
        return x[..., :height, :width].clamp(0, 1)

    def demosaick(self, raw: Tensor, pattern: str = "RGGB", preset: str | Preset = "fast", seed: int = 0, *,
                  callback: Callable[[int, int], None] | None = None, tile: int | None = None) -> Tensor:
        """Demosaick a Bayer mosaic (the signature of every restorer, :class:`~chromaprior.methods.learned.AnyRestorer`).

        Args:
            raw: ``(H, W)`` or ``(B, 1, H, W)`` in ``[0, 1]`` (as :class:`Colorizer` takes gray
                images); ``pattern`` its 2x2 tile (e.g. ``RGGB``).
            tile: unused (the learned restorers' tile side; the sampler works on the whole image).
        Returns:
            ``(B, 3, H, W)`` in ``[0, 1]`` (``B = 1`` for an ``(H, W)`` input) whose mosaic
            equals ``raw``; image ``b`` of a batch is sampled with seed ``seed + b``.
        """
        raw = operators.as_batch(raw, 1, "mosaic")
        operators.bayer(pattern, 2, 2)  # validates the pattern name
        classical = None
        if self.classical:
            from .baselines import DEMOSAICKERS

            if self.classical not in DEMOSAICKERS:
                raise InputError(f"{self.classical} is not a demosaicking method ({', '.join(DEMOSAICKERS)})")
            method = DEMOSAICKERS[self.classical]
            classical = lambda yp: torch.cat([method(yp[i : i + 1].cpu(), pattern) for i in range(len(yp))])  # noqa: E731
        return self.restore(lambda h, w: operators.bayer(pattern, h, w), raw, preset, seed, callback=callback,
                            classical=classical)

    def inpaint(self, image: Tensor, missing: Tensor, preset: str | Preset = "fast", seed: int = 0, *,
                callback: Callable[[int, int], None] | None = None, tile: int | None = None) -> Tensor:
        """Fill the missing pixels of an image (``tile``: unused, as in :meth:`demosaick`).

        Args:
            image: ``(3, H, W)`` or ``(B, 3, H, W)`` in ``[0, 1]`` (values at missing pixels are
                ignored).
            missing: ``(H, W)`` or ``(B, 1, H, W)``, true where pixels are missing.
        Returns:
            ``(B, 3, H, W)`` in ``[0, 1]`` (``B = 1`` for a ``(3, H, W)`` image) equal to
            ``image`` at the kept pixels.
        """
        image = operators.as_batch(image, 3, "image")
        if missing.ndim == 2:
            missing = missing[None, None].expand(image.shape[0], -1, -1, -1)
        if image.ndim != 4 or image.shape[1] != 3 or missing.shape != (image.shape[0], 1, *image.shape[-2:]):
            raise ValueError(f"need image (B, 3, H, W) and mask (B, 1, H, W); got {tuple(image.shape)}, {tuple(missing.shape)}")
        keep = self._pad((~missing.bool()).float().to(self.device))
        y = image.float().to(self.device) * (~missing.bool()).float().to(self.device)
        classical = None
        if self.classical:
            from .baselines import INPAINTERS

            if self.classical not in INPAINTERS:
                raise InputError(f"{self.classical} is not an inpainting method ({', '.join(INPAINTERS)})")
            method = INPAINTERS[self.classical]
            holes = (keep == 0).cpu()
            classical = lambda yp: torch.cat([method(yp[i : i + 1].cpu(), holes[i : i + 1]) for i in range(len(yp))])  # noqa: E731
        return self.restore(lambda h, w: operators.mask(keep[..., :h, :w]), y, preset, seed, callback=callback,
                            classical=classical)
