"""Linear degradation operators ``y = A x`` acting pixel by pixel.

Every task of chromaprior is a linear inverse problem: colorization (``A`` = a gray
projection), demosaicking (``A`` = Bayer colour-filter-array sampling), inpainting
(``A`` = a pixel mask) and colour hints (extra rows of ``A`` at some pixels). All of
these act independently at each pixel, so one class covers them: at pixel ``(h, w)``
the operator is a small ``k x C`` matrix ``M[:, :, h, w]``. That makes the adjoint
trivial and the Moore-Penrose pseudo-inverse exact (a pixel-wise pseudo-inverse),
and composition or stacking of operators is again an operator of the same kind.

Shapes: images ``x`` are ``(B, C, H, W)``, measurements ``y`` are ``(B, k, H, W)``,
float tensors; images are in ``[0, 1]``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor
from .errors import InputError

__all__ = [
    "as_batch",
    "Operator",
    "gray",
    "bayer",
    "bayer_masks",
    "mask",
    "compose",
    "stack",
    "MEAN_WEIGHTS",
    "BT601_WEIGHTS",
    "BAYER_PATTERNS",
]

#: JGM's gray operator, Eq. (18) of the paper: (r + g + b) / 3.
MEAN_WEIGHTS = (1 / 3, 1 / 3, 1 / 3)
#: ITU-R BT.601 luma, Eq. (19) of the paper (rounded as there: 0.3, 0.59, 0.11 -> exact 601).
BT601_WEIGHTS = (0.299, 0.587, 0.114)
BAYER_PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")


class Operator:
    """A pixel-wise linear operator given by its per-pixel matrix.

    Args:
        matrix: ``(Bm, k, C, Hm, Wm)`` with ``Bm`` 1 or the batch size and ``Hm, Wm``
            either 1 (the same matrix everywhere) or the image size.
    """

    def __init__(self, matrix: Tensor):
        if matrix.ndim != 5:
            raise ValueError(f"operator matrix must be (B, k, C, H, W), got shape {tuple(matrix.shape)}")
        self.matrix = matrix.float()
        self._pinv: Tensor | None = None

    # ------------------------------------------------------------------ shapes
    @property
    def in_channels(self) -> int:
        return self.matrix.shape[2]

    @property
    def out_channels(self) -> int:
        return self.matrix.shape[1]

    @property
    def spatially_constant(self) -> bool:
        """True when the same matrix acts at every pixel (it then commutes with shifts)."""
        return self.matrix.shape[-2:] == (1, 1)

    def _check(self, t: Tensor, channels: int, what: str) -> None:
        if t.ndim != 4 or t.shape[1] != channels:
            raise ValueError(
                f"{what} must be (B, {channels}, H, W) for this operator, got shape {tuple(t.shape)}"
            )
        mb, _, _, mh, mw = self.matrix.shape
        if (mh, mw) != (1, 1) and (mh, mw) != tuple(t.shape[-2:]):
            raise ValueError(f"{what} is {tuple(t.shape[-2:])} pixels but the operator is defined on {(mh, mw)}")
        if mb not in (1, t.shape[0]):
            raise ValueError(f"{what} has batch {t.shape[0]} but the operator has batch {mb}")

    # --------------------------------------------------------------- algebra
    def forward(self, x: Tensor) -> Tensor:
        """``A x``: ``(B, C, H, W) -> (B, k, H, W)``."""
        self._check(x, self.in_channels, "x")
        return torch.einsum("bkchw,bchw->bkhw", self.matrix.to(x), x)

    __call__ = forward

    def adjoint(self, y: Tensor) -> Tensor:
        """``A^T y``: ``(B, k, H, W) -> (B, C, H, W)``."""
        self._check(y, self.out_channels, "y")
        return torch.einsum("bkchw,bkhw->bchw", self.matrix.to(y), y)

    def pinv_matrix(self) -> Tensor:
        """Per-pixel Moore-Penrose pseudo-inverse, ``(Bm, C, k, Hm, Wm)``."""
        if self._pinv is None:
            m = self.matrix.permute(0, 3, 4, 1, 2)  # (B, H, W, k, C)
            if m.shape[-2] == 1:  # one row: a^+ = a^T / |a|^2, exact and cheap
                norm2 = (m * m).sum(-1, keepdim=True)
                p = torch.where(norm2 > 1e-12, m / norm2.clamp_min(1e-12), torch.zeros_like(m)).transpose(-1, -2)
            else:
                p = torch.linalg.pinv(m.double(), rtol=1e-6).float()
            self._pinv = p.permute(0, 3, 4, 1, 2).contiguous()
        return self._pinv

    def pinv(self, y: Tensor) -> Tensor:
        """``A^+ y``: the minimum-norm ``x`` with ``A x`` closest to ``y``."""
        self._check(y, self.out_channels, "y")
        return torch.einsum("bckhw,bkhw->bchw", self.pinv_matrix().to(y), y)

    def project(self, x: Tensor, y: Tensor, weight: float = 1.0) -> Tensor:
        """Move ``x`` towards ``{x : A x = y}``: ``x + weight * A^+ (y - A x)``.

        ``weight = 1`` is the exact orthogonal projection (then ``A x = y`` holds for
        consistent ``y``); ``0 < weight < 1`` is a relaxed data-consistency step.
        """
        return x + weight * self.pinv(y - self.forward(x))

    def to(self, *args, **kwargs) -> "Operator":
        op = Operator(self.matrix.to(*args, **kwargs))
        if self._pinv is not None:
            op._pinv = self._pinv.to(*args, **kwargs)
        return op

    def __repr__(self) -> str:
        return f"Operator(k={self.out_channels}, C={self.in_channels}, matrix={tuple(self.matrix.shape)})"


def gray(weights: Sequence[float] = MEAN_WEIGHTS) -> Operator:
    """Gray projection ``y = sum_c w_c x_c``: ``(B, C, H, W) -> (B, 1, H, W)``."""
    w = torch.as_tensor(list(weights), dtype=torch.float32)
    if w.ndim != 1 or w.numel() < 1 or not torch.isfinite(w).all() or w.abs().sum() == 0:
        raise ValueError(f"gray weights must be a non-zero finite vector, got {list(weights)}")
    return Operator(w.view(1, 1, -1, 1, 1))


def bayer(pattern: str, height: int, width: int) -> Operator:
    """Bayer colour filter array: ``(B, 3, H, W) -> (B, 1, H, W)`` mosaic.

    ``pattern`` names the 2x2 tile row by row, e.g. ``RGGB``: R at (0, 0), G at (0, 1)
    and (1, 0), B at (1, 1).
    """
    return Operator(bayer_masks(pattern, height, width)[None, None])


def bayer_masks(pattern: str, height: int, width: int, device=None) -> Tensor:
    """``(3, H, W)`` float masks of the R, G and B sites of a Bayer pattern (e.g. ``RGGB``, the
    2x2 tile row by row); an unknown pattern is an :class:`InputError`."""
    pattern = pattern.upper()
    if pattern not in BAYER_PATTERNS:
        raise InputError(f"unknown Bayer pattern {pattern!r}; choose one of {', '.join(BAYER_PATTERNS)}")
    m = torch.zeros(3, height, width, device=device)
    for i, ch in enumerate(pattern):
        m["RGB".index(ch), i // 2 :: 2, i % 2 :: 2] = 1.0
    return m


def mask(keep: Tensor, channels: int = 3) -> Operator:
    """Pixel mask: keeps pixels where ``keep`` is 1, zeroes the others.

    Args:
        keep: ``(H, W)``, ``(B, 1, H, W)`` or ``(B, C, H, W)`` of 0/1 (1 = observed).
    Returns:
        an operator ``(B, C, H, W) -> (B, C, H, W)``.
    """
    if keep.ndim == 2:
        keep = keep[None, None]
    if keep.ndim != 4 or keep.shape[1] not in (1, channels):
        raise ValueError(f"mask must be (H, W), (B, 1, H, W) or (B, {channels}, H, W), got {tuple(keep.shape)}")
    keep = keep.float().expand(-1, channels, -1, -1)
    eye = torch.eye(channels)
    m = eye[None, :, :, None, None] * keep[:, :, None, :, :]  # (B, C, C, H, W), diagonal
    return Operator(m)


def _broadcast_pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    batch = max(a.shape[0], b.shape[0])
    h = max(a.shape[3], b.shape[3])
    w = max(a.shape[4], b.shape[4])
    return (
        a.expand(batch, -1, -1, h, w) if a.shape[0] in (1, batch) else a,
        b.expand(batch, -1, -1, h, w) if b.shape[0] in (1, batch) else b,
    )


def compose(outer: Operator, inner: Operator) -> Operator:
    """``outer o inner``: first ``inner``, then ``outer`` (pixel-wise matrix product)."""
    if outer.in_channels != inner.out_channels:
        raise ValueError(
            f"cannot compose: outer takes {outer.in_channels} channels, inner gives {inner.out_channels}"
        )
    a, b = _broadcast_pair(outer.matrix, inner.matrix)
    return Operator(torch.einsum("bkjhw,bjchw->bkchw", a, b))


def stack(*ops: Operator) -> Operator:
    """Rows of several operators on the same image: ``x -> [A_1 x, A_2 x, ...]``."""
    if not ops:
        raise ValueError("stack needs at least one operator")
    if len({op.in_channels for op in ops}) != 1:
        raise ValueError(f"cannot stack operators on {sorted({op.in_channels for op in ops})} channels")
    mats = [op.matrix for op in ops]
    batch = max(m.shape[0] for m in mats)
    h = max(m.shape[3] for m in mats)
    w = max(m.shape[4] for m in mats)
    mats = [m.expand(batch, -1, -1, h, w) for m in mats]
    return Operator(torch.cat(mats, dim=1))


def as_batch(t: Tensor, channels: int, what: str = "image") -> Tensor:
    """``(H, W)`` (``channels`` 1), ``(C, H, W)`` or ``(B, C, H, W)`` -> ``(B, C, H, W)`` with
    ``C = channels``: the shapes :class:`chromaprior.methods.colorize.Colorizer` and :class:`chromaprior.methods.hgm.Restorer`
    both take."""
    if t.ndim == 2 and channels == 1:
        t = t[None, None]
    elif t.ndim == 3 and t.shape[0] == channels:
        t = t[None]
    if t.ndim != 4 or t.shape[1] != channels:
        single = "(H, W), " if channels == 1 else ""
        raise ValueError(f"{what} must be {single}({channels}, H, W) or (B, {channels}, H, W), got {tuple(t.shape)}")
    return t
