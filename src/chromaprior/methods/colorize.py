"""Colorization of grayscale photos at full resolution, with any of the methods.

A JGM (or RGB) score prior is sampled at the model's working size (the short side
resized to it); the guided JGM (``jgm-guided``) is sampled the same way, with the condition
of its network (the gray and the frozen semantic colorizer's features) computed once per
image and passed to the sampler; a supervised U-Net (``unet``, ``cgan``) predicts a*b* there from the L*
of the gray image, in one network evaluation. Either way that gives a colour image at
the working size whose chroma (the part of the colour in the null space of the gray
operator, ``A c = 0``) is upsampled to the input's size and added to the input's own
full-resolution gray. The result reproduces the input gray exactly (``A x = y``) and is
brought into the RGB cube by shrinking chroma, never by changing the luminance. An
optional colour temperature (:func:`chromaprior.core.color.white_balance`) is applied last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.errors import InputError
from ..core import operators
from ..models.registry import check_samples, colorize_methods, get_method, input_multiple, load_model, shipped_model
from ..core.color import AB_SCALE, L_SCALE, gamut_clamp, lab_to_rgb, rgb_to_lab, transfer_palette
from ..core.hints import Hint, hint_operator, propagate, rasterize
from ..core.lifts import make_lift
from .sampling import Preset, get_preset, sample
from .steer import SteeredPhoto

__all__ = ["Colorizer", "gamut_clamp", "working_size", "GRAY_WEIGHTS", "SAMPLE_BATCH_PIXELS"]

#: working-size pixels sampled in one batch when several colourings of a photo are drawn
#: (:meth:`Colorizer.samples`): 21 samples of a 64x96 grid, one of 256x512 (bounded memory)
SAMPLE_BATCH_PIXELS = 2**17

#: Named gray operators for (blind) colorization, Eq. (18) and (19) of the JGM paper.
GRAY_WEIGHTS = {"mean": operators.MEAN_WEIGHTS, "bt601": operators.BT601_WEIGHTS}


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
        method: ``jgm``, ``jgm-guided``, ``cgan``, ``unet`` or ``semantic``: picks the shipped
            model, or checks that ``model`` is of that method.
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
            model = shipped_model(method)
        self.net, self.card = load_model(model, task="colorize")
        if self.card.get("task", "colorize") != "colorize":
            raise InputError("this model is a restoration prior (demosaick/inpaint), not a colorizer")
        self.spec = get_method(self.card.get("method", "jgm"))
        self.supervised = self.spec.supervised
        #: a score prior: every seed draws another colouring (:meth:`samples`)
        self.sampled = self.spec.sampled
        #: a score prior conditioned on the photo (jgm-guided): its condition is computed once per image
        self.conditional = self.spec.conditional
        # score priors: the jgm family (jgm, jgm-divide, rgb), or jgm-guided
        self.method = self.card.get("method", "cgan") if self.supervised or self.conditional else "jgm"
        if method is not None and self.method != method:
            raise InputError(f"--method {method} but the model is a {self.card.get('method')} model")
        self.device = torch.device(device)
        self.net.to(self.device)
        if compile:
            self.net = torch.compile(self.net)
        self.lift = None if self.supervised else make_lift(self.card["lift"])
        #: jgm-guided: the semantic colorizer sees the gray at ``scale`` x the score network's grid
        self.scale = int(self.net.config.scale) if self.conditional else 1
        self.multiple = input_multiple(self.card)
        self.size = int(self.card.get("work_size") or self.card["training"]["size"])
        weights = GRAY_WEIGHTS[gray] if isinstance(gray, str) else tuple(gray)
        total = float(sum(weights))
        if abs(total) < 1e-8:
            raise InputError(f"gray weights must not sum to 0: {weights}")
        self.weights = tuple(float(w) / total for w in weights)
        self.operator = operators.gray(self.weights)

    def nfe(self, preset: str | Preset) -> int:
        """Network evaluations per image with this preset (score priors: of the score network;
        ``jgm-guided`` also runs the frozen semantic colorizer once per image for its condition)."""
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
            work_size: short side of the working grid (default: the model's training size;
                ``jgm-guided``: the grid the semantic colorizer sees, the prior samples at half of it).
            temperature: colour temperature in kelvin of the light the result is rendered
                under; 6500 leaves it as colorized, lower is warmer.
            hints: colour hints in the input's pixel coordinates (:mod:`chromaprior.core.hints`):
                extra data-consistency rows for score priors, blended chroma for U-Nets.
            reference: ``(1, 3, h, w)`` photo in ``[0, 1]`` whose palette the colours are moved
                towards (:func:`chromaprior.core.color.transfer_palette`, before the hints).
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
        return next(self._colorings(gray, [seed], preset, work_size, callback, temperature, hints, reference,
                                    vividness))

    def prepare(self, gray: Tensor, work_size: int | None = None) -> SteeredPhoto:
        """A photo ``(H, W)`` or ``(1, 1, H, W)`` prepared for steering (the steerable colorizer
        only): its encoder features kept, re-coloured per set of hints (:class:`SteeredPhoto`)."""
        if not self.spec.steerable:
            raise InputError(f"{self.method} does not take hints as input; the steerable colorizer does")
        gray = operators.as_batch(gray, 1, "gray").float().clamp(0, 1).to(self.device)
        if gray.shape[0] != 1:
            raise InputError(f"one photo at a time is prepared for steering, got a batch of {gray.shape[0]}")
        work = working_size(*gray.shape[-2:], work_size or self.size, multiple=self.multiple)
        return SteeredPhoto(self.net, gray, work, self.weights)

    def check_vividness(self, vividness: float | None) -> None:
        """A vividness is given only to a method that reads its colour out with one
        (:attr:`chromaprior.models.registry.Method.vividness`); one-line :class:`InputError` otherwise."""
        if vividness is not None and not self.spec.vividness:
            which = ", ".join(m for m in colorize_methods(False) if get_method(m).vividness)
            raise InputError(f"vividness applies to {which}, not to {self.method}")

    def check_samples(self, samples: int, seed: int = 0) -> int:
        """``samples`` colourings of one photo are allowed for this model
        (:func:`chromaprior.models.registry.check_samples`: 1 for a supervised model, up to
        ``MAX_SAMPLES`` for a score prior); one-line :class:`InputError` otherwise."""
        return check_samples(samples, self.spec, seed)

    def samples(
        self,
        gray: Tensor,
        samples: int = 4,
        preset: str | Preset = "fast",
        seed: int = 0,
        *,
        only: Sequence[int] | None = None,
        batch: int | None = None,
        callback: Callable[[int, int], None] | None = None,
        **options,
    ) -> Iterator[tuple[int, Tensor]]:
        """Several colourings of one photo: sample ``s`` is drawn with seed ``seed + s``, the
        seed :meth:`__call__` would use, so sample 0 is the single-seed result.

        The samples go through the sampler together, ``batch`` at a time (default: as many
        as fit in :data:`SAMPLE_BATCH_PIXELS` working-size pixels); each is finished at full
        resolution when it is yielded, so only one full-size result is held at a time.
        Network calls on a batch round differently from calls on one image (about 1e-5
        in the score), so a sample equals its single-seed result to float rounding (in an
        8-bit file at most one level at a few pixels); ``batch=1`` makes them identical.

        Args:
            gray: one image, ``(H, W)`` or ``(1, 1, H, W)`` in ``[0, 1]``.
            samples: how many (:meth:`check_samples`: above 1 only for a score prior).
            seed: the first seed; the seeds are ``seed .. seed + samples - 1``.
            only: draw only these of the seeds (for instance the ones whose file is missing).
            batch: samples per sampler batch.
            callback: ``callback(done, total)`` in network evaluations per image
                (``total = nfe * number of seeds drawn``).
            options: the other keyword arguments of :meth:`__call__` (work_size,
                temperature, hints, reference, vividness).
        Returns:
            an iterator of ``(seed, (1, 3, H, W))`` in the order of the seeds (the checks
            happen at the call, the work as it is consumed).
        """
        self.check_samples(samples, seed)
        gray = operators.as_batch(gray, 1, "gray")
        if gray.shape[0] != 1:
            raise InputError(f"several samples are drawn for one photo at a time, got a batch of {gray.shape[0]}")
        seeds = list(range(seed, seed + samples))
        if only is not None:
            wanted = set(only)
            seeds = [s for s in seeds if s in wanted]
        unknown = set(options) - {"work_size", "temperature", "hints", "reference", "vividness"}
        if unknown:
            raise TypeError(f"unexpected options {sorted(unknown)}")
        outputs = self._colorings(gray, seeds, preset, options.get("work_size"), callback,
                                  options.get("temperature", 6500.0), options.get("hints"), options.get("reference"),
                                  options.get("vividness"), batch)
        return zip(seeds, outputs)

    def _colorings(self, gray: Tensor, seeds: Sequence[int], preset, work_size, callback, temperature, hints,
                   reference, vividness, batch: int | None = None) -> Iterator[Tensor]:
        """One ``(1, 3, H, W)`` colouring of the ``(1, 1, H, W)`` gray per seed (score priors
        sample them ``batch`` at a time; a supervised model gives its one answer)."""
        gray = gray.float().clamp(0, 1).to(self.device)
        height, width = gray.shape[-2:]
        h, w = working_size(height, width, work_size or self.size, multiple=self.multiple)
        big = None
        if self.conditional:  # the working size is what the semantic colorizer sees; the prior samples at 1/scale
            big = F.interpolate(gray, size=(h, w), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
            h, w = h // self.scale, w // self.scale
        if reference is not None:  # statistics only: a working-size copy is enough
            rh, rw = working_size(*reference.shape[-2:], short=max(h, w))
            reference = F.interpolate(reference.float(), size=(rh, rw), mode="area").to(self.device)
        self.check_vividness(vividness)
        if self.supervised and len(seeds) > 1:
            raise InputError(f"{self.method} gives one answer per photo; it cannot draw {len(seeds)} samples")
        if self.spec.steerable:  # the network takes the hints itself (methods.steer)
            photo = SteeredPhoto(self.net, gray, (h, w), self.weights)
            if callback:
                callback(1, 1)
            for _ in seeds:
                yield photo.colorize(hints, vividness, temperature, reference)
            return
        small = F.interpolate(gray, size=(h, w), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
        keep = hinted = None
        if hints:
            keep, colors = rasterize(hints, h, w, (h / height, w / width))
            keep, colors = keep.to(self.device), colors.to(self.device)
            hinted = colors - self.operator.forward(colors)  # the hints' chroma
        from ..core.tiles import finish  # upsample, clamp, re-light in row strips (bounded memory)

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
            for _ in seeds:
                yield finish(gray, chroma, temperature)
            return
        preset = get_preset(preset) if isinstance(preset, str) else preset
        op, y, init = self.operator, small, small.expand(-1, 3, -1, -1)
        if keep is not None:
            op = operators.stack(op, hint_operator(keep, self.weights))
            y = torch.cat([small, keep * hinted], dim=1)
            init = init + keep * hinted
        with torch.no_grad():
            cond = self.net.condition(big, small) if self.conditional else None  # once per image
        per = max(1, batch or SAMPLE_BATCH_PIXELS // (h * w))
        nfe, total = self.nfe(preset), self.nfe(preset) * len(seeds)
        for start in range(0, len(seeds), per):
            chunk = seeds[start:start + per]
            k, base = len(chunk), start * nfe

            def tick(done: int, _total: int, k=k, base=base) -> None:
                if callback:
                    callback(base + done * k, total)

            yk = y.expand(k, -1, -1, -1)
            x = sample(self.net, op, yk, preset, generator=[torch.Generator().manual_seed(s) for s in chunk],
                       lift=self.lift, init=init.expand(k, -1, -1, -1), callback=tick,
                       cond=None if cond is None else cond.expand(k, -1, -1, -1))
            if reference is not None:  # then the hints, exactly, again
                x = op.project(transfer_palette(x, reference), yk)
            chroma = x - self.operator.forward(x)  # A chroma = 0 since the weights sum to 1
            del x
            for i in range(k):
                yield finish(gray, chroma[i:i + 1], temperature)
