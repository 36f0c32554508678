"""Colour spaces and white balance.

* sRGB <-> CIE L*a*b* (D65), exact inverses of each other (up to float rounding);
  ``L`` in ``[0, 100]``, ``a, b`` roughly in ``[-110, 110]``.
* :func:`transfer_palette`: Reinhard et al. (2001) colour transfer of a*b*: the mean and
  spread of the chroma of an image are moved towards those of a reference photo.
* :func:`gamut_clamp`: bring ``gray + chroma`` into the RGB cube by shrinking the chroma
  only (the gray, hence the luminance, is kept).
* :data:`L_SCALE`, :data:`AB_SCALE`: the scales of L* and a*b* in the networks' inputs and outputs.
* :func:`white_balance`: render an image as if lit by a light of ``kelvin`` instead of
  6500 K: the chromaticity of the daylight locus (CIE 015, 4000-25000 K) or of the
  Planckian locus (Kim et al. 2002, 1667-4000 K) at each temperature, and a Bradford
  chromatic adaptation between them in linear sRGB. 6500 K is the identity; lower
  temperatures are warmer (more orange), higher are cooler (more blue).

Tensors are ``(B, 3, H, W)``; sRGB values in ``[0, 1]``.
"""

from __future__ import annotations

import torch
from torch import Tensor
from .errors import InputError

__all__ = ["rgb_to_lab", "lab_to_rgb", "white_balance", "kelvin_to_xy", "transfer_palette", "gamut_clamp", "KELVIN_RANGE",
           "L_SCALE", "AB_SCALE"]

#: L in [0, 100] is fed to the networks as L / L_SCALE - 1; ab are predicted as ab / AB_SCALE
L_SCALE, AB_SCALE = 50.0, 110.0

#: linear sRGB -> XYZ (D65), IEC 61966-2-1
_RGB2XYZ = torch.tensor(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]],
    dtype=torch.float64,
)
_XYZ2RGB = torch.linalg.inv(_RGB2XYZ)
_D65 = _RGB2XYZ.sum(dim=1)  # XYZ of RGB white (1, 1, 1)
_BRADFORD = torch.tensor(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]], dtype=torch.float64
)
#: temperatures :func:`white_balance` accepts
KELVIN_RANGE = (1667.0, 25000.0)


def _apply(m: Tensor, x: Tensor) -> Tensor:
    return torch.einsum("ij,bjhw->bihw", m.to(x), x)


def srgb_to_linear(x: Tensor) -> Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x.clamp_min(0.04045) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: Tensor) -> Tensor:
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(0.0031308) ** (1 / 2.4) - 0.055)


_EPS, _KAPPA = 216 / 24389, 24389 / 27


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB ``(B, 3, H, W)`` in ``[0, 1]`` -> L*a*b* (D65) ``(B, 3, H, W)``."""
    xyz = _apply(_RGB2XYZ, srgb_to_linear(rgb)) / _D65.to(rgb).view(1, 3, 1, 1)
    f = torch.where(xyz > _EPS, xyz.clamp_min(_EPS) ** (1 / 3), (_KAPPA * xyz + 16) / 116)
    fx, fy, fz = f.unbind(1)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=1)


def lab_to_rgb(lab: Tensor) -> Tensor:
    """L*a*b* (D65) -> sRGB ``(B, 3, H, W)``, not clipped (out-of-gamut colours leave ``[0, 1]``)."""
    l, a, b = lab.unbind(1)
    fy = (l + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], dim=1)
    xyz = torch.where(f**3 > _EPS, f**3, (116 * f - 16) / _KAPPA)
    xyz = xyz * _D65.to(lab).view(1, 3, 1, 1)
    return linear_to_srgb(_apply(_XYZ2RGB, xyz))


def kelvin_to_xy(kelvin: float) -> tuple[float, float]:
    """CIE 1931 chromaticity of a light source of correlated colour temperature ``kelvin``."""
    t = float(kelvin)
    if not KELVIN_RANGE[0] <= t <= KELVIN_RANGE[1]:
        raise InputError(f"colour temperature must be in {KELVIN_RANGE[0]:.0f}..{KELVIN_RANGE[1]:.0f} K, got {kelvin}")
    if t >= 4000:  # CIE daylight locus
        if t <= 7000:
            x = -4.6070e9 / t**3 + 2.9678e6 / t**2 + 0.09911e3 / t + 0.244063
        else:
            x = -2.0064e9 / t**3 + 1.9018e6 / t**2 + 0.24748e3 / t + 0.237040
        y = -3.000 * x * x + 2.870 * x - 0.275
        return x, y
    # Planckian locus, Kim et al. (2002) cubic spline
    if t <= 4000:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    if t <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    else:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    return x, y


def _xyz_white(kelvin: float) -> Tensor:
    x, y = kelvin_to_xy(kelvin)
    return torch.tensor([x / y, 1.0, (1 - x - y) / y], dtype=torch.float64)


def white_balance(rgb: Tensor, kelvin: float, reference: float = 6500.0) -> Tensor:
    """Re-light an sRGB image from a ``reference`` light to one of ``kelvin``.

    Bradford adaptation in linear light; the luminance (Y) of white is kept. Lower
    ``kelvin`` than ``reference`` gives a warmer image.

    Args:
        rgb: ``(B, 3, H, W)`` in ``[0, 1]``.
    Returns:
        ``(B, 3, H, W)`` in ``[0, 1]`` (clipped); the input itself when ``kelvin == reference``.
    """
    if kelvin == reference:
        kelvin_to_xy(kelvin)  # still validates the range
        return rgb
    src, dst = _BRADFORD @ _xyz_white(reference), _BRADFORD @ _xyz_white(kelvin)
    adapt = torch.linalg.inv(_BRADFORD) @ torch.diag(dst / src) @ _BRADFORD
    m = _XYZ2RGB @ adapt @ _RGB2XYZ
    return linear_to_srgb(_apply(m, srgb_to_linear(rgb.clamp(0, 1))).clamp(0, 1)).clamp(0, 1)


def transfer_palette(rgb: Tensor, reference: Tensor, strength: float = 1.0) -> Tensor:
    """Move the a*b* statistics of ``rgb`` towards those of ``reference``.

    Each of a*, b* is shifted and scaled to the reference's mean and standard deviation
    (Reinhard et al. 2001), blended by ``strength`` in ``[0, 1]``; L* is unchanged.

    Args:
        rgb: ``(B, 3, H, W)`` in ``[0, 1]``; reference: ``(1, 3, h, w)`` in ``[0, 1]``.
    Returns:
        ``(B, 3, H, W)``, not clipped.
    """
    if not 0 <= strength <= 1:
        raise InputError(f"strength must be in [0, 1], got {strength}")
    lab, ref = rgb_to_lab(rgb), rgb_to_lab(reference.to(rgb))
    ab = lab[:, 1:]
    mu, sd = ab.mean(dim=(2, 3), keepdim=True), ab.std(dim=(2, 3), keepdim=True)
    rmu, rsd = ref[:, 1:].mean(dim=(2, 3), keepdim=True), ref[:, 1:].std(dim=(2, 3), keepdim=True)
    moved = (ab - mu) * (rsd / sd.clamp_min(1e-3)) + rmu
    return lab_to_rgb(torch.cat([lab[:, :1], ab + strength * (moved - ab)], dim=1))


def gamut_clamp(gray: Tensor, chroma: Tensor) -> Tensor:
    """``gray + t * chroma`` with the largest ``t`` in ``[0, 1]`` per pixel that stays in ``[0, 1]``.

    Args:
        gray: ``(B, 1, H, W)`` in ``[0, 1]``.
        chroma: ``(B, 3, H, W)`` with ``w . chroma = 0`` for the gray weights ``w``.
    Returns:
        ``(B, 3, H, W)`` in ``[0, 1]`` with the same gray (``sum w = 1``) and hue.
    """
    gray = gray.clamp(0, 1)
    # the tightest channel up is the largest positive chroma, down the most negative one
    # (the same t as the minimum over channels of their own room, with two reductions)
    up, down = chroma.amax(dim=1, keepdim=True), chroma.amin(dim=1, keepdim=True)
    t_up = torch.where(up > 1e-12, (1 - gray) / up.clamp_min(1e-12), 1.0)
    t_down = torch.where(down < -1e-12, gray / (-down).clamp_min(1e-12), 1.0)
    t = torch.minimum(t_up, t_down).clamp(0, 1)
    return (gray + t * chroma).clamp(0, 1)
