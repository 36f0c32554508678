"""The steerable colorizer: the semantic colorizer with a second decoder that sees user hints.

Zhang et al. 2017 (*Real-Time User-Guided Image Colorization with Learned Deep Priors*)
feed sparse hints to the network and train it with simulated users, so that it learns to
carry a hint over the object it falls on and to stop at the object's edges. Here the
semantic colorizer (:class:`~chromaprior.nets.semantic.SemanticColorizer`: its encoder, its
decoder and its a*b*-bin classifier) is kept whole and frozen; that is the automatic path,
used when no hint is given, so the automatic colour is exactly the semantic colorizer's. A
copy of its decoder and classifier, started from the same weights, is the hinted path: at
each of its four levels (strides 4, 8, 16, 32) the hints, pooled to that level
(:func:`pool_hints`: their mean a*b* / :data:`AB_SCALE` and a "hinted" indicator), enter
through a bias-free 1x1 convolution added to the lateral. Those convolutions start at zero,
so before training the hinted path is the automatic one.

Hint planes are ``(B, 3, H, W)`` at the gray's grid: ``a / AB_SCALE``, ``b / AB_SCALE`` and a
mask (1 where hinted; the a*b* planes are 0 elsewhere) (:func:`hint_planes`).

The checkpoint stores only the hinted decoder; the semantic colorizer is named by its card
(``guide``, the shipped one by name) and checked against the SHA-256 of its weights.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .semantic import SemanticColorizer, annealed_mean, read_out
from .efficientnet import STAGE_CHANNELS
from .unet import AB_SCALE

__all__ = ["SteerableConfig", "SteerableColorizer", "pool_hints", "hint_planes"]


@dataclass
class SteerableConfig:
    """Architecture of :class:`SteerableColorizer`.

    Attributes:
        guide: the semantic colorizer it is built on (``semantic-colorize``: the shipped one).
        guide_sha256: SHA-256 of that colorizer's weights file (checked when loading).
        vividness: default read-out of the hinted path (:func:`~chromaprior.nets.semantic.read_out`);
            the automatic path reads out at the semantic colorizer's own default.
        edge_radius, edge_eps: the edge-aware finishing (a guided filter of the working-size
            chroma by the gray, :func:`chromaprior.filters.guided_coefficients`; radius 0:
            plain bilinear upsampling), chosen on the training validation split.
    """

    guide: str = "semantic-colorize"
    guide_sha256: str = ""
    vividness: float = 0.6
    edge_radius: int = 0
    edge_eps: float = 1e-3
    kind: str = "steerable"

    def __post_init__(self) -> None:
        read_out(self.vividness)
        if self.edge_radius < 0 or self.edge_eps <= 0:
            raise ValueError(f"bad steerable colorizer config: {self}")

    @property
    def multiple(self) -> int:
        return 32

    def to_dict(self) -> dict:
        return asdict(self)


def hint_planes(keep: Tensor, ab: Tensor) -> Tensor:
    """Network input of hints: ``keep`` ``(B, 1, H, W)`` (1 where hinted) and the hinted a*b*
    ``(B, 2, H, W)`` -> ``(B, 3, H, W)``: ``[a, b] / AB_SCALE`` (0 where not hinted) and the mask."""
    keep = (keep > 0).to(ab.dtype)
    return torch.cat([ab / AB_SCALE * keep, keep], dim=1)


def pool_hints(planes: Tensor, size: tuple[int, int]) -> Tensor:
    """Hint planes ``(B, 3, H, W)`` pooled to a ``size`` grid: the mean hinted a*b* of each
    cell (0 where none) and an indicator that the cell holds a hint, ``(B, 3, h, w)``."""
    mask = planes[:, 2:]
    total = F.adaptive_avg_pool2d(mask, size)
    ab = F.adaptive_avg_pool2d(planes[:, :2] * mask, size) / total.clamp_min(1e-8)
    hinted = (total > 0).to(planes.dtype)
    return torch.cat([ab * hinted, hinted], dim=1)


def _fpn(feats: list[Tensor], laterals: nn.ModuleList, smooth: nn.ModuleList,
         extra: list[Tensor] | None = None) -> Tensor:
    """The semantic colorizer's top-down decoder over ``feats`` (strides 4..32); ``extra``:
    a term added to each level's lateral (the hints)."""
    h = None
    levels = list(zip(feats, laterals, smooth, extra or [None] * len(feats)))
    for feat, lateral, sm, add in reversed(levels):
        lat = lateral(feat)
        if add is not None:
            lat = lat + add
        if h is not None:
            lat = lat + F.interpolate(h, size=lat.shape[-2:], mode="bilinear", align_corners=False)
        h = sm(lat)
    return h


class SteerableColorizer(nn.Module):
    """Gray ``(B, 1, H, W)`` in ``[0, 1]`` and optional hint planes ``(B, 3, H, W)`` -> a*b*
    logits ``(B, Q, ceil(H/4), ceil(W/4))``.

    Args:
        config: architecture.
        semantic: the semantic colorizer it is built on (frozen; the automatic path).
    """

    def __init__(self, config: SteerableConfig, semantic: SemanticColorizer):
        super().__init__()
        self.config = config
        self.base = semantic.eval().requires_grad_(False)
        self.laterals = copy.deepcopy(semantic.laterals).requires_grad_(True)
        self.smooth = copy.deepcopy(semantic.smooth).requires_grad_(True)
        self.classifier = copy.deepcopy(semantic.classifier).requires_grad_(True)
        width = semantic.config.width
        self.hint_in = nn.ModuleList(nn.Conv2d(3, width, 1, bias=False) for _ in STAGE_CHANNELS[1:])
        for conv in self.hint_in:
            nn.init.zeros_(conv.weight)

    @property
    def centres(self) -> Tensor:
        return self.base.centres

    def train(self, mode: bool = True) -> "SteerableColorizer":
        super().train(mode)
        self.base.eval()
        return self

    def frozen_prefixes(self) -> tuple[str, ...]:
        return ("base.",)

    def encode(self, gray: Tensor) -> list[Tensor]:
        """The frozen encoder's features at strides 4, 8, 16, 32 (they do not depend on hints)."""
        return self.base.encoder.features(gray.expand(-1, 3, -1, -1))[1:]

    def decode(self, feats: list[Tensor], planes: Tensor | None = None) -> Tensor:
        """Logits from encoder features; ``planes`` None or without a hinted pixel: the
        semantic colorizer's own answer (exactly)."""
        if planes is None or not bool((planes[:, 2] > 0).any()):
            return self.base.classifier(_fpn(feats, self.base.laterals, self.base.smooth))
        extra = [conv(pool_hints(planes, f.shape[-2:])) for conv, f in zip(self.hint_in, feats)]
        return self.classifier(_fpn(feats, self.laterals, self.smooth, extra))

    def forward(self, gray: Tensor, planes: Tensor | None = None) -> Tensor:
        return self.decode(self.encode(gray), planes)

    def read_out(self, logits: Tensor, hinted: bool, vividness: float | None = None) -> Tensor:
        """a*b* ``(B, 2, h, w)`` of logits at the read-out ``vividness`` (None: the default of
        the path, the semantic colorizer's without hints, :attr:`SteerableConfig.vividness` with)."""
        default = self.config.vividness if hinted else self.base.config.vividness
        power, t = read_out(default if vividness is None else vividness)
        return annealed_mean(logits, self.centres, t, self.base.log_weights, power)
