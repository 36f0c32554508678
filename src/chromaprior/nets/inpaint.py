"""The learned inpainter: a small U-Net that corrects a biharmonic fill of the missing pixels.

:func:`biharmonic_fill` is the start: the missing pixels of each channel minimise the squared
discrete Laplacian (5-point stencil, replicated borders, i.e. Neumann) with the observed
pixels fixed, as ``skimage.restoration.inpaint_biharmonic``; the solve is pure torch: a
pull-push pyramid (:func:`pull_push`: observed means pooled 2x2 down to the coarsest level
that covers everything, then pushed back up bilinearly into the gaps) followed by a fixed
number of conjugate-gradient steps on the bi-Laplacian. On random masks 20 steps match
scikit-image to 0.01 dB at a fraction of its time; large holes converge more slowly, but the
pull-push start is already smooth there.

:class:`InpaintNet` on top: a U-Net (``depth`` 2x2-strided downsamplings, ``ngf`` channels at
full resolution doubling per level up to ``4 ngf``, LeakyReLU, transposed-convolution
upsampling, skip connections) on the fill and the mask (1 = observed: the network learns how
much to trust each pixel of the fill) predicts a residual correction at full resolution. Its
last convolution starts at zero (an untrained network is the fill) and the observed pixels are
put back exactly. :meth:`InpaintNet.correct` is local (receptive radius
:attr:`InpaintNetConfig.margin`, offsets aligned to ``2 ** depth``), so large images are
corrected in overlapping tiles with the whole-image result; the fill is global and cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["InpaintNetConfig", "InpaintNet", "pull_push", "biharmonic_fill"]


@dataclass
class InpaintNetConfig:
    """Architecture of :class:`InpaintNet`: ``ngf`` channels at full resolution, ``depth``
    downsamplings, ``leaky`` the negative slope of the activations, ``fill_steps`` the
    conjugate-gradient steps of :func:`biharmonic_fill`."""

    ngf: int = 16
    depth: int = 3
    leaky: float = 0.1
    fill_steps: int = 20
    kind: str = "inpaint-unet"

    def __post_init__(self) -> None:
        if not 1 <= self.depth <= 6 or self.ngf < 1:
            raise ValueError(f"need 1 <= depth <= 6 and ngf >= 1, got {self.depth}, {self.ngf}")

    @property
    def multiple(self) -> int:
        """The network's input sides must be multiples of this (``2 ** depth``)."""
        return 2**self.depth

    @property
    def margin(self) -> int:
        """Receptive radius of :meth:`InpaintNet.correct` in pixels, rounded up to a multiple
        of :attr:`multiple`: two 3x3 convolutions at full resolution and the 3x3 head (3
        pixels), and per level ``l`` (scale ``s = 2 ** l``) the 2x2 down and up blocks (``s / 2``
        each), its 3x3 convolution (``s``) and the 3x3 after the skip join (``s / 2``)."""
        radius = 3 + sum(5 * 2**level // 2 for level in range(1, self.depth + 1))
        return -(-radius // self.multiple) * self.multiple

    def to_dict(self) -> dict:
        return asdict(self)


def pull_push(image: Tensor, keep: Tensor) -> Tensor:
    """Fill the missing pixels with a pull-push pyramid (fast, smooth, not harmonic).

    Observed values and counts are summed over 2x2 blocks down to the first level where every
    pixel has an observation (or 1x1, where an empty image becomes 0.5), then each level's
    gaps take the bilinear upsampling of the level below.

    Args:
        image: ``(B, C, H, W)`` (values at missing pixels ignored).
        keep: ``(B, 1, H, W)``, 1 = observed, 0 = missing.
    Returns:
        ``(B, C, H, W)``, equal to ``image`` at the observed pixels.
    """
    keep = keep.to(image.dtype)
    levels = [(image * keep, keep)]
    while min(levels[-1][0].shape[-2:]) > 1 and not bool((levels[-1][1] > 0).all()):
        v, w = levels[-1]
        pad = (0, v.shape[-1] % 2, 0, v.shape[-2] % 2)
        levels.append((F.avg_pool2d(F.pad(v, pad), 2) * 4, F.avg_pool2d(F.pad(w, pad), 2) * 4))
    v, w = levels[-1]
    total = w.sum(dim=(-2, -1), keepdim=True)
    mean = torch.where(total > 0, v.sum(dim=(-2, -1), keepdim=True) / total.clamp_min(1e-12), 0.5)
    out = torch.where(w > 0, v / w.clamp_min(1e-12), mean)
    for v, w in reversed(levels[:-1]):
        up = F.interpolate(out, scale_factor=2, mode="bilinear", align_corners=False)[..., : v.shape[-2], : v.shape[-1]]
        out = torch.where(w > 0, v / w.clamp_min(1e-12), up)
    return torch.where(keep > 0, image, out)


def _laplacian(u: Tensor) -> Tensor:
    """5-point Laplacian of each channel with replicated borders (Neumann): ``(..., H, W)``
    -> same. As a matrix it is symmetric (its own adjoint), so ``L^T L = L L``."""
    out = -4 * u
    out[..., 1:, :] += u[..., :-1, :]
    out[..., :1, :] += u[..., :1, :]
    out[..., :-1, :] += u[..., 1:, :]
    out[..., -1:, :] += u[..., -1:, :]
    out[..., :, 1:] += u[..., :, :-1]
    out[..., :, :1] += u[..., :, :1]
    out[..., :, :-1] += u[..., :, 1:]
    out[..., :, -1:] += u[..., :, -1:]
    return out


def biharmonic_fill(image: Tensor, keep: Tensor, steps: int = 20) -> Tensor:
    """Fill the missing pixels by biharmonic interpolation (pure torch).

    Minimises ``sum |L u|^2`` over the missing pixels of each channel, ``L`` the 5-point
    Laplacian with replicated borders, the observed pixels fixed: ``steps`` conjugate-gradient
    steps on the normal equations ``(L^T L u)[missing] = 0`` from :func:`pull_push`.

    Args:
        image: ``(B, C, H, W)`` (values at missing pixels ignored).
        keep: ``(B, 1, H, W)``, 1 = observed, 0 = missing.
        steps: conjugate-gradient steps (0: the pull-push start).
    Returns:
        ``(B, C, H, W)``, equal to ``image`` at the observed pixels (not clipped).
    """
    keep = keep.to(image.dtype)
    u = pull_push(image, keep)
    if steps <= 0 or bool(keep.all()):
        return u
    free = 1 - keep
    r = -free * _laplacian(_laplacian(u))
    p, rr = r, (r * r).sum(dim=(-2, -1), keepdim=True)
    for _ in range(steps):
        ap = free * _laplacian(_laplacian(p))
        alpha = rr / (p * ap).sum(dim=(-2, -1), keepdim=True).clamp_min(1e-30)
        u = u + alpha * p
        r = r - alpha * ap
        rr, rr_old = (r * r).sum(dim=(-2, -1), keepdim=True), rr
        p = r + rr / rr_old.clamp_min(1e-30) * p
    return u


class InpaintNet(nn.Module):
    """Biharmonic fill + a U-Net residual correction; observed pixels kept exactly.

    ``forward(image, keep)``: ``image`` ``(B, 3, H, W)`` in ``[0, 1]`` (values at missing pixels
    ignored), ``keep`` ``(B, 1, H, W)`` (1 = observed), ``H`` and ``W`` multiples of
    :attr:`InpaintNetConfig.multiple`; returns ``(B, 3, H, W)`` (not clipped).
    """

    def __init__(self, config: InpaintNetConfig):
        super().__init__()
        self.config = c = config
        width = [min(c.ngf * 2**level, 4 * c.ngf) for level in range(c.depth + 1)]
        act = lambda: nn.LeakyReLU(c.leaky, inplace=True)  # noqa: E731
        self.stem = nn.Sequential(nn.Conv2d(4, width[0], 3, padding=1), act(), nn.Conv2d(width[0], width[0], 3, padding=1), act())
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(width[i], width[i + 1], 2, stride=2), act(), nn.Conv2d(width[i + 1], width[i + 1], 3, padding=1), act())
            for i in range(c.depth))
        self.up = nn.ModuleList(nn.Sequential(nn.ConvTranspose2d(width[i + 1], width[i], 2, stride=2), act()) for i in range(c.depth))
        self.join = nn.ModuleList(nn.Sequential(nn.Conv2d(2 * width[i], width[i], 3, padding=1), act()) for i in range(c.depth))
        self.head = nn.Conv2d(width[0], 3, 3, padding=1)
        nn.init.zeros_(self.head.weight)  # an untrained network is the fill
        nn.init.zeros_(self.head.bias)

    def fill(self, image: Tensor, keep: Tensor) -> Tensor:
        """The start: :func:`biharmonic_fill` with the config's steps (no gradients)."""
        with torch.no_grad():
            return biharmonic_fill(image, keep, self.config.fill_steps)

    def correct(self, x: Tensor) -> Tensor:
        """The corrected fill from ``x`` = ``(B, 4, H, W)``: the fill (3 channels) and
        ``keep``; observed pixels (``keep`` = 1) are returned unchanged."""
        base, keep = x[:, :3], x[:, 3:]
        if x.shape[-2] % self.config.multiple or x.shape[-1] % self.config.multiple:
            raise ValueError(f"need sides that are multiples of {self.config.multiple}, got {tuple(x.shape)}")
        h = self.stem(torch.cat([base - 0.5, keep], dim=1))
        skips = []
        for down in self.down:
            skips.append(h)
            h = down(h)
        for i in reversed(range(self.config.depth)):
            h = self.join[i](torch.cat([self.up[i](h), skips[i]], dim=1))
        return torch.where(keep > 0, base, base + self.head(h))

    def forward(self, image: Tensor, keep: Tensor) -> Tensor:
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"need an image (B, 3, H, W), got {tuple(image.shape)}")
        keep = keep.to(image.dtype)
        return self.correct(torch.cat([self.fill(image, keep), keep], dim=1))
