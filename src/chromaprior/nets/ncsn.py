"""Noise-conditional score network in the NCSN style.

A RefineNet: conditional residual blocks with dilated convolutions on the way down,
RefineNet blocks (residual conv units, multi-resolution fusion, chained residual
pooling) on the way up, and conditional instance normalisation (CondInstanceNorm++)
indexed by the noise level everywhere. The output is divided by ``sigma`` (NCSNv2), so
the raw network predicts ``-noise / sigma`` at unit scale.

The network knows nothing about tasks or devices: ``net(z, level) -> score`` with ``z``
``(B, C, H, W)`` (H, W multiples of 8) and ``level`` ``(B,)`` long indices into ``sigmas``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ScoreNetConfig", "ScoreNet", "DividedScoreNet", "build_score_net", "CondInstanceNorm"]


@dataclass
class ScoreNetConfig:
    """Architecture of :class:`ScoreNet`.

    Attributes:
        in_channels: channels of the lifted input (9 for JGM's gradient lift of RGB).
        ngf: base width; 32 gives about 2M parameters, 64 about 8M (the paper's size).
        num_levels: number of noise levels the normalisation is conditioned on.
        groups: channel group sizes modelled by separate networks (JGM-divide: ``[3, 6]``,
            image and gradients); empty for one joint network.
    """

    in_channels: int = 9
    ngf: int = 32
    num_levels: int = 10
    groups: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.groups and sum(self.groups) != self.in_channels:
            raise ValueError(f"channel groups {self.groups} do not add up to {self.in_channels} channels")

    def to_dict(self) -> dict:
        return asdict(self)


class CondInstanceNorm(nn.Module):
    """CondInstanceNorm++: instance norm whose scale/shift (and a term restoring the
    per-channel means) are chosen by the noise-level index."""

    def __init__(self, channels: int, num_levels: int):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
        self.embed = nn.Embedding(num_levels, 3 * channels)
        self.embed.weight.data[:, : 2 * channels].normal_(1, 0.02)
        self.embed.weight.data[:, 2 * channels :].zero_()

    def forward(self, x: Tensor, level: Tensor) -> Tensor:
        means = x.mean(dim=(2, 3))
        m = means.mean(dim=-1, keepdim=True)
        v = means.var(dim=-1, keepdim=True, unbiased=False)
        means = (means - m) / torch.sqrt(v + 1e-5)
        h = self.norm(x)
        gamma, alpha, beta = self.embed(level).chunk(3, dim=-1)
        h = h + means[..., None, None] * alpha[..., None, None]
        return gamma[..., None, None] * h + beta[..., None, None]


class CondResBlock(nn.Module):
    """Pre-activation residual block; ``down`` halves the resolution (conv + mean pool)."""

    def __init__(self, cin: int, cout: int, num_levels: int, down: bool = False, dilation: int = 1):
        super().__init__()
        self.down = down
        self.norm1 = CondInstanceNorm(cin, num_levels)
        self.conv1 = nn.Conv2d(cin, cin, 3, padding=dilation, dilation=dilation)
        self.norm2 = CondInstanceNorm(cin, num_levels)
        self.conv2 = nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation)
        self.shortcut = nn.Conv2d(cin, cout, 1) if (cin != cout or down) else None

    def forward(self, x: Tensor, level: Tensor) -> Tensor:
        h = self.conv1(F.elu(self.norm1(x, level)))
        h = self.conv2(F.elu(self.norm2(h, level)))
        skip = x if self.shortcut is None else self.shortcut(x)
        if self.down:
            h = F.avg_pool2d(h, 2)
            skip = F.avg_pool2d(skip, 2)
        return h + skip


class CondRCU(nn.Module):
    """Residual conv unit of RefineNet: ``stages`` x (norm, ELU, conv) with a skip."""

    def __init__(self, channels: int, num_levels: int, stages: int = 2):
        super().__init__()
        self.norms = nn.ModuleList(CondInstanceNorm(channels, num_levels) for _ in range(stages))
        self.convs = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1, bias=False) for _ in range(stages))

    def forward(self, x: Tensor, level: Tensor) -> Tensor:
        h = x
        for norm, conv in zip(self.norms, self.convs):
            h = conv(F.elu(norm(h, level)))
        return x + h


class CondCRP(nn.Module):
    """Chained residual pooling: a chain of (norm, 5x5 max-pool, conv), each added."""

    def __init__(self, channels: int, num_levels: int, stages: int = 2):
        super().__init__()
        self.norms = nn.ModuleList(CondInstanceNorm(channels, num_levels) for _ in range(stages))
        self.convs = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1, bias=False) for _ in range(stages))

    def forward(self, x: Tensor, level: Tensor) -> Tensor:
        x = F.elu(x)
        path = x
        for norm, conv in zip(self.norms, self.convs):
            path = conv(F.max_pool2d(norm(path, level), 5, stride=1, padding=2))
            x = x + path
        return x


class CondRefineBlock(nn.Module):
    """RefineNet block: RCUs per input, multi-resolution fusion, CRP, output RCU."""

    def __init__(self, in_channels: list[int], cout: int, num_levels: int, end: bool = False):
        super().__init__()
        self.adapt = nn.ModuleList(CondRCU(c, num_levels) for c in in_channels)
        self.fuse_norms = nn.ModuleList(CondInstanceNorm(c, num_levels) for c in in_channels)
        self.fuse_convs = nn.ModuleList(nn.Conv2d(c, cout, 3, padding=1) for c in in_channels)
        self.crp = CondCRP(cout, num_levels)
        self.out = nn.ModuleList(CondRCU(cout, num_levels) for _ in range(3 if end else 1))

    def forward(self, xs: list[Tensor], level: Tensor, size: tuple[int, int]) -> Tensor:
        h = None
        for x, adapt, norm, conv in zip(xs, self.adapt, self.fuse_norms, self.fuse_convs):
            t = conv(norm(adapt(x, level), level))
            if t.shape[-2:] != size:
                t = F.interpolate(t, size=size, mode="bilinear", align_corners=False)
            h = t if h is None else h + t
        h = self.crp(h, level)
        for rcu in self.out:
            h = rcu(h, level)
        return h


class ScoreNet(nn.Module):
    """NCSN RefineNet score model ``s(z, sigma_level) ~ grad log p_sigma(z)``.

    Args:
        config: :class:`ScoreNetConfig`.
        sigmas: the noise ladder ``(L,)`` (stored as a buffer so the weights carry it).
    Shapes:
        z: ``(B, in_channels, H, W)``, H and W multiples of 8; level: ``(B,)`` long.
        returns: ``(B, in_channels, H, W)``.
    """

    def __init__(self, config: ScoreNetConfig, sigmas: Tensor):
        super().__init__()
        if sigmas.numel() != config.num_levels:
            raise ValueError(f"{config.num_levels} levels configured but {sigmas.numel()} sigmas given")
        self.config = config
        c, n, L = config.in_channels, config.ngf, config.num_levels
        self.register_buffer("sigmas", sigmas.float().clone())
        self.begin = nn.Conv2d(c, n, 3, padding=1)
        self.res1 = nn.ModuleList([CondResBlock(n, n, L), CondResBlock(n, n, L)])
        self.res2 = nn.ModuleList([CondResBlock(n, 2 * n, L, down=True), CondResBlock(2 * n, 2 * n, L)])
        self.res3 = nn.ModuleList([CondResBlock(2 * n, 2 * n, L, down=True), CondResBlock(2 * n, 2 * n, L, dilation=2)])
        self.res4 = nn.ModuleList(
            [CondResBlock(2 * n, 2 * n, L, down=True, dilation=2), CondResBlock(2 * n, 2 * n, L, dilation=4)]
        )
        self.refine1 = CondRefineBlock([2 * n], 2 * n, L)
        self.refine2 = CondRefineBlock([2 * n, 2 * n], 2 * n, L)
        self.refine3 = CondRefineBlock([2 * n, 2 * n], n, L)
        self.refine4 = CondRefineBlock([n, n], n, L, end=True)
        self.end_norm = CondInstanceNorm(n, L)
        self.end = nn.Conv2d(n, c, 3, padding=1)

    @staticmethod
    def _run(blocks: nn.ModuleList, h: Tensor, level: Tensor) -> Tensor:
        for block in blocks:
            h = block(h, level)
        return h

    def forward(self, z: Tensor, level: Tensor) -> Tensor:
        if z.ndim != 4 or z.shape[1] != self.config.in_channels:
            raise ValueError(f"expected (B, {self.config.in_channels}, H, W), got {tuple(z.shape)}")
        if z.shape[-1] % 8 or z.shape[-2] % 8:
            raise ValueError(f"height and width must be multiples of 8, got {tuple(z.shape[-2:])}")
        h = self.begin(2 * z - 1)
        h1 = self._run(self.res1, h, level)
        h2 = self._run(self.res2, h1, level)
        h3 = self._run(self.res3, h2, level)
        h4 = self._run(self.res4, h3, level)
        r = self.refine1([h4], level, h4.shape[-2:])
        r = self.refine2([h3, r], level, h3.shape[-2:])
        r = self.refine3([h2, r], level, h2.shape[-2:])
        r = self.refine4([h1, r], level, h1.shape[-2:])
        out = self.end(F.elu(self.end_norm(r, level)))
        return out / self.sigmas[level].view(-1, 1, 1, 1).to(out)


class DividedScoreNet(nn.Module):
    """Separate score networks for channel groups (the paper's JGM-divide, Eq. 17):
    ``s(z) = [s_1(z_1), s_2(z_2), ...]``. Trained jointly by DSM, which is the same as
    training each network on its own group."""

    def __init__(self, config: ScoreNetConfig, sigmas: Tensor):
        super().__init__()
        self.config = config
        self.register_buffer("sigmas", sigmas.float().clone())
        self.nets = nn.ModuleList(
            ScoreNet(replace(config, in_channels=g, groups=[]), sigmas) for g in config.groups
        )

    def forward(self, z: Tensor, level: Tensor) -> Tensor:
        parts = torch.split(z, self.config.groups, dim=1)
        return torch.cat([net(part, level) for net, part in zip(self.nets, parts)], dim=1)


def build_score_net(config: ScoreNetConfig, sigmas: Tensor) -> nn.Module:
    """A joint :class:`ScoreNet`, or a :class:`DividedScoreNet` when ``config.groups`` is set."""
    return DividedScoreNet(config, sigmas) if config.groups else ScoreNet(config, sigmas)
