"""The learned inpainter: a small CNN that corrects a classical fill of the missing pixels.

``forward(image, keep)``: ``image`` ``(B, 3, H, W)`` in ``[0, 1]`` (values at missing pixels
ignored), ``keep`` ``(B, 1, H, W)`` (1 = observed), ``H`` and ``W`` even. The missing pixels are
first filled by normalised convolution (:func:`normalized_fill`: Gaussians of growing width
until every pixel is covered, as :func:`chromaprior.restore.fill`); then, as in the learned
demosaicker, a plain stack of ``depth`` 3x3 convolutions (``ngf`` channels, ReLU) at half
resolution on the packed fill, the packed observed values and the packed mask (4 x 7 = 28
channels) predicts a correction for each pixel of each 2x2 block (12 channels, pixel shuffle).
The mask is an input, so the network learns how much to trust each neighbour (what partial and
gated convolutions build in). The last convolution starts at zero (an untrained network is the
fill), and the observed pixels are put back exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..filters import gaussian_blur

__all__ = ["InpaintNetConfig", "InpaintNet", "normalized_fill"]


@dataclass
class InpaintNetConfig:
    """Architecture of :class:`InpaintNet` (``ngf`` channels, ``depth`` convolutions)."""

    ngf: int = 32
    depth: int = 6
    #: negative slope of the activations (0: ReLU, as the shipped demosaicker was trained; new
    #: runs use 0.1: with a zero-initialised head plain ReLUs tend to die in the last layer)
    leaky: float = 0.0
    kind: str = "inpaint"

    def __post_init__(self) -> None:
        if self.depth < 2 or self.ngf < 1:
            raise ValueError(f"need depth >= 2 and ngf >= 1, got {self.depth}, {self.ngf}")

    def to_dict(self) -> dict:
        return asdict(self)


def normalized_fill(image: Tensor, keep: Tensor) -> Tensor:
    """Missing pixels of ``image`` ``(B, C, H, W)`` (``keep`` ``(B, 1, H, W)``, 1 = observed)
    filled by normalised convolution with Gaussians of growing width (sigma 0.5, 1, 2, ...)
    until every pixel is covered; observed pixels kept; 0.5 where nothing is observed."""
    keep = keep.to(image.dtype)
    values, out = image * keep, image * keep
    done = keep.bool().expand_as(image).clone()
    sigma = 0.5
    while not done.all():
        wb = gaussian_blur(keep, sigma)
        est = gaussian_blur(values, sigma) / wb.clamp_min(1e-12)
        ready = (wb > 1e-3).expand_as(image) & ~done
        out = torch.where(ready, est, out)
        done = done | ready
        sigma *= 2
        if sigma > 4 * max(image.shape[-2:]):
            out = torch.where(done, out, torch.full_like(out, 0.5))
            break
    return out


class InpaintNet(nn.Module):
    """Normalised-convolution fill + a learned half-resolution correction, observed pixels kept."""

    def __init__(self, config: InpaintNetConfig):
        super().__init__()
        self.config = c = config
        act = (lambda: nn.LeakyReLU(c.leaky, inplace=True)) if c.leaky else (lambda: nn.ReLU(inplace=True))
        layers: list[nn.Module] = [nn.Conv2d(28, c.ngf, 3, padding=1), act()]
        for _ in range(c.depth - 2):
            layers += [nn.Conv2d(c.ngf, c.ngf, 3, padding=1), act()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(c.ngf, 12, 3, padding=1)
        nn.init.zeros_(self.head.weight)  # an untrained network is the fill
        nn.init.zeros_(self.head.bias)

    def forward(self, image: Tensor, keep: Tensor) -> Tensor:
        if image.ndim != 4 or image.shape[1] != 3 or image.shape[-2] % 2 or image.shape[-1] % 2:
            raise ValueError(f"need an image (B, 3, H, W) with even H and W, got {tuple(image.shape)}")
        keep = keep.to(image.dtype)
        base = normalized_fill(image, keep)
        x = torch.cat([F.pixel_unshuffle(base, 2) - 0.5, F.pixel_unshuffle(image * keep, 2) - 0.5 * F.pixel_unshuffle(keep.expand_as(image), 2),
                       F.pixel_unshuffle(keep, 2)], dim=1)
        out = base + F.pixel_shuffle(self.head(self.body(x)), 2)
        return image * keep + out * (1 - keep)
