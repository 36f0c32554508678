"""Guided JGM: the noise-conditional score network on JGM's 9-channel lift, conditioned on
the gray photo and on what the frozen semantic colorizer sees in it.

The condition is computed once per image (:meth:`GuidedScoreNet.condition`, no gradient):
the semantic colorizer (:class:`~chromaprior.nets.semantic.SemanticColorizer`, its
ImageNet-pretrained EfficientNet-Lite0 encoder and trained FPN decoder, both frozen) looks at
the gray at ``scale`` x the score network's grid (the resolution it was trained at); its
stride-4 decoder features and the a*b* read-outs of its predicted bin distribution at the
vividness values ``read_outs`` are upsampled to the score grid and stacked with the gray
there. The score network (the NCSN RefineNet of :mod:`chromaprior.nets.ncsn`, with the same
parameter names, so a trained unconditional ``jgm`` model is a valid start) receives the
condition through a small trunk (1x1 conv, 3x3 conv, ELU) and zero-initialised 1x1
projections added to its features at full, 1/2, 1/4 and 1/8 resolution on the way down and
before the last (level-conditional) normalisation, a short path to the output
(ControlNet-style: at initialisation the network is exactly the unconditional one).

With ``pull`` the score also has an explicit term for the condition: the network's denoised
estimate (Tweedie, ``D = z + sigma^2 s``) is blended with the photo coloured by each read-out
``k`` (its L*, the read-out's a*b*, lifted), in the chroma only:
``D' = D + sum_k a_k(sigma, block) C(c_k - D)``, i.e. the score gains
``sum_k a_k C(c_k - D) / sigma^2``. ``C`` keeps the chroma (the null space of the gray
operator, block by block: image, horizontal and vertical differences), so the term never
fights the gray's data consistency; the gains ``a`` (one per read-out, block and noise level,
zero at initialisation) are learned by the same denoising score matching. For Gaussian errors
of ``D`` and ``c`` the ideal gain is ``var(D) / (var(D) + var(c))``: large where the noise hides
the colour, small at the end of the ladder. These few numbers are learned in a few dozen
steps, which a CPU budget allows; the injections learn what the read-outs miss when there is
more training.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.color import AB_SCALE, lab_to_rgb, rgb_to_lab
from .ncsn import ScoreNet, ScoreNetConfig
from .semantic import SemanticColorizer, annealed_mean, read_out

__all__ = ["GuidedConfig", "GuidedScoreNet"]


@dataclass
class GuidedConfig:
    """Architecture of :class:`GuidedScoreNet`.

    Attributes:
        in_channels, ngf, num_levels: of the score network (:class:`~chromaprior.nets.ncsn.ScoreNetConfig`).
        cond_width: channels of the condition trunk.
        scale: the semantic colorizer sees the gray at ``scale`` x the score grid (its
            input must be a multiple of 32, so the score grid is a multiple of ``32 / scale``).
        read_outs: vividness values of the a*b* maps read out of the predicted distribution
            (:func:`~chromaprior.nets.semantic.read_out`; 0: its mean, 1: vivid).
        guide: the frozen colorizer: the name of the shipped one (``semantic-colorize``) or a
            model folder; it is not stored with the guided model (one copy of the weights).
        guide_sha256: the SHA-256 of its weights file, checked when the model is loaded.
        pull: add the learned Gaussian pull towards the read-outs' colours (module docstring).
        gain_scale: the pull's gains are ``gain_scale`` x their parameters (so that Adam's
            step of about ``lr`` per step moves a gain by ``gain_scale * lr``).
    """

    in_channels: int = 9
    ngf: int = 32
    num_levels: int = 10
    cond_width: int = 32
    scale: int = 2
    read_outs: list[float] = field(default_factory=lambda: [0.0, 1.0])
    guide: str = ""
    guide_sha256: str = ""
    pull: bool = True
    gain_scale: float = 30.0
    kind: str = "jgm-guided"

    def __post_init__(self) -> None:
        if self.scale < 1 or 32 % self.scale:
            raise ValueError(f"scale must divide 32, got {self.scale}")
        if self.cond_width < 1:
            raise ValueError(f"cond_width must be >= 1, got {self.cond_width}")
        for v in self.read_outs:
            read_out(v)

    @property
    def multiple(self) -> int:
        """The multiple of the score grid: the semantic input (``scale`` x) is a multiple of 32
        and the score network's of 8."""
        return max(8, 32 // self.scale)

    def to_dict(self) -> dict:
        return asdict(self)


class GuidedScoreNet(ScoreNet):
    """Conditional score model ``s(z, sigma_level | gray, semantic features)``.

    Args:
        config: :class:`GuidedConfig`.
        sigmas: the noise ladder ``(L,)``.
        semantic: the trained semantic colorizer whose features condition the network; it is
            frozen (no gradients, eval mode always) and not stored with the model
            (:meth:`frozen_prefixes`): it is loaded from ``config.guide``.
    Shapes:
        z: ``(B, in_channels, h, w)``, h and w multiples of 8; level ``(B,)`` long;
        cond: ``(B, cond_channels, h, w)`` from :meth:`condition`. Returns ``(B, in_channels, h, w)``.
    """

    def __init__(self, config: GuidedConfig, sigmas: Tensor, semantic: SemanticColorizer):
        super().__init__(ScoreNetConfig(config.in_channels, config.ngf, config.num_levels), sigmas)
        self.config = config
        self.semantic = semantic.eval().requires_grad_(False)
        n, w = config.ngf, config.cond_width
        k = len(config.read_outs)
        #: gray, a*b* read-outs, decoder features, the read-outs' lifted chroma (with ``pull``)
        self.cond_channels = 1 + 2 * k + semantic.config.width + (config.in_channels * k if config.pull else 0)
        self.cond_trunk = nn.Sequential(nn.Conv2d(self.cond_channels, w, 1), nn.ELU(), nn.Conv2d(w, w, 3, padding=1),
                                        nn.ELU())
        self.inject = nn.ModuleList(nn.Conv2d(w, c, 1) for c in (n, 2 * n, 2 * n, 2 * n, n))
        for conv in self.inject:  # zero: the unconditional network at initialisation
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        if config.pull:  # gains a_k(level, block), zero at initialisation
            self.pull_gain = nn.Embedding(config.num_levels, k * 3)
            nn.init.zeros_(self.pull_gain.weight)

    #: ``train --init`` never loads these (the frozen colorizer comes from ``--guide``)
    init_exclude = ("semantic.",)

    def train(self, mode: bool = True) -> "GuidedScoreNet":
        super().train(mode)
        self.semantic.eval()
        return self

    def frozen_prefixes(self) -> tuple[str, ...]:
        """State-dict keys not stored with the model: the whole semantic colorizer (its own
        model folder, ``config.guide``, holds it once for both methods)."""
        return ("semantic.",)

    @torch.no_grad()
    def condition(self, gray_big: Tensor, gray: Tensor) -> Tensor:
        """The condition of one or more gray images, computed once per image.

        Args:
            gray_big: ``(B, 1, H, W)`` in ``[0, 1]``, what the semantic colorizer sees
                (``scale`` x the score grid; multiples of 32 avoid padding).
            gray: ``(B, 1, h, w)`` in ``[0, 1]``, the same gray on the score grid.
        Returns:
            ``(B, cond_channels, h, w)``: the gray (``2 g - 1``), the a*b* read-outs (``/ 110``)
            and the decoder features, bilinearly resized to the score grid, and with ``pull``
            the chroma of the lifted photo coloured by each read-out (``in_channels`` each).
        """
        if gray_big.ndim != 4 or gray_big.shape[1] != 1 or gray.ndim != 4 or gray.shape[1] != 1:
            raise ValueError(f"expected gray images (B, 1, H, W), got {tuple(gray_big.shape)} and {tuple(gray.shape)}")
        sem = self.semantic
        feats = sem.decode(gray_big)
        logits = sem.classifier(feats)
        maps = []
        for v in self.config.read_outs:
            power, t = read_out(v)
            maps.append(annealed_mean(logits, sem.centres, t, sem.log_weights, power) / AB_SCALE)
        k = len(maps)
        maps = torch.cat(maps + [feats.float()], dim=1)
        maps = F.interpolate(maps, size=gray.shape[-2:], mode="bilinear", align_corners=False)
        parts = [2 * gray - 1, maps.to(gray.dtype)]
        if self.config.pull:
            from ..core.lifts import GradientLift

            lightness = rgb_to_lab(gray.float().clamp(0, 1).expand(-1, 3, -1, -1))[:, :1]
            for i in range(k):
                rgb = lab_to_rgb(torch.cat([lightness, maps[:, 2 * i : 2 * i + 2] * AB_SCALE], dim=1)).clamp(0, 1)
                parts.append(GradientLift().lift(rgb - rgb.mean(dim=1, keepdim=True)).to(gray.dtype))
        return torch.cat(parts, dim=1)

    def _pull(self, z: Tensor, score: Tensor, level: Tensor, cond: Tensor) -> Tensor:
        """``sum_k a_k(level, block) C(c_k - D) / sigma^2`` with ``D = z + sigma^2 score`` (module docstring)."""
        b, c, h, w = z.shape
        k = len(self.config.read_outs)
        sigma2 = self.sigmas[level].view(b, 1, 1, 1).to(z) ** 2
        centres = cond[:, -c * k :].reshape(b, k, 3, c // 3, h, w)
        denoised = (z + sigma2 * score).reshape(b, 1, 3, c // 3, h, w)
        chroma = centres - (denoised - denoised.mean(dim=3, keepdim=True))
        gains = self.config.gain_scale * self.pull_gain(level).view(b, k, 3, 1, 1, 1)
        return (gains * chroma).sum(dim=1).reshape(b, c, h, w) / sigma2

    def forward(self, z: Tensor, level: Tensor, cond: Tensor | None = None) -> Tensor:
        if cond is None:
            raise ValueError("the guided score network needs its condition: net(z, level, net.condition(...))")
        if z.ndim != 4 or z.shape[1] != self.config.in_channels:
            raise ValueError(f"expected (B, {self.config.in_channels}, H, W), got {tuple(z.shape)}")
        if z.shape[-1] % 8 or z.shape[-2] % 8:
            raise ValueError(f"height and width must be multiples of 8, got {tuple(z.shape[-2:])}")
        if cond.shape[0] != z.shape[0] or cond.shape[1] != self.cond_channels or cond.shape[-2:] != z.shape[-2:]:
            raise ValueError(f"condition {tuple(cond.shape)} does not fit z {tuple(z.shape)} "
                             f"({self.cond_channels} channels expected)")
        c = self.cond_trunk(cond.to(z.dtype))
        h = self.begin(2 * z - 1) + self.inject[0](c)
        h1 = self._run(self.res1, h, level)
        h2 = self._run(self.res2, h1, level) + self.inject[1](F.avg_pool2d(c, 2))
        h3 = self._run(self.res3, h2, level) + self.inject[2](F.avg_pool2d(c, 4))
        h4 = self._run(self.res4, h3, level) + self.inject[3](F.avg_pool2d(c, 8))
        r = self.refine1([h4], level, h4.shape[-2:])
        r = self.refine2([h3, r], level, h3.shape[-2:])
        r = self.refine3([h2, r], level, h2.shape[-2:])
        r = self.refine4([h1, r], level, h1.shape[-2:])
        out = self.end(F.elu(self.end_norm(r + self.inject[4](c), level)))
        out = out / self.sigmas[level].view(-1, 1, 1, 1).to(out)
        return out + self._pull(z, out, level, cond) if self.config.pull else out
