"""The steerable colorizer: the semantic colorizer, its decoder also fed with user hints.

Zhang et al. 2017 (*Real-Time User-Guided Image Colorization with Learned Deep Priors*)
feed sparse hints to the network and train it with simulated users, so that it learns to
carry a hint over the object it falls on and to stop at the object's edges. Here the
semantic colorizer (:class:`~chromaprior.nets.semantic.SemanticColorizer`: its encoder, its
decoder and its a*b*-bin classifier) is kept whole and frozen, and only the hints' way in is
learned: at each of the decoder's four levels (strides 4, 8, 16, 32) the hints, pooled to
that level (:func:`pool_hints`: their mean a*b* / :data:`AB_SCALE` and a "hinted"
indicator), enter through a bias-free 3x3 convolution added to the lateral, and once more at
stride 4 into the classifier's input. Those convolutions start at zero and see nothing
without hints, so the automatic colour is exactly the semantic colorizer's, before and
after training (a decoder retrained with the hints on this CPU's budget lost more automatic
quality than the hints gained; docs/steering.md).

Hint planes are ``(B, 3, H, W)`` at the gray's grid: ``a / AB_SCALE``, ``b / AB_SCALE`` and a
mask (1 where hinted; the a*b* planes are 0 elsewhere) (:func:`hint_planes`).

The checkpoint stores only the hint convolutions; the semantic colorizer is named by its
card (``guide``, the shipped one by name) and checked against the SHA-256 of its weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .semantic import SemanticColorizer, annealed_mean, read_out
from .efficientnet import STAGE_CHANNELS
from ..core.color import AB_SCALE

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
            chroma by the gray, :func:`chromaprior.core.filters.guided_coefficients`; radius 0:
            plain bilinear upsampling), chosen on the training validation split.
        spread_decay, spread_sigma: what the network leaves of a hint's correction (hinted
            chroma minus predicted, at the working grid) is spread edge-aware over the gray
            (:func:`chromaprior.core.filters.edge_aware_propagate`: ``lam``, ``sigma``; decay 0: not
            spread), chosen on the training validation split.
        colour_from: with hints, the colour is read out of the ``hinted`` path's distribution
            or of the ``automatic`` one (the hinted path then serves the suggestions), before
            the spreading; chosen on the training validation split.
    """

    guide: str = "semantic-colorize"
    guide_sha256: str = ""
    vividness: float = 0.6
    edge_radius: int = 0
    edge_eps: float = 1e-3
    spread_decay: float = 0.0
    spread_sigma: float = 0.03
    colour_from: str = "hinted"
    kind: str = "steerable"

    def __post_init__(self) -> None:
        read_out(self.vividness)
        if (self.edge_radius < 0 or self.edge_eps <= 0 or self.spread_decay < 0 or self.spread_sigma <= 0
                or self.colour_from not in ("hinted", "automatic")):
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
        width = semantic.config.width
        #: per level, the pooled hints into the lateral; the last one into the classifier's input
        self.hint_in = nn.ModuleList(nn.Conv2d(3, width, 3, padding=1, bias=False) for _ in STAGE_CHANNELS[1:])
        self.hint_out = nn.Conv2d(3, width, 3, padding=1, bias=False)
        for conv in [*self.hint_in, self.hint_out]:
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
        return self.hinted(feats, planes)

    def hinted(self, feats: list[Tensor], planes: Tensor) -> Tensor:
        """The hinted path's logits (whether or not ``planes`` holds a hint: training)."""
        pooled = [pool_hints(planes, f.shape[-2:]) for f in feats]
        h = _fpn(feats, self.base.laterals, self.base.smooth, [conv(p) for conv, p in zip(self.hint_in, pooled)])
        return self.base.classifier(h + self.hint_out(pooled[0]))

    def hint_parameters(self) -> list[nn.Parameter]:
        """The weights that read the hints (they start at zero: trained at a higher rate)."""
        return [c.weight for c in [*self.hint_in, self.hint_out]]

    def forward(self, gray: Tensor, planes: Tensor | None = None) -> Tensor:
        return self.decode(self.encode(gray), planes)

    def read_out(self, logits: Tensor, hinted: bool, vividness: float | None = None) -> Tensor:
        """a*b* ``(B, 2, h, w)`` of logits at the read-out ``vividness`` (None: the default of
        the path, the semantic colorizer's without hints, :attr:`SteerableConfig.vividness` with)."""
        default = self.config.vividness if hinted else self.base.config.vividness
        power, t = read_out(default if vividness is None else vividness)
        return annealed_mean(logits, self.centres, t, self.base.log_weights, power)
