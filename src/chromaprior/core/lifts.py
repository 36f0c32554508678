"""Lifted representations: the space the score prior lives in.

A lift maps an image ``x`` ``(B, C, H, W)`` to a higher-dimensional tensor ``z`` that the
score network models, and back. It also maps the degradation: ``lift_operator(A)`` acts
on ``z`` block-wise and ``lift_measurement(y)`` is the matching measurement, so that data
consistency can be enforced in the lifted space.

* :class:`IdentityLift` -- the plain image (the 3-channel RGB prior).
* :class:`GradientLift` -- JGM's joint intensity-gradient tensor ``[x, d1 x, d2 x]`` with
  the least-squares fusion of Eq. (14) solved exactly with FFTs.
* :class:`ChannelCopyLift` -- HGM's channel copy ``[x, x, ...]`` (3 -> 6 channels for 2 copies).
* :class:`PixelScaleLift` -- HGM's pixel scale: 2x2 space-to-depth (3 -> 12 channels at half size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from . import operators
from .operators import Operator
from .errors import InputError

__all__ = ["Lift", "IdentityLift", "GradientLift", "ChannelCopyLift", "PixelScaleLift", "block_diagonal", "make_lift"]


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

    def lift_problem(self, op: Operator, y: Tensor, gradients: bool = True) -> tuple[Operator, Tensor]:
        """The lifted operator and measurement together (``gradients``: see GradientLift)."""
        return self.lift_operator(op), self.lift_measurement(y)

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

    def lift_problem(self, op: Operator, y: Tensor, gradients: bool = True) -> tuple[Operator, Tensor]:
        """Lift ``y = A x`` for an operator whose rows may vary over the image.

        Rows that are the same at every pixel (the gray operator) commute with the
        differences and constrain all three blocks (Eq. 13), or only the image block when
        ``gradients`` is False (the paper's ablation); rows that vary (colour hints at some
        pixels) constrain the image block only.
        """
        m = op.matrix
        c = m.shape[2]
        const = (m == m[..., :1, :1]).permute(1, 0, 2, 3, 4).flatten(1).all(dim=1)  # (k,)
        parts, ys = [], []
        if const.any():
            fixed = Operator(m[:, const][..., :1, :1])
            if gradients:
                parts.append(block_diagonal(fixed, 3))
                ys.append(self.lift(y[:, const]))
            else:
                parts.append(Operator(F.pad(fixed.matrix, (0, 0, 0, 0, 0, 2 * c))))
                ys.append(y[:, const])
        if not const.all():
            parts.append(Operator(F.pad(m[:, ~const], (0, 0, 0, 0, 0, 2 * c))))
            ys.append(y[:, ~const])
        return (parts[0] if len(parts) == 1 else operators.stack(*parts)), torch.cat(ys, dim=1)

    def to_config(self) -> dict:
        return {"name": self.name, "beta": self.beta}


class ChannelCopyLift(Lift):
    """``x -> [x, x, ...]`` (``copies`` blocks); ``unlift`` averages the copies (the
    least-squares image), the operator acts on every copy."""

    name = "channel-copy"

    def __init__(self, copies: int = 2):
        if copies < 1:
            raise ValueError(f"copies must be >= 1, got {copies}")
        self.copies = self.factor = int(copies)

    def lift(self, x: Tensor) -> Tensor:
        return torch.cat([x] * self.copies, dim=1)

    def unlift(self, z: Tensor) -> Tensor:
        if z.shape[1] % self.copies:
            raise ValueError(f"expected a multiple of {self.copies} channels, got shape {tuple(z.shape)}")
        return torch.stack(torch.chunk(z, self.copies, dim=1)).mean(0)

    def lift_operator(self, op: Operator) -> Operator:
        return block_diagonal(op, self.copies)

    def lift_measurement(self, y: Tensor) -> Tensor:
        return self.lift(y)

    def to_config(self) -> dict:
        return {"name": self.name, "copies": self.copies}


class PixelScaleLift(Lift):
    """2x2 space-to-depth: ``(B, C, H, W) -> (B, 4C, H/2, W/2)``; channel ``4c + 2i + j``
    holds pixel ``(2h + i, 2w + j)`` of channel ``c`` (``torch.pixel_unshuffle``)."""

    name = "pixel-scale"
    factor = 4

    def lift(self, x: Tensor) -> Tensor:
        if x.shape[-1] % 2 or x.shape[-2] % 2:
            raise ValueError(f"pixel scale needs even height and width, got {tuple(x.shape[-2:])}")
        return F.pixel_unshuffle(x, 2)

    def unlift(self, z: Tensor) -> Tensor:
        return F.pixel_shuffle(z, 2)

    def lift_operator(self, op: Operator) -> Operator:
        m = op.matrix
        b, k, c, h, w = m.shape
        if (h, w) == (1, 1):
            m = m.expand(b, k, c, 2, 2)
            h = w = 2
        if h % 2 or w % 2:
            raise ValueError(f"pixel scale needs an operator on even sizes, got {(h, w)}")
        # the sub-pixel (i, j) of the lifted operator is op's matrix at that position
        sub = m.reshape(b, k, c, h // 2, 2, w // 2, 2).permute(0, 4, 6, 1, 2, 3, 5)  # b i j k c h w
        out = m.new_zeros(b, 4 * k, 4 * c, h // 2, w // 2)
        for i in range(2):
            for j in range(2):
                s = 2 * i + j
                out[:, s::4, s::4] = sub[:, i, j]
        return Operator(out)

    def lift_measurement(self, y: Tensor) -> Tensor:
        return F.pixel_unshuffle(y, 2)


def make_lift(config: dict) -> Lift:
    """Rebuild a lift from its ``to_config()`` dictionary."""
    name = config.get("name")
    if name == "identity":
        return IdentityLift()
    if name == "gradient":
        return GradientLift(beta=config.get("beta", 1.0))
    if name == "channel-copy":
        return ChannelCopyLift(copies=config.get("copies", 2))
    if name == "pixel-scale":
        return PixelScaleLift()
    raise InputError(f"unknown lift {name!r}")
