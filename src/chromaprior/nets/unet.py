"""Supervised colorizers: the pix2pix U-Net generator and PatchGAN discriminator.

The same :class:`UNet` serves both supervised methods: ``cgan`` (pix2pix, Isola et al.
2017: dropout in the inner decoder blocks, trained against a :class:`PatchDiscriminator`
with an adversarial + 100 x L1 loss) and ``unet`` (an L -> ab regressor trained with L2,
no dropout). Inputs are ``L / 50 - 1`` ``(B, 1, H, W)``; outputs ``ab / 110`` ``(B, 2, H, W)``
in ``(-1, 1)`` (tanh); H and W must be multiples of ``2 ** depth``.

Batch norm and dropout follow ``module.train()`` / ``module.eval()``: colorization runs
in eval mode (running statistics, no dropout), so a result does not depend on the other
images of a batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

# L in [0, 100] is fed as L / L_SCALE - 1; ab are predicted as ab / AB_SCALE (the colour maths defines them)
from ..core.color import AB_SCALE, L_SCALE

__all__ = ["UNetConfig", "UNet", "PatchDiscriminator", "L_SCALE", "AB_SCALE"]


@dataclass
class UNetConfig:
    """Architecture of :class:`UNet` (and the width of its discriminator).

    Attributes:
        in_channels, out_channels: 1 (L) and 2 (ab).
        ngf: width of the first block; widths double per level up to ``8 * ngf``.
        depth: number of stride-2 levels (pix2pix at 256 px uses 8).
        dropout: dropout rate of the ``dropout_layers`` innermost decoder blocks
            (pix2pix: 0.5 in 3; 0 for the L2 regressor).
    """

    in_channels: int = 1
    out_channels: int = 2
    ngf: int = 32
    depth: int = 5
    dropout: float = 0.0
    dropout_layers: int = 3
    kind: str = "unet"

    def __post_init__(self) -> None:
        if self.depth < 2 or self.ngf < 1:
            raise ValueError(f"need depth >= 2 and ngf >= 1, got {self.depth}, {self.ngf}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def multiple(self) -> int:
        return 2**self.depth

    def to_dict(self) -> dict:
        return asdict(self)


def _width(ngf: int, level: int) -> int:
    return ngf * min(2**level, 8)


class UNet(nn.Module):
    """pix2pix U-Net: 4x4 stride-2 convolutions down (LeakyReLU 0.2, batch norm except
    on the first and innermost), transposed convolutions up (ReLU, batch norm, dropout
    in the innermost blocks), skip connections by concatenation, tanh output."""

    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = c = config
        self.down = nn.ModuleList()
        ch = c.in_channels
        for i in range(c.depth):
            out = _width(c.ngf, i)
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            layers.append(nn.Conv2d(ch, out, 4, 2, 1, bias=i in (0, c.depth - 1)))
            if 0 < i < c.depth - 1:
                layers.append(nn.BatchNorm2d(out))
            self.down.append(nn.Sequential(*layers))
            ch = out
        self.up = nn.ModuleList()
        for i in reversed(range(c.depth)):
            skip = _width(c.ngf, i - 1) if i > 0 else 0
            inner = i == c.depth - 1
            cin = ch if inner else 2 * ch
            if i == 0:
                self.up.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(cin, c.out_channels, 4, 2, 1), nn.Tanh()))
                break
            layers = [nn.ReLU(), nn.ConvTranspose2d(cin, skip, 4, 2, 1, bias=False), nn.BatchNorm2d(skip)]
            if c.dropout and (c.depth - 1 - i) < c.dropout_layers:
                layers.append(nn.Dropout(c.dropout))
            self.up.append(nn.Sequential(*layers))
            ch = skip

    def forward(self, x: Tensor) -> Tensor:
        m = self.config.multiple
        if x.ndim != 4 or x.shape[1] != self.config.in_channels or x.shape[-1] % m or x.shape[-2] % m:
            raise ValueError(f"U-Net input must be (B, {self.config.in_channels}, H, W) with H, W multiples of {m}, "
                             f"got {tuple(x.shape)}")
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        skips.pop()  # the innermost output is not concatenated
        for n, block in enumerate(self.up):
            x = block(x if n == 0 else torch.cat([x, skips.pop()], dim=1))
        return x


class PatchDiscriminator(nn.Module):
    """PatchGAN (pix2pix's 70x70 for 3 layers): real/fake logits per patch of the
    concatenated ``[L, ab]`` input ``(B, 3, H, W)``."""

    def __init__(self, in_channels: int = 3, ndf: int = 32, layers: int = 3):
        super().__init__()
        mods: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        ch = ndf
        for i in range(1, layers + 1):
            out = ndf * min(2**i, 8)
            mods += [nn.Conv2d(ch, out, 4, 2 if i < layers else 1, 1, bias=False), nn.BatchNorm2d(out), nn.LeakyReLU(0.2)]
            ch = out
        mods.append(nn.Conv2d(ch, 1, 4, 1, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
