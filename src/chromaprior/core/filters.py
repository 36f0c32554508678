"""Small image filters shared by the modules."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["gaussian_blur"]


def gaussian_blur(t: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``(B, C, H, W)`` with replicated borders (radius 3 sigma)."""
    r = max(1, int(3 * sigma))
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=t.dtype, device=t.device) ** 2) / (2 * sigma**2))
    k = (k / k.sum()).view(1, 1, 1, -1).expand(t.shape[1], 1, 1, -1)
    t = F.conv2d(F.pad(t, (r, r, 0, 0), mode="replicate"), k, groups=t.shape[1])
    return F.conv2d(F.pad(t, (0, 0, r, r), mode="replicate"), k.transpose(-1, -2), groups=t.shape[1])
