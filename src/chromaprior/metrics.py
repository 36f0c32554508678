"""Image quality metrics on ``(B, C, H, W)`` tensors in ``[0, 1]``.

PSNR and SSIM (Gaussian window 11, sigma 1.5, as Wang et al. 2004) are per image,
averaged over channels for SSIM; colorfulness is Hasler and Suesstrunk's (2003) M on
the 0..255 scale (0 for a gray image, about 20-60 for ordinary photos).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["psnr", "ssim", "colorfulness"]


def _check(a: Tensor, b: Tensor) -> None:
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"expected two (B, C, H, W) tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def psnr(x: Tensor, ref: Tensor, peak: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio in dB, ``(B,)``."""
    _check(x, ref)
    mse = ((x.double() - ref.double()) ** 2).mean(dim=(1, 2, 3))
    return (10 * torch.log10(peak**2 / mse.clamp_min(1e-20))).float()


def _gaussian(size: int = 11, sigma: float = 1.5) -> Tensor:
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(x: Tensor, ref: Tensor, peak: float = 1.0) -> Tensor:
    """Structural similarity, ``(B,)`` (valid-region Gaussian windows, channel mean)."""
    _check(x, ref)
    c = x.shape[1]
    win = _gaussian().to(x.device)[None, None].expand(c, 1, -1, -1)
    a, b = x.double(), ref.double()

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, win, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    va = blur(a * a) - mu_a**2
    vb = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))
    return s.mean(dim=(1, 2, 3)).float()


def colorfulness(x: Tensor) -> Tensor:
    """Hasler-Suesstrunk colorfulness M of RGB images, ``(B,)``."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected (B, 3, H, W), got {tuple(x.shape)}")
    r, g, b = (x.double() * 255).unbind(1)
    rg = (r - g).flatten(1)
    yb = (0.5 * (r + g) - b).flatten(1)
    std = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False))
    mean = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2)
    return (std + 0.3 * mean).float()
