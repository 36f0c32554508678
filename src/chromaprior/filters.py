"""Small image filters shared by the modules."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["gaussian_blur", "box_mean", "guided_coefficients"]


def gaussian_blur(t: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``(B, C, H, W)`` with replicated borders (radius 3 sigma)."""
    r = max(1, int(3 * sigma))
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=t.dtype, device=t.device) ** 2) / (2 * sigma**2))
    k = (k / k.sum()).view(1, 1, 1, -1).expand(t.shape[1], 1, 1, -1)
    t = F.conv2d(F.pad(t, (r, r, 0, 0), mode="replicate"), k, groups=t.shape[1])
    return F.conv2d(F.pad(t, (0, 0, r, r), mode="replicate"), k.transpose(-1, -2), groups=t.shape[1])


def box_mean(t: Tensor, radius: int) -> Tensor:
    """Mean of ``(B, C, H, W)`` over ``(2 radius + 1)^2`` windows, over the pixels inside the image."""
    if radius < 1:
        return t
    return F.avg_pool2d(t, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)


def guided_coefficients(guide: Tensor, src: Tensor, radius: int, eps: float) -> tuple[Tensor, Tensor]:
    """The guided filter (He, Sun and Tang 2013) of ``src`` ``(B, C, H, W)`` by a one-channel
    ``guide`` ``(B, 1, H, W)`` as its local linear model: ``(a, b)``, each ``(B, C, H, W)``,
    such that the filtered ``src`` is ``a * guide + b``. Computed on a small grid, ``a`` and
    ``b`` may be upsampled and applied to a larger guide (the fast guided filter, He and Sun
    2015): edges of the large guide then cut the result. ``eps`` (in squared guide units)
    sets how strong an edge must be to be followed; ``radius`` is the window's half size."""
    if guide.shape[1] != 1 or guide.shape[-2:] != src.shape[-2:]:
        raise ValueError(f"guide must be (B, 1, H, W) of src's size, got {tuple(guide.shape)} for {tuple(src.shape)}")
    mean_i, mean_p = box_mean(guide, radius), box_mean(src, radius)
    cov = box_mean(guide * src, radius) - mean_i * mean_p
    var = box_mean(guide * guide, radius) - mean_i * mean_i
    a = cov / (var.clamp_min(0) + eps)
    b = mean_p - a * mean_i
    return box_mean(a, radius), box_mean(b, radius)
