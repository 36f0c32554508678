"""Colorization of grayscale photos at full resolution, with any of the methods.

A JGM (or RGB) score prior is sampled at the model's working size (the short side
resized to it); a supervised U-Net (``unet``, ``cgan``) predicts a*b* there from the L*
of the gray image, in one network evaluation. Either way that gives a colour image at
the working size whose chroma (the part of the colour in the null space of the gray
operator, ``A c = 0``) is upsampled to the input's size and added to the input's own
full-resolution gray. The result reproduces the input gray exactly (``A x = y``) and is
brought into the RGB cube by shrinking chroma, never by changing the luminance. An
optional colour temperature (:func:`chromaprior.color.white_balance`) is applied last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import InputError
from . import operators
from .checkpoint import load_model, shipped_model
from .methods import colorize_methods, get_method, input_multiple
from .color import lab_to_rgb, rgb_to_lab, transfer_palette, white_balance
from .hints import Hint, hint_operator, propagate, rasterize
from .lifts import make_lift
from .nets import AB_SCALE, L_SCALE
from .sampling import Preset, get_preset, sample, seeded_generators

__all__ = ["Colorizer", "gamut_clamp", "working_size", "GRAY_WEIGHTS"]

#: Named gray operators for (blind) colorization, Eq. (18) and (19) of the JGM paper.
GRAY_WEIGHTS = {"mean": operators.MEAN_WEIGHTS, "bt601": operators.BT601_WEIGHTS}


def gamut_clamp(gray: Tensor, chroma: Tensor) -> Tensor:
    """``gray + t * chroma`` with the largest ``t`` in ``[0, 1]`` per pixel that stays in ``[0, 1]``.

    Args:
        gray: ``(B, 1, H, W)`` in ``[0, 1]``.
        chroma: ``(B, 3, H, W)`` with ``w . chroma = 0`` for the gray weights ``w``.
    Returns:
        ``(B, 3, H, W)`` in ``[0, 1]`` with the same gray (``sum w = 1``) and hue.
    """
    gray = gray.clamp(0, 1)
    # the tightest channel up is the largest positive chroma, down the most negative one
    # (the same t as the minimum over channels of their own room, with two reductions)
    up, down = chroma.amax(dim=1, keepdim=True), chroma.amin(dim=1, keepdim=True)
    t_up = torch.where(up > 1e-12, (1 - gray) / up.clamp_min(1e-12), 1.0)
    t_down = torch.where(down < -1e-12, gray / (-down).clamp_min(1e-12), 1.0)
    t = torch.minimum(t_up, t_down).clamp(0, 1)
    return (gray + t * chroma).clamp(0, 1)


def working_size(height: int, width: int, short: int, max_aspect: float = 4.0, multiple: int = 8) -> tuple[int, int]:
    """Size (multiples of ``multiple``) at which the model runs: short side about ``short``."""
    s = short / min(height, width)
    h = min(round(height * s), round(short * max_aspect))
    w = min(round(width * s), round(short * max_aspect))
    return max(multiple, round(h / multiple) * multiple), max(multiple, round(w / multiple) * multiple)


class Colorizer:
    """Automatic colorization with a JGM (or RGB) score prior or a supervised U-Net.

    Args:
        model: folder of ``model.safetensors`` + ``model.json``; None = the shipped model
            of ``method`` (or the default colorizer).
        device: torch device to run on.
        gray: name of the gray operator (``mean``, as the models' training, or ``bt601``)
            or explicit weights; they are normalised to sum to 1.
        method: ``jgm``, ``cgan``, ``unet`` or ``semantic``: picks the shipped model, or checks that
            ``model`` is of that method.
        compile: run the network through ``torch.compile`` (about 3x faster per network
            call on CPU, after a compilation of a minute or more per working size: worth it
            for folders of many photos).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        device: str | torch.device = "cpu",
        gray: str | Sequence[float] = "mean",
        method: str | None = None,
        compile: bool = False,
    ):
        if method is not None and method not in colorize_methods(shipped_only=False):
            raise InputError(f"unknown colorizer {method!r}; choose one of {', '.join(colorize_methods(False))}")
        if model is None and method is not None:
            if not get_method(method).shipped:
                raise InputError(f"no weights are shipped for {method}; give --model (a model trained with it)")
            model = shipped_model(get_method(method).shipped)
        self.net, self.card = load_model(model, task="colorize")
        if self.card.get("task", "colorize") != "colorize":
            raise InputError("this model is a restoration prior (demosaick/inpaint), not a colorizer")
        self.supervised = get_method(self.card.get("method", "jgm")).supervised
        self.method = self.card.get("method", "cgan") if self.supervised else "jgm"  # score priors: the jgm family
        if method is not None and self.method != method:
            raise InputError(f"--method {method} but the model is a {self.card.get('method')} model")
        self.device = torch.device(device)
        self.net.to(self.device)
        if compile:
            self.net = torch.compile(self.net)
        self.lift = None if self.supervised else make_lift(self.card["lift"])
        self.multiple = input_multiple(self.card)
        self.size = int(self.card.get("work_size") or self.card["training"]["size"])
        weights = GRAY_WEIGHTS[gray] if isinstance(gray, str) else tuple(gray)
        total = float(sum(weights))
        if abs(total) < 1e-8:
            raise InputError(f"gray weights must not sum to 0: {weights}")
        self.weights = tuple(float(w) / total for w in weights)
        self.operator = operators.gray(self.weights)

    def nfe(self, preset: str | Preset) -> int:
        """Network evaluations per image with this preset."""
        if self.supervised:
            return 1
        preset = get_preset(preset) if isinstance(preset, str) else preset
        return preset.nfe(len(self.net.sigmas))

    def luminance(self, rgb: Tensor) -> Tensor:
        """``(B, 3, H, W) -> (B, 1, H, W)``: the gray this colorizer reproduces."""
        return self.operator.forward(rgb)

    def __call__(
        self,
        gray: Tensor,
        preset: str | Preset = "fast",
        seed: int = 0,
        work_size: int | None = None,
        callback: Callable[[int, int], None] | None = None,
        temperature: float = 6500.0,
        hints: list[Hint] | None = None,
        reference: Tensor | None = None,
        vividness: float | None = None,
    ) -> Tensor:
        """Colorize a gray image, or a batch of them.

        Args:
            gray: ``(H, W)`` or ``(B, 1, H, W)`` in ``[0, 1]`` (as :class:`Restorer` takes
                mosaics); image ``b`` of a batch is colorized as if alone with seed
                ``seed + b`` (and the same hints, reference and options).
            preset: sampler preset or its name (score priors; supervised models ignore it).
            seed: seed of this image's generator (score priors).
            work_size: short side of the working grid (default: the model's training size).
            temperature: colour temperature in kelvin of the light the result is rendered
                under; 6500 leaves it as colorized, lower is warmer.
            hints: colour hints in the input's pixel coordinates (:mod:`chromaprior.hints`):
                extra data-consistency rows for score priors, blended chroma for U-Nets.
            reference: ``(1, 3, h, w)`` photo in ``[0, 1]`` whose palette the colours are moved
                towards (:func:`chromaprior.color.transfer_palette`, before the hints).
            vividness: ``semantic`` only: in ``[0, 1]``, the read-out of the predicted colour
                distribution (:func:`chromaprior.nets.semantic.read_out`), from its mean (0:
                muted where the model is unsure) to vivid (1). None: the model's default.
        Returns:
            ``(B, 3, H, W)`` in ``[0, 1]`` (``B = 1`` for an ``(H, W)`` input); its gray equals
            the input at 6500 K.
        """
        gray = operators.as_batch(gray, 1, "gray")
        if gray.shape[0] > 1:
            return torch.cat([self(g[None], preset, seed + b, work_size, callback, temperature, hints, reference,
                                   vividness) for b, g in enumerate(gray)])
        gray = gray.float().clamp(0, 1).to(self.device)
        height, width = gray.shape[-2:]
        h, w = working_size(height, width, work_size or self.size, multiple=self.multiple)
        small = F.interpolate(gray, size=(h, w), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
        keep = hinted = None
        if hints:
            keep, colors = rasterize(hints, h, w, (h / height, w / width))
            keep, colors = keep.to(self.device), colors.to(self.device)
            hinted = colors - self.operator.forward(colors)  # the hints' chroma
        if reference is not None:  # statistics only: a working-size copy is enough
            rh, rw = working_size(*reference.shape[-2:], short=max(h, w))
            reference = F.interpolate(reference.float(), size=(rh, rw), mode="area").to(self.device)
        if vividness is not None and self.method != "semantic":
            raise InputError(f"vividness applies to the semantic colorizer, not to {self.method}")
        if self.supervised:
            with torch.no_grad():
                lightness = rgb_to_lab(small.expand(-1, 3, -1, -1))[:, :1]
                if self.method == "semantic":
                    ab = self.net.ab(small, vividness)
                else:
                    ab = self.net(lightness / L_SCALE - 1) * AB_SCALE
            x = lab_to_rgb(torch.cat([lightness, ab], dim=1))
            if reference is not None:
                x = transfer_palette(x, reference)
            chroma = x - self.operator.forward(x)
            if keep is not None:
                chroma = propagate(chroma, keep, hinted, spread=max(h, w) / 8)
            if callback:
                callback(1, 1)
        else:
            preset = get_preset(preset) if isinstance(preset, str) else preset
            op, y, init = self.operator, small, small.expand(-1, 3, -1, -1)
            if keep is not None:
                op = operators.stack(op, hint_operator(keep, self.weights))
                y = torch.cat([small, keep * hinted], dim=1)
                init = init + keep * hinted
            x = sample(self.net, op, y, preset, generator=seeded_generators(seed, 1), lift=self.lift, init=init,
                       callback=callback)
            if reference is not None:  # then the hints, exactly, again
                x = op.project(transfer_palette(x, reference), y)
            chroma = x - self.operator.forward(x)  # A chroma = 0 since the weights sum to 1
        from .tiles import finish  # upsample, clamp, re-light in row strips (bounded memory)

        return finish(gray, chroma, temperature)
