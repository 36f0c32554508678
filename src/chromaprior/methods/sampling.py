"""Annealed Langevin sampling with data consistency (JGM, Algorithm 1).

:func:`sample` is a pure function of (score network, operator, measurement, preset,
generators, lift). Presets are data (:class:`Preset`), not code paths.

One level ``i`` of the ladder ``sigma_1 > ... > sigma_L`` runs ``steps`` iterations of

    Z <- Z + alpha_i / 2 * s(Z, sigma_i) + sqrt(alpha_i) * n,   n ~ N(0, I)     (Eq. 11)
    Z <- Z + lambda * A_lift^+ (y_lift - A_lift Z)                                (Eq. 12-13)

with ``alpha_i = eps * sigma_i^2 / sigma_L^2``. The data-consistency step is the
(relaxed, ``lambda`` <= 1) projection onto ``{Z : A_lift Z = y_lift}``: for the gray
operator this is Eq. 12's ``-lambda DC`` gradient step preconditioned by ``(A A^T)^-1``,
which makes ``lambda`` independent of the step size and ``lambda = 1`` exact. With the
gradient lift the lifted operator applies ``A`` to the image block and to both gradient
blocks (Eq. 13); ``gradient_dc=False`` keeps only the image block (the paper's ablation).
After each level the image and gradient blocks are fused by Eq. (14) and re-lifted.

With ``predictor=True`` each level also ends with one ancestral step to the next level
(Song et al. 2021, predictor-corrector): ``Z <- Z + (s_i^2 - s_j^2) s(Z, s_i) + s_j
sqrt(1 - s_j^2 / s_i^2) n``, whose last step (to ``s_j = 0``) is the Tweedie denoiser;
the Langevin steps are then the corrector.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Callable, Sequence

import torch
from torch import Tensor

from ..core.lifts import Lift
from ..core.operators import Operator
from ..core.errors import InputError

__all__ = ["Preset", "PRESETS", "get_preset", "sample", "seeded_generators"]


@dataclass(frozen=True)
class Preset:
    """A sampling schedule.

    Attributes:
        steps: Langevin steps per noise level.
        eps: step-size constant (``alpha_i = eps sigma_i^2 / sigma_L^2``).
        dc_weight: lambda of the data-consistency projection, in (0, 1].
        gradient_dc: enforce consistency on the gradient blocks too (Eq. 13, DC_2).
        level_stride: use every k-th level of the ladder (always ending at the last).
        first_level: start at this level of the ladder instead of sigma_1 (with the gray
            operator the colour is only chroma, whose spread is far below sigma_1).
        denoise: finish with one Tweedie denoising step ``z + sigma_L^2 s(z, sigma_L)``
            (implied by ``predictor``).
        predictor: end each level with an ancestral predictor step to the next level.
    """

    name: str
    steps: int
    eps: float
    dc_weight: float = 1.0
    gradient_dc: bool = True
    level_stride: int = 1
    first_level: int = 0
    denoise: bool = True
    predictor: bool = False

    def __post_init__(self) -> None:
        if self.steps < 0 or self.level_stride < 1 or self.first_level < 0 or (self.steps == 0 and not self.predictor):
            raise InputError("need steps >= 1 (or >= 0 with a predictor), level_stride >= 1 and first_level >= 0")
        if not (0 < self.dc_weight <= 1):
            raise InputError(f"dc_weight must be in (0, 1], got {self.dc_weight}")
        if not self.eps > 0:
            raise InputError(f"eps must be > 0, got {self.eps}")

    def levels(self, num_levels: int) -> list[int]:
        if not 0 <= self.first_level < num_levels:
            raise InputError(f"first_level {self.first_level} outside the ladder of {num_levels} levels")
        return list(range(num_levels - 1, self.first_level - 1, -self.level_stride))[::-1]

    def nfe(self, num_levels: int) -> int:
        """Network evaluations per image."""
        per_level = self.steps + int(self.predictor)
        return len(self.levels(num_levels)) * per_level + int(self.denoise and not self.predictor)

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        # The paper's schedule: 10 levels x 100 steps (1000 NFE), NCSN's eps.
        Preset("paper", steps=100, eps=2e-5),
        # Predictor-corrector: 10 levels x (2 Langevin + 1 ancestral step) = 30 NFE.
        # Chosen on the training validation split (bench/tune_presets.py).
        Preset("fast", steps=2, eps=1e-4, predictor=True),
        # Ancestral steps only: 10 NFE, a quick preview.
        Preset("preview", steps=0, eps=1e-4, predictor=True),
    )
}


def get_preset(name: str, **overrides) -> Preset:
    """A named preset, optionally with fields replaced."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides) if overrides else PRESETS[name]


def seeded_generators(seed: int, batch: int, offset: int = 0) -> list[torch.Generator]:
    """One generator per image (seed + index), so a batch equals image-by-image runs."""
    return [torch.Generator().manual_seed(seed + offset + b) for b in range(batch)]


def _randn(shape: Sequence[int], generators: list[torch.Generator], like: Tensor) -> Tensor:
    return torch.stack([torch.randn(tuple(shape[1:]), generator=g) for g in generators]).to(like)


@torch.no_grad()
def sample(
    net: torch.nn.Module,
    operator: Operator,
    y: Tensor,
    preset: Preset,
    *,
    generator: list[torch.Generator],
    lift: Lift,
    init: Tensor | None = None,
    callback: Callable[[int, int], None] | None = None,
    cond: Tensor | None = None,
) -> Tensor:
    """Sample ``x`` with ``A x = y`` from the score prior.

    Args:
        net: score network on the lifted space (``net(z, level)``, with a ``sigmas`` buffer).
        operator: ``A``, ``(B, C, H, W) -> (B, k, H, W)``.
        y: measurement ``(B, k, H, W)``; H, W multiples of 8.
        preset: the schedule.
        generator: one ``torch.Generator`` per image.
        lift: the representation the prior was trained on.
        init: starting image ``(B, C, H, W)``; default ``A^+ y``.
        callback: called as ``callback(nfe_done, nfe_total)`` after each network call.
        cond: the per-image condition of a conditional network (``net(z, level, cond)``,
            e.g. :meth:`chromaprior.nets.guided.GuidedScoreNet.condition`), computed once by
            the caller; None for an unconditional prior (``net(z, level)``).
    Returns:
        ``(B, C, H, W)`` image satisfying ``A x = y`` (final exact projection), not clipped.
    """
    if len(generator) != y.shape[0]:
        raise ValueError(f"need one generator per image: {len(generator)} for a batch of {y.shape[0]}")
    lop, y_lift = lift.lift_problem(operator, y, gradients=preset.gradient_dc)
    sigmas = net.sigmas
    levels = preset.levels(len(sigmas))
    total = preset.nfe(len(sigmas))
    sigma_last = sigmas[-1]
    x0 = operator.pinv(y) if init is None else init
    z = lift.lift(x0)
    z = z + sigmas[levels[0]] * _randn(z.shape, generator, z)
    done = 0
    batch = y.shape[0]

    def score(z: Tensor, level: Tensor) -> Tensor:
        return net(z, level) if cond is None else net(z, level, cond)

    def tick() -> None:
        nonlocal done
        done += 1
        if callback:
            callback(done, total)

    for n, i in enumerate(levels):
        level = torch.full((batch,), i, dtype=torch.long, device=z.device)
        alpha = preset.eps * (sigmas[i] / sigma_last) ** 2
        for _ in range(preset.steps):
            z = z + 0.5 * alpha * score(z, level) + alpha.sqrt() * _randn(z.shape, generator, z)
            z = lop.project(z, y_lift, preset.dc_weight)
            tick()
        if preset.predictor:
            nxt = sigmas[levels[n + 1]] if n + 1 < len(levels) else sigmas.new_zeros(())
            z = z + (sigmas[i] ** 2 - nxt**2) * score(z, level)
            if nxt > 0:
                z = z + nxt * torch.sqrt(1 - nxt**2 / sigmas[i] ** 2) * _randn(z.shape, generator, z)
            z = lop.project(z, y_lift, preset.dc_weight)
            tick()
        z = lift.lift(lift.unlift(z))
    if preset.denoise and not preset.predictor:
        level = torch.full((batch,), levels[-1], dtype=torch.long, device=z.device)
        z = z + sigmas[levels[-1]] ** 2 * score(z, level)
        tick()
    return operator.project(lift.unlift(z), y)
