"""Demosaicking (and inpainting) with the learned networks, the defaults of ``chromaprior
demosaick`` and ``chromaprior inpaint``.

:class:`LearnedDemosaicker` runs a :class:`~chromaprior.nets.demosaick.DemosaickNet`
(trained with ``chromaprior train --method learned-demosaick``; shipped as
``weights/learned-demosaick``) on mosaics of any size and Bayer pattern:

* the pattern is brought to RGGB by a one-pixel mirror shift at the top and/or left
  (mirroring keeps the phase), the sides are mirrored to even lengths;
* large mosaics are cut into overlapping tiles (:func:`chromaprior.core.tiles.overlapping`,
  offsets even, overlap = the network's receptive radius), so memory stays bounded and the
  result equals the whole-image result;
* the result is cropped back, clipped to ``[0, 1]`` and its mosaic equals the input exactly.

:func:`load_demosaicker` picks :class:`LearnedDemosaicker` or the HGM
:class:`~chromaprior.methods.hgm.Restorer` from a model card; :class:`LearnedInpainter` and
:func:`load_inpainter` do the same for inpainting (a global biharmonic fill, then the
network's local correction in overlapping tiles, again equal to the whole-image result).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Protocol

import torch
from torch import Tensor

from ..core import operators
from ..models.checkpoint import read_card
from ..core.errors import InputError
from ..models.registry import METHODS, load_model, resolve_model_path, shipped_model
from ..core.tiles import mirror_pad, overlapping, tile_grid

__all__ = ["LearnedDemosaicker", "load_demosaicker", "DEMOSAICK_METHODS", "LEARNED", "TILE", "rggb_shift",
           "LearnedInpainter", "load_inpainter", "INPAINT_METHODS", "LEARNED_INPAINT"]

#: the method name of the network in the registry, and the ``--method`` names of the command
LEARNED = "learned-demosaick"
DEMOSAICK_METHODS = ("learned", "hgm")  # the choices of load_demosaicker and load_inpainter
#: side of the tiles (full-resolution pixels) a mosaic is cut into; about 1 MP each
TILE = 1024


def rggb_shift(pattern: str) -> tuple[int, int]:
    """``(rows, cols)`` of mirror padding at the top and left that turn ``pattern`` into
    RGGB: the position of R in the 2x2 tile."""
    pattern = pattern.upper()
    if pattern not in operators.BAYER_PATTERNS:
        raise InputError(f"unknown Bayer pattern {pattern!r}; choose one of {', '.join(operators.BAYER_PATTERNS)}")
    i = pattern.index("R")
    return i // 2, i % 2


class AnyRestorer(Protocol):
    """What every restorer offers, learned (:class:`LearnedDemosaicker`, :class:`LearnedInpainter`)
    or HGM (:class:`~chromaprior.methods.hgm.Restorer`): one signature for each task, and the
    capability ``sampled`` (a score prior: ``preset`` and ``seed`` matter) read instead of
    the method's name. Tensors as in :meth:`~chromaprior.methods.hgm.Restorer.demosaick`."""

    sampled: bool
    card: dict

    def nfe(self, preset=...) -> int: ...

    def demosaick(self, raw: Tensor, pattern: str = "RGGB", preset=..., seed: int = 0, *,
                  callback: Callable[[int, int], None] | None = None, tile: int | None = None) -> Tensor: ...

    def inpaint(self, image: Tensor, missing: Tensor, preset=..., seed: int = 0, *,
                callback: Callable[[int, int], None] | None = None, tile: int | None = None) -> Tensor: ...


class _LearnedRestorer:
    """What the learned restorers share: one deterministic network call per tile.

    Args:
        model: folder of a model of the registry method ``kind``; None = the shipped one.
        device: torch device.
        tile: tile side in pixels.
    """

    method = "learned"
    #: one answer per input (no sampler, no seeds): the protocol's capability flag
    sampled = False
    kind = ""  #: the registry's method
    what = ""  #: what it is, for messages
    min_tile = 1

    def __init__(self, model: str | Path | None = None, device: str | torch.device = "cpu", tile: int = TILE):
        if model is None and not METHODS[self.kind].shipped:
            raise InputError(f"no {self.what} is shipped yet: give one with --model (chromaprior train "
                             f"--method {self.kind}), or use --method hgm")
        self.net, self.card = load_model(model if model is not None else shipped_model(self.kind), task="restore")
        if self.card.get("method") != self.kind:
            raise InputError(f"{model}: a {self.card.get('method')} model, not a {self.what}")
        self.device = torch.device(device)
        self.net.to(self.device)
        self.tile = max(self.min_tile, int(tile))

    def nfe(self, preset=None) -> int:  # noqa: ARG002 - one network call (per tile)
        return 1


class LearnedDemosaicker(_LearnedRestorer):
    """A learned demosaicker: one network call per tile, deterministic.

    Args:
        model: folder of a ``learned-demosaick`` model; None = the shipped one.
        device: torch device.
        tile: tile side in pixels (even); mosaics larger than that are processed in
            overlapping tiles, with the same result.
    """

    kind, what, min_tile = LEARNED, "learned demosaicker", 2

    @property
    def margin(self) -> int:
        return self.net.config.margin

    def tiles(self, height: int, width: int, pattern: str = "RGGB") -> int:
        """Number of tiles of an ``height x width`` mosaic (the progress bar's steps)."""
        top, left = rggb_shift(pattern)
        h, w = height + top, width + left
        return len(tile_grid(h + h % 2, w + w % 2, self.tile + self.tile % 2))

    @torch.no_grad()
    def demosaick(self, raw: Tensor, pattern: str = "RGGB", preset=None, seed: int = 0, *,  # noqa: ARG002
                  callback: Callable[[int, int], None] | None = None, tile: int | None = None) -> Tensor:
        """Demosaick Bayer mosaics (:class:`AnyRestorer`'s signature; ``preset`` and ``seed`` do
        not apply: one deterministic network pass).

        Args:
            raw: ``(H, W)`` or ``(B, 1, H, W)`` in ``[0, 1]``, any size.
            pattern: the 2x2 tile from the top-left pixel (``RGGB``, ``BGGR``, ``GRBG``, ``GBRG``).
            callback: ``(done, total)`` after each tile.
            tile: tile side (default: the demosaicker's).
        Returns:
            ``(B, 3, H, W)`` in ``[0, 1]`` whose mosaic equals ``raw``.
        """
        raw = operators.as_batch(raw, 1, "mosaic")
        top, left = rggb_shift(pattern)
        height, width = raw.shape[-2:]
        x = raw.float().to(self.device)
        x = mirror_pad(x, top, (height + top) % 2, left, (width + left) % 2)
        out = overlapping(self.net, x, tile or self.tile, self.margin, align=2, callback=callback)
        # the network put the measured samples back (in the RGGB frame); cropping and clipping
        # keep them (they are in [0, 1]), in place: no full-size temporaries on a 24 MP raw
        return out[..., top : top + height, left : left + width].clamp_(0, 1)


def load_demosaicker(model: str | Path | None = None, method: str | None = None, device: str | torch.device = "cpu",
                     **hgm_options):
    """The demosaicker of ``method`` (``learned`` or ``hgm``) or of ``model``'s card: a
    :class:`LearnedDemosaicker` or an HGM :class:`~chromaprior.methods.hgm.Restorer` (given
    ``hgm_options``: ``first_stage``, ``start_level``). No method and no model: the learned one."""
    return _load_restorer("demosaicking", LEARNED, LearnedDemosaicker, model, method, device, hgm_options)


def _load_restorer(task: str, learned: str, learned_cls, model, method, device, hgm_options):
    """One rule for both loaders: ``method`` (``learned`` or ``hgm``, checked), else the kind
    of ``model``'s card (a contradiction is an error), else ``learned`` when the package ships
    the ``learned`` method's weights and ``hgm`` otherwise."""
    from .hgm import Restorer

    if method is not None and method not in DEMOSAICK_METHODS:
        raise InputError(f"unknown {task} method {method!r}; choose {' or '.join(DEMOSAICK_METHODS)}")
    if model is not None:
        card = read_card(resolve_model_path(model, "restore"))
        kind = "learned" if card.get("method") == learned else "hgm"
        if method is not None and method != kind:
            raise InputError(f"{model}: a {card.get('method')} model, not one for --method {method}")
        method = kind
    if method is None:
        method = "learned" if METHODS[learned].shipped else "hgm"
    if method == "learned":
        return learned_cls(model, device=device)
    return Restorer(model, device=device, **hgm_options)


# ------------------------------------------------------------------------------- inpainting
#: the registry name of the learned inpainter and the ``--method`` names of ``chromaprior inpaint``
LEARNED_INPAINT = "learned-inpaint"
INPAINT_METHODS = DEMOSAICK_METHODS


class LearnedInpainter(_LearnedRestorer):
    """A learned inpainter (``learned-inpaint``), deterministic: the biharmonic fill of the
    whole image, then the network's correction in overlapping tiles (context
    :attr:`~chromaprior.nets.inpaint.InpaintNetConfig.margin`, offsets aligned to the U-Net's
    ``2 ** depth``), which equals the whole-image correction. The kept pixels are returned
    exactly.

    Args:
        model: folder of a ``learned-inpaint`` model; None = the shipped one.
        device: torch device.
        tile: tile side in pixels; images larger than that are corrected tile by tile.
    """

    kind, what = LEARNED_INPAINT, "learned inpainter"

    @torch.no_grad()
    def inpaint(self, image: Tensor, missing: Tensor, preset=None, seed: int = 0, *,  # noqa: ARG002
                callback: Callable[[int, int], None] | None = None, tile: int | None = None) -> Tensor:
        """Fill the missing pixels (:class:`AnyRestorer`'s signature; ``preset`` and ``seed`` do
        not apply).

        Args:
            image: ``(3, H, W)`` or ``(B, 3, H, W)`` in ``[0, 1]`` (values at missing pixels ignored).
            missing: ``(H, W)`` or ``(B, 1, H, W)``, true where pixels are missing.
            callback: ``(done, total)`` after each tile.
            tile: tile side (default: the inpainter's).
        Returns:
            ``(B, 3, H, W)`` in ``[0, 1]``, equal to ``image`` at the kept pixels.
        """
        image = operators.as_batch(image, 3, "image")
        if missing.ndim == 2:
            missing = missing[None, None].expand(image.shape[0], -1, -1, -1)
        if missing.shape != (image.shape[0], 1, *image.shape[-2:]):
            raise ValueError(f"need image (B, 3, H, W) and mask (B, 1, H, W); got {tuple(image.shape)}, {tuple(missing.shape)}")
        config = self.net.config
        height, width = image.shape[-2:]
        keep = (~missing.bool()).float().to(self.device)
        x = image.float().to(self.device).clamp(0, 1) * keep
        x = torch.cat([self.net.fill(x, keep), keep], dim=1)
        x = mirror_pad(x, 0, -height % config.multiple, 0, -width % config.multiple)
        out = overlapping(self.net.correct, x, tile or self.tile, config.margin, align=config.multiple, callback=callback)
        # the network returned the kept pixels of the fill, i.e. of the (clipped) input, unchanged
        return out[..., :height, :width].clamp_(0, 1)


def load_inpainter(model: str | Path | None = None, method: str | None = None, device: str | torch.device = "cpu",
                   **hgm_options):
    """The inpainter of ``method`` (``learned`` or ``hgm``) or of ``model``'s card: a
    :class:`LearnedInpainter` or an HGM :class:`~chromaprior.methods.hgm.Restorer`. No method and
    no model: the shipped learned inpainter if the package has one, else the shipped HGM prior."""
    return _load_restorer("inpainting", LEARNED_INPAINT, LearnedInpainter, model, method, device, hgm_options)
