"""Lifted representations: the space the score prior lives in.

A lift maps an image ``x`` ``(B, C, H, W)`` to a higher-dimensional tensor ``z`` that the
score network models, and back. It also maps the degradation: ``lift_operator(A)`` acts
on ``z`` block-wise and ``lift_measurement(y)`` is the matching measurement, so that data
consistency can be enforced in the lifted space.

* :class:`IdentityLift` -- the plain image (the 3-channel RGB prior).
* :class:`GradientLift` -- JGM's joint intensity-gradient tensor ``[x, d1 x, d2 x]`` with
  the least-squares fusion of Eq. (14) solved exactly with FFTs.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .operators import Operator

__all__ = ["Lift", "IdentityLift", "GradientLift", "block_diagonal", "make_lift"]


def block_diagonal(op: Operator, blocks: int) -> Operator:
    """The operator acting as ``op`` on each of ``blocks`` consecutive channel groups."""
    m = op.matrix
    b, k, c, h, w = m.shape
    out = m.new_zeros(b, blocks * k, blocks * c, h, w)
    for i in range(blocks):
        out[:, i * k : (i + 1) * k, i * c : (i + 1) * c] = m
    return Operator(out)


class Lift:
    """Base class: ``lift``, ``unlift`` and the lifted operator/measurement."""

    name = "base"
    factor = 1  #: lifted channels = factor * image channels

    def lift(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def unlift(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def lift_operator(self, op: Operator) -> Operator:
        raise NotImplementedError

    def lift_measurement(self, y: Tensor) -> Tensor:
        raise NotImplementedError

    def to_config(self) -> dict:
        return {"name": self.name}


class IdentityLift(Lift):
    """No lift: the prior models the image itself."""

    name = "identity"

    def lift(self, x: Tensor) -> Tensor:
        return x

    def unlift(self, z: Tensor) -> Tensor:
        return z

    def lift_operator(self, op: Operator) -> Operator:
        return op

    def lift_measurement(self, y: Tensor) -> Tensor:
        return y


def d1(x: Tensor) -> Tensor:
    """Horizontal forward difference with periodic boundary: ``x[.., w+1] - x[.., w]``."""
    return torch.roll(x, shifts=-1, dims=-1) - x


def d2(x: Tensor) -> Tensor:
    """Vertical forward difference with periodic boundary: ``x[.., h+1, :] - x[.., h, :]``."""
    return torch.roll(x, shifts=-1, dims=-2) - x


def d1_adjoint(g: Tensor) -> Tensor:
    return torch.roll(g, shifts=1, dims=-1) - g


def d2_adjoint(g: Tensor) -> Tensor:
    return torch.roll(g, shifts=1, dims=-2) - g


class GradientLift(Lift):
    """JGM's intensity-gradient lift ``X = [x, d1 x, d2 x]`` (3C channels).

    ``unlift`` solves Eq. (14) of the paper,
    ``min_x |x - x0|^2 + beta (|d1 x - g1|^2 + |d2 x - g2|^2)``,
    whose normal equations ``(I + beta (d1^T d1 + d2^T d2)) x = x0 + beta (d1^T g1 + d2^T g2)``
    are diagonal in the Fourier basis (periodic differences), so the solve is exact.
    """

    name = "gradient"
    factor = 3

    def __init__(self, beta: float = 1.0):
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.beta = float(beta)

    def lift(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, 3C, H, W)``: image, horizontal and vertical differences."""
        return torch.cat([x, d1(x), d2(x)], dim=1)

    def split(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        if z.shape[1] % 3:
            raise ValueError(f"gradient-lifted tensor needs 3C channels, got shape {tuple(z.shape)}")
        return torch.chunk(z, 3, dim=1)

    def unlift(self, z: Tensor) -> Tensor:
        """``(B, 3C, H, W) -> (B, C, H, W)``: least-squares fusion of Eq. (14)."""
        x0, g1, g2 = self.split(z)
        if self.beta == 0:
            return x0
        h, w = x0.shape[-2:]
        rhs = x0 + self.beta * (d1_adjoint(g1) + d2_adjoint(g2))
        fy = torch.fft.fftfreq(h, device=z.device, dtype=torch.float64)
        fx = torch.fft.fftfreq(w, device=z.device, dtype=torch.float64)
        lap = (2 - 2 * torch.cos(2 * torch.pi * fy))[:, None] + (2 - 2 * torch.cos(2 * torch.pi * fx))[None, :]
        denom = 1 + self.beta * lap
        out = torch.fft.ifft2(torch.fft.fft2(rhs.double()) / denom).real
        return out.to(z.dtype)

    def lift_operator(self, op: Operator) -> Operator:
        if not op.spatially_constant:
            raise ValueError("the gradient lift needs a spatially constant operator (it must commute with differences)")
        return block_diagonal(op, 3)

    def lift_measurement(self, y: Tensor) -> Tensor:
        return self.lift(y)

    def to_config(self) -> dict:
        return {"name": self.name, "beta": self.beta}


def make_lift(config: dict) -> Lift:
    """Rebuild a lift from its ``to_config()`` dictionary."""
    name = config.get("name")
    if name == "identity":
        return IdentityLift()
    if name == "gradient":
        return GradientLift(beta=config.get("beta", 1.0))
    raise ValueError(f"unknown lift {name!r}")
