"""Training objectives as small objects, one per kind of method (as NVlabs/edm's VP/VE/EDM losses).

Every loss is called as ``loss(model, x, generator) -> scalar`` on a batch of clean colour
photos ``x`` ``(B, 3, H, W)`` in ``[0, 1]``; ``model`` is the network (possibly wrapped in
DistributedDataParallel). A loss with state of its own (the pix2pix discriminator) also
has ``after_step()``, ``state_dict()`` and ``load_state_dict()``; the training loop calls
them for every loss (no-ops for the others).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core import operators
from ..core.color import rgb_to_lab
from ..core.lifts import Lift
from ..core.color import AB_SCALE, L_SCALE
from ..nets import PatchDiscriminator
from ..nets.semantic import rebalancing_weights, soft_encode

__all__ = ["Loss", "DSMLoss", "GuidedDSMLoss", "RegressionLoss", "Pix2PixLoss", "BinCrossEntropy", "DemosaickLoss",
           "InpaintLoss", "random_masks", "lab_pair", "rebalancing_weights", "bin_cross_entropy"]


class Loss:
    """Base: a stateless objective."""

    def __call__(self, model: nn.Module, x: Tensor, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def after_step(self) -> None:
        """Called after each optimiser step of the network."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class DSMLoss(Loss):
    """Denoising score matching on the lifted image, Eq. (9) with ``lambda(sigma) = sigma^2``:
    ``mean |sigma s(z + sigma n, sigma) + n|^2 / 2`` over noise levels drawn uniformly."""

    def __init__(self, lift: Lift):
        self.lift = lift

    def __call__(self, model: nn.Module, x: Tensor, generator: torch.Generator) -> Tensor:
        z = self.lift.lift(x)
        sigmas = getattr(model, "module", model).sigmas
        levels = torch.randint(0, len(sigmas), (z.shape[0],), generator=generator).to(z.device)
        sigma = sigmas[levels].view(-1, 1, 1, 1)
        noise = torch.randn(z.shape, generator=generator).to(z)
        score = model(z + sigma * noise, levels)
        return 0.5 * ((sigma * score + noise) ** 2).mean()


class GuidedDSMLoss(DSMLoss):
    """Denoising score matching of the guided JGM (:class:`~chromaprior.nets.guided.GuidedScoreNet`):
    the crop ``x`` ``(B, 3, H, W)`` is what the frozen semantic colorizer sees (its gray);
    the score network learns the lift of ``x`` shrunk by the network's ``scale`` (bilinear,
    antialiased, as the colorizer shrinks a photo to its working grid), conditioned on
    ``net.condition(gray(x), gray(small))``, computed from the clean crop's gray."""

    def __call__(self, model: nn.Module, x: Tensor, generator: torch.Generator) -> Tensor:
        net = getattr(model, "module", model)
        s = net.config.scale
        h, w = x.shape[-2:]
        small = x if s == 1 else F.interpolate(x, size=(h // s, w // s), mode="bilinear", antialias=True,
                                               align_corners=False)
        gray = operators.gray()
        cond = net.condition(gray.forward(x), gray.forward(small))
        z = self.lift.lift(small)
        levels = torch.randint(0, len(net.sigmas), (z.shape[0],), generator=generator).to(z.device)
        sigma = net.sigmas[levels].view(-1, 1, 1, 1)
        noise = torch.randn(z.shape, generator=generator).to(z)
        score = model(z + sigma * noise, levels, cond)
        return 0.5 * ((sigma * score + noise) ** 2).mean()


def lab_pair(x: Tensor) -> tuple[Tensor, Tensor]:
    """Supervised colorizer data: input ``L(gray(x)) / 50 - 1`` ``(B, 1, H, W)`` (the L*
    of the gray image the colorizer will see) and target ``ab(x) / 110`` ``(B, 2, H, W)``."""
    gray = operators.gray().forward(x).expand(-1, 3, -1, -1)
    return rgb_to_lab(gray)[:, :1] / L_SCALE - 1, rgb_to_lab(x)[:, 1:] / AB_SCALE


class RegressionLoss(Loss):
    """L2 regression of a*b* from the L* of the gray image (the ``unet`` colorizer)."""

    def __call__(self, model: nn.Module, x: Tensor, generator: torch.Generator) -> Tensor:
        l_in, ab = lab_pair(x)
        return ((model(l_in) - ab) ** 2).mean()


class Pix2PixLoss(Loss):
    """pix2pix (Isola et al. 2017): the generator fools a PatchGAN (non-saturating BCE) with
    ``l1_weight`` x L1; after each generator step the discriminator takes one step on real
    ``[L, ab]`` and generated ``[L, G(L)]`` pairs (one pass, the mean of both BCE terms)."""

    def __init__(self, ndf: int, layers: int, lr: float, betas: tuple[float, float], l1_weight: float,
                 device: torch.device, distributed: bool = False):
        self.disc = PatchDiscriminator(ndf=ndf, layers=layers).to(device)
        self.critic = nn.parallel.DistributedDataParallel(self.disc) if distributed else self.disc
        self.opt = torch.optim.Adam(self.disc.parameters(), lr=lr, betas=betas)
        self.l1_weight = l1_weight
        self._pair: tuple[Tensor, Tensor, Tensor] | None = None

    def __call__(self, model: nn.Module, x: Tensor, generator: torch.Generator) -> Tensor:
        l_in, ab = lab_pair(x)
        fake = model(l_in)
        self._pair = (l_in, fake.detach(), ab)
        logits = self.critic(torch.cat([l_in, fake], dim=1))
        adversarial = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        return adversarial + self.l1_weight * (fake - ab).abs().mean()

    def after_step(self) -> None:
        l_in, fake, ab = self._pair
        pairs = torch.cat([torch.cat([l_in, ab], dim=1), torch.cat([l_in, fake], dim=1)])  # one pass (DDP)
        logits = self.critic(pairs)
        target = torch.cat([torch.ones_like(logits[: len(l_in)]), torch.zeros_like(logits[len(l_in):])])
        loss = F.binary_cross_entropy_with_logits(logits, target)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self._pair = None

    def state_dict(self) -> dict:
        return {"discriminator": self.disc.state_dict(), "discriminator_optimizer": self.opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.disc.load_state_dict(state["discriminator"])
        self.opt.load_state_dict(state["discriminator_optimizer"])


def bin_cross_entropy(logits: Tensor, ab: Tensor, centres: Tensor, weights: Tensor | None = None) -> Tensor:
    """Cross-entropy between a*b*-bin logits ``(B, Q, h, w)`` and the soft-encoded truth: the
    a*b* ``(B, 2, 4h, 4w)`` averaged over 4x4 cells (5 nearest of the ``centres``, sigma 5);
    with ``weights`` ``(Q,)`` each cell counts by the weight of its most likely bin."""
    target = soft_encode(F.avg_pool2d(ab, 4), centres)
    ce = -(target * torch.log_softmax(logits.float(), dim=1)).sum(dim=1)
    if weights is not None:
        ce = ce * weights.to(ce)[target.argmax(dim=1)]
    return ce.mean()


class BinCrossEntropy(Loss):
    """The semantic colorizer: cross-entropy between the predicted a*b* bins and the
    soft-encoded truth (5 nearest bins, sigma 5) at stride 4; with ``weights`` each pixel
    counts by the weight of its most likely bin (class rebalancing, :func:`rebalancing_weights`)."""

    def __init__(self, weights: Tensor | None = None):
        self.weights = weights

    def __call__(self, model: nn.Module, x: Tensor, generator: torch.Generator) -> Tensor:
        logits = model(operators.gray().forward(x))
        return bin_cross_entropy(logits, rgb_to_lab(x)[:, 1:], getattr(model, "module", model).centres, self.weights)

    @staticmethod
    def bin_prior(sample, centres: Tensor, crops: int = 512, seed: int = 12345) -> Tensor:
        """Empirical distribution ``(Q,)`` of the soft-encoded bins over ``crops`` random
        training crops; ``sample(n, generator)`` draws a batch (``ImageCache.sample``)."""
        gen = torch.Generator().manual_seed(seed)
        total = torch.zeros(len(centres))
        for start in range(0, crops, 64):
            ab = F.avg_pool2d(rgb_to_lab(sample(min(64, crops - start), gen))[:, 1:], 4)
            total += soft_encode(ab, centres).sum(dim=(0, 2, 3))
        return total / total.sum()


def _random_symmetry(x: Tensor, generator: torch.Generator) -> Tensor:
    """``(B, C, H, W)`` flipped vertically and transposed with probability 1/2 each (with the
    loader's horizontal flips: the eight symmetries of the square), contiguous."""
    flip, transpose = (torch.rand(2, generator=generator) < 0.5).tolist()
    if flip:
        x = x.flip(-2)
    if transpose:
        x = x.transpose(-1, -2)
    return x.contiguous()


class DemosaickLoss(Loss):
    """The learned demosaicker: L1 between the photo and the network's demosaicking of its
    RGGB mosaic. The crops come at random offsets of the photos, so the network sees every
    Bayer phase of the image content; on top of the loader's horizontal flips each batch is
    flipped vertically and transposed with probability 1/2 each (the eight symmetries)."""

    def __call__(self, model: nn.Module, x: Tensor, generator: torch.Generator) -> Tensor:
        x = _random_symmetry(x, generator)
        raw = operators.bayer("RGGB", *x.shape[-2:]).forward(x)
        return (model(raw) - x).abs().mean()


def random_masks(batch: int, height: int, width: int, generator: torch.Generator, block_share: float = 0.3,
                 missing: tuple[float, float] = (0.2, 0.9)) -> Tensor:
    """Training masks ``(B, 1, H, W)``, 1 = observed: random pixels missing at a fraction drawn
    from ``missing`` (uniform), or, for a ``block_share`` of the images, one to three missing
    rectangles of 1/8 to 1/2 of each side (holes)."""
    keep = torch.ones(batch, 1, height, width)
    for b in range(batch):
        if float(torch.rand((), generator=generator)) < block_share:
            for _ in range(int(torch.randint(1, 4, (), generator=generator))):
                bh = int(torch.randint(max(1, height // 8), max(2, height // 2) + 1, (), generator=generator))
                bw = int(torch.randint(max(1, width // 8), max(2, width // 2) + 1, (), generator=generator))
                t = int(torch.randint(0, height - bh + 1, (), generator=generator))
                l = int(torch.randint(0, width - bw + 1, (), generator=generator))
                keep[b, :, t : t + bh, l : l + bw] = 0
        else:
            f = missing[0] + (missing[1] - missing[0]) * float(torch.rand((), generator=generator))
            keep[b] = (torch.rand(1, height, width, generator=generator) >= f).float()
    return keep


class InpaintLoss(Loss):
    """The learned inpainter: L1 between the photo and the network's inpainting of it under
    random masks (:func:`random_masks`: 20-90 % random pixels, or rectangular holes), with
    random vertical flips and transposition on top of the loader's horizontal flips."""

    def __call__(self, model: nn.Module, x: Tensor, generator: torch.Generator) -> Tensor:
        x = _random_symmetry(x, generator)
        keep = random_masks(x.shape[0], *x.shape[-2:], generator).to(x)
        return (model(x * keep, keep) - x).abs().mean()
