"""Pictures in, pictures out: the one boundary between files and models.

:class:`chromaprior.core.io.Picture` (numpy, as :func:`chromaprior.core.io.read_image` returns it and
:func:`chromaprior.core.io.write_image` takes it) on one side, the models' ``(B, C, H, W)``
torch tensors on the other. The command line and the web page call these functions; the
rules that were once written in each of them live here once:

* the colour-input rule: a photo with colour (beyond gray or one tint, such as sepia) is
  refused unless ``recolor``, and then its colour is discarded;
* the gray extraction: the gray a colour (or toned) photo is colorized from is the
  colorizer's own luminance (its gray operator, ``mean`` unless told otherwise);
* numpy <-> torch: ``(H, W)`` / ``(H, W, 3)`` pixels <-> ``(1, 1|3, H, W)`` tensors;
* what an output keeps of its input: alpha, EXIF, dpi and bit depth.

Example::

    from chromaprior import Colorizer
    from chromaprior.apps.api import colorize_picture
    from chromaprior.core.io import read_image, write_image

    pic = read_image("old.jpg")
    write_image("old-colour.png", colorize_picture(pic, Colorizer()))
    print(suggest_colours(pic, Colorizer(), x=120, y=80))  # the likely colours of a spot
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from ..core.errors import InputError
from ..core.io import Picture
from ..core.operators import MEAN_WEIGHTS

if TYPE_CHECKING:  # pragma: no cover
    from ..methods.colorize import Colorizer
    from ..methods.hgm import Restorer

__all__ = [
    "to_tensor",
    "to_pixels",
    "luminance",
    "gray_of",
    "colorize_picture",
    "colorize_samples",
    "sample_path",
    "sample_paths",
    "demosaick_mosaic",
    "inpaint_picture",
    "mosaic_picture",
    "palette_of",
    "RECOLOR_ADVICE",
]

#: what the command line tells the owner of a colour photo (the web page says its own)
RECOLOR_ADVICE = "pass --recolor to discard its colour and colorize its gray"


def to_tensor(pixels: np.ndarray) -> Tensor:
    """``(H, W)`` -> ``(1, 1, H, W)``, ``(H, W, C)`` -> ``(1, C, H, W)`` float32 (shares no memory
    with a read-only source)."""
    a = np.ascontiguousarray(pixels, dtype=np.float32)
    t = torch.from_numpy(a)
    return t[None, None] if a.ndim == 2 else t.permute(2, 0, 1)[None]


def to_pixels(t: Tensor) -> np.ndarray:
    """``(1, C, H, W)`` or ``(C, H, W)`` -> ``(H, W, C)`` float32 numpy (``(H, W)`` for ``C = 1``)."""
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise ValueError(f"one image at a time, got a batch of {t.shape[0]}")
        t = t[0]
    a = t.detach().float().cpu().permute(1, 2, 0).numpy()
    return a[..., 0] if a.shape[-1] == 1 else a


def luminance(rgb: np.ndarray, weights: Sequence[float] = MEAN_WEIGHTS) -> np.ndarray:
    """``(H, W, 3)`` -> ``(H, W)`` float32: ``sum_c w_c rgb_c`` with the weights normalised to sum 1
    (the gray operator of :mod:`chromaprior.core.operators`)."""
    w = np.asarray(weights, dtype=np.float64)
    w = (w / w.sum()).astype(np.float32)
    return np.tensordot(np.asarray(rgb, dtype=np.float32), w, axes=([-1], [0])).astype(np.float32)


def gray_of(pic: Picture, weights: Sequence[float] = MEAN_WEIGHTS, *, recolor: bool = False, name: str = "input",
            advice: str = RECOLOR_ADVICE) -> np.ndarray:
    """The ``(H, W)`` gray to colorize from a picture, by the colour-input rule: gray and toned
    (sepia) photos are accepted, a photo with colour only with ``recolor`` (its colour is then
    discarded); colour pictures give their luminance under ``weights``.

    Raises :class:`InputError` ``"{name}: already in colour ({advice})"``."""
    if pic.has_colour and not recolor:
        raise InputError(f"{name}: already in colour ({advice})")
    return luminance(pic.pixels, weights) if pic.is_color else np.asarray(pic.pixels, dtype=np.float32)


def _colorize_inputs(pic: Picture, colorizer: "Colorizer", recolor: bool, name: str, hints, reference):
    """The gray tensor, parsed hints and reference palette of a colorization."""
    y = to_tensor(gray_of(pic, colorizer.weights, recolor=recolor, name=name))
    if isinstance(hints, (str, bytes)) or hasattr(hints, "__fspath__"):
        from ..core.hints import load_hints

        hints = load_hints(hints, width=y.shape[-1], height=y.shape[-2])
    if isinstance(reference, Picture):
        reference = palette_of(reference)
    return y, hints, reference


def _result(pic: Picture, out: Tensor) -> Picture:
    return Picture(to_pixels(out), pic.alpha, bits=pic.bits, info=dict(pic.info))


def colorize_picture(pic: Picture, colorizer: "Colorizer", *, recolor: bool = False, name: str = "input",
                     hints=None, reference: Picture | Tensor | None = None, **options) -> Picture:
    """Colorize a picture; the result keeps its alpha, EXIF, dpi and bit depth.

    Args:
        pic: the gray (or toned, or with ``recolor`` colour) photo.
        colorizer: a :class:`chromaprior.methods.colorize.Colorizer`.
        recolor: accept a photo with colour (its colour is discarded).
        name: the file's name in messages.
        hints: colour hints in the picture's pixels (a JSON path, or parsed
            :class:`chromaprior.core.hints.Hint` objects).
        reference: a colour photo (:class:`Picture` or ``(1, 3, h, w)``) whose palette the
            colours are moved towards.
        options: the keyword arguments of :meth:`Colorizer.__call__` (preset, seed, work_size,
            temperature, vividness, callback).
    """
    y, hints, reference = _colorize_inputs(pic, colorizer, recolor, name, hints, reference)
    return _result(pic, colorizer(y, hints=hints, reference=reference, **options))


def suggest_colours(pic: Picture, colorizer: "Colorizer", x: float, y: float, *, top: int | None = None,
                    hints=None, recolor: bool = False, name: str = "input", work_size: int | None = None) -> list[dict]:
    """The likely colours of the spot ``(x, y)`` of a picture (the steerable colorizer's own
    distribution there, given ``hints``; :meth:`chromaprior.steer.SteeredPhoto.suggest`):
    ``[{"rgb": [r, g, b], "p": 0.31}, ...]``, most likely first."""
    from ..methods.steer import DEFAULT_TOP

    gray, hints, _ = _colorize_inputs(pic, colorizer, recolor, name, hints, None)
    photo = colorizer.prepare(gray, work_size)
    try:
        return photo.suggest(x, y, top or DEFAULT_TOP, hints)
    except InputError as e:
        raise InputError(f"{name}: {e}") from None


def colorize_samples(pic: Picture, colorizer: "Colorizer", samples: int = 4, *, seed: int = 0,
                     only: Sequence[int] | None = None, recolor: bool = False, name: str = "input", hints=None,
                     reference: Picture | Tensor | None = None, **options) -> Iterator[tuple[int, Picture]]:
    """Several colourings of one picture, from the seeds ``seed .. seed + samples - 1``
    (:meth:`chromaprior.methods.colorize.Colorizer.samples`: drawn together in batches, sample 0 is
    :func:`colorize_picture`'s result with ``seed`` to float rounding). Only a sampled
    method (a score prior such as ``jgm``) may be asked for more than one; a supervised one
    (``unet``, ``cgan``, ``semantic``) gives one answer (:func:`chromaprior.models.registry.check_samples`:
    a one-line :class:`InputError`, raised at the call, before any work).

    Args:
        pic, colorizer, recolor, name, hints, reference: as :func:`colorize_picture`.
        samples: how many colourings (``1 .. MAX_SAMPLES``).
        seed: the first seed.
        only: draw only these seeds (say, those whose file is missing).
        options: preset, work_size, temperature, vividness, callback, batch
            (:meth:`Colorizer.samples`).
    Returns:
        an iterator of ``(seed, Picture)``, one full-size result held at a time; each keeps
        the input's alpha, EXIF, dpi and bit depth.
    """
    colorizer.check_samples(samples, seed)
    y, hints, reference = _colorize_inputs(pic, colorizer, recolor, name, hints, reference)
    drawn = colorizer.samples(y, samples, seed=seed, only=only, hints=hints, reference=reference, **options)
    return ((s, _result(pic, out)) for s, out in drawn)


def sample_path(path: str | Path, seed: int) -> Path:
    """Where the sample of ``seed`` is written for the output ``path``: ``NAME-s{seed}.EXT``
    beside it (``out/photo.png`` -> ``out/photo-s3.png``)."""
    path = Path(path)
    return path.with_name(f"{path.stem}-s{seed}{path.suffix}")


def sample_paths(path: str | Path, samples: int = 1, seed: int = 0) -> list[Path]:
    """The files of ``samples`` colourings for the output ``path``: the path itself for one
    (the plain single-seed output), else :func:`sample_path` of each seed ``seed ..
    seed + samples - 1``."""
    return [Path(path)] if samples == 1 else [sample_path(path, s) for s in range(seed, seed + samples)]


def palette_of(pic: Picture, name: str = "reference") -> Tensor:
    """A reference photo for palette transfer, ``(1, 3, h, w)``; it must have colour."""
    if not pic.has_colour:
        raise InputError(f"{name}: the reference must be a colour photo")
    return to_tensor(pic.pixels)


def demosaick_mosaic(raw: np.ndarray, restorer: "Restorer", pattern: str = "RGGB", *, bits: int = 8,
                     **options) -> Picture:
    """Demosaick an ``(H, W)`` Bayer mosaic in ``[0, 1]`` (as :func:`chromaprior.core.io.read_mosaic`
    returns it, with its ``bits``) into a colour picture of that bit depth. ``options``: preset,
    seed, callback (:meth:`Restorer.demosaick`)."""
    out = restorer.demosaick(to_tensor(raw), pattern.upper(), **options)
    return Picture(to_pixels(out), bits=bits)


def inpaint_picture(pic: Picture, mask: Picture, restorer: "Restorer", *, name: str = "mask",
                    **options) -> Picture:
    """Fill the pixels of ``pic`` that are white (> 0.5) in ``mask`` (a same-size picture); a
    gray picture stays gray; alpha, EXIF, dpi and bit depth are kept. ``options``: preset,
    seed, callback (:meth:`Restorer.inpaint`)."""
    if mask.pixels.shape[:2] != pic.pixels.shape[:2]:
        raise InputError(f"{name}: mask is {mask.pixels.shape[1]}x{mask.pixels.shape[0]}, "
                         f"image is {pic.pixels.shape[1]}x{pic.pixels.shape[0]}; they must be the same size")
    missing = torch.from_numpy(luminance(mask.pixels) if mask.is_color else np.asarray(mask.pixels)) > 0.5
    if missing.all():
        raise InputError(f"{name}: every pixel is marked missing; nothing to start from")
    if not missing.any():
        import warnings

        warnings.warn(f"{name}: no white (missing) pixels; the image is copied unchanged")
    rgb = pic.pixels if pic.is_color else np.repeat(np.asarray(pic.pixels)[..., None], 3, axis=2)
    out = to_pixels(restorer.inpaint(to_tensor(rgb), missing[None, None], **options))
    return Picture(out if pic.is_color else out.mean(axis=2), pic.alpha, bits=pic.bits, info=dict(pic.info))


def mosaic_picture(pic: Picture, pattern: str = "RGGB", name: str = "input") -> np.ndarray:
    """The ``(H, W)`` Bayer mosaic of a colour picture."""
    from ..methods.hgm import mosaic

    if not pic.is_color:
        raise InputError(f"{name}: a gray image has no colours to mosaic")
    return mosaic(to_tensor(pic.pixels), pattern.upper())[0, 0].numpy()
