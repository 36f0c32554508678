"""Small image filters shared by the modules."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["gaussian_blur", "box_mean", "guided_coefficients", "edge_aware_propagate"]


def gaussian_blur(t: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``(B, C, H, W)`` with replicated borders (radius 3 sigma)."""
    r = max(1, int(3 * sigma))
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=t.dtype, device=t.device) ** 2) / (2 * sigma**2))
    k = (k / k.sum()).view(1, 1, 1, -1).expand(t.shape[1], 1, 1, -1)
    t = F.conv2d(F.pad(t, (r, r, 0, 0), mode="replicate"), k, groups=t.shape[1])
    return F.conv2d(F.pad(t, (0, 0, r, r), mode="replicate"), k.transpose(-1, -2), groups=t.shape[1])


def box_mean(t: Tensor, radius: int) -> Tensor:
    """Mean of ``(B, C, H, W)`` over ``(2 radius + 1)^2`` windows, over the pixels inside the image."""
    if radius < 1:
        return t
    return F.avg_pool2d(t, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)


def guided_coefficients(guide: Tensor, src: Tensor, radius: int, eps: float) -> tuple[Tensor, Tensor]:
    """The guided filter (He, Sun and Tang 2013) of ``src`` ``(B, C, H, W)`` by a one-channel
    ``guide`` ``(B, 1, H, W)`` as its local linear model: ``(a, b)``, each ``(B, C, H, W)``,
    such that the filtered ``src`` is ``a * guide + b``. Computed on a small grid, ``a`` and
    ``b`` may be upsampled and applied to a larger guide (the fast guided filter, He and Sun
    2015): edges of the large guide then cut the result. ``eps`` (in squared guide units)
    sets how strong an edge must be to be followed; ``radius`` is the window's half size."""
    if guide.shape[1] != 1 or guide.shape[-2:] != src.shape[-2:]:
        raise ValueError(f"guide must be (B, 1, H, W) of src's size, got {tuple(guide.shape)} for {tuple(src.shape)}")
    mean_i, mean_p = box_mean(guide, radius), box_mean(src, radius)
    cov = box_mean(guide * src, radius) - mean_i * mean_p
    var = box_mean(guide * guide, radius) - mean_i * mean_i
    a = cov / (var.clamp_min(0) + eps)
    b = mean_p - a * mean_i
    return box_mean(a, radius), box_mean(b, radius)


def _neighbour_weights(guide: Tensor, sigma: float) -> tuple[Tensor, Tensor]:
    """Affinities of each pixel to its right and lower neighbour: ``exp(-(dg)^2 / (2 sigma^2))``
    (0 past the image's edge), ``(B, 1, H, W)`` each."""
    wx = torch.zeros_like(guide)
    wy = torch.zeros_like(guide)
    wx[..., :, :-1] = torch.exp(-(guide[..., :, 1:] - guide[..., :, :-1]) ** 2 / (2 * sigma**2))
    wy[..., :-1, :] = torch.exp(-(guide[..., 1:, :] - guide[..., :-1, :]) ** 2 / (2 * sigma**2))
    return wx, wy


def _laplacian(r: Tensor, wx: Tensor, wy: Tensor) -> Tensor:
    """``L r`` for the graph of :func:`_neighbour_weights` (``sum_q w_pq (r_p - r_q)``)."""
    dx = wx * (r - F.pad(r[..., :, 1:], (0, 1, 0, 0)))  # w_{p,p+x} (r_p - r_{p+x}), 0 at the last column
    dy = wy * (r - F.pad(r[..., 1:, :], (0, 0, 0, 1)))
    return dx - F.pad(dx[..., :, :-1], (1, 0, 0, 0)) + dy - F.pad(dy[..., :-1, :], (0, 0, 1, 0))


def edge_aware_propagate(guide: Tensor, values: Tensor, keep: Tensor, lam: float = 1e-3, sigma: float = 0.03,
                         iters: int = 200) -> Tensor:
    """Spread ``values`` ``(B, C, H, W)``, known where ``keep`` ``(B, 1, H, W)`` is 1, over the
    image so that they stop at the edges of ``guide`` ``(B, 1, H, W)`` (in ``[0, 1]``) and fade
    with the distance (Levin, Lischinski and Weiss 2004, *Colorization using optimization*,
    with a decay): the minimiser of ``lam sum_p r_p^2 + sum_pq w_pq (r_p - r_q)^2``, ``w_pq =
    exp(-(g_p - g_q)^2 / (2 sigma^2))`` over 4-neighbours, with ``r = values`` where kept,
    by conjugate gradients (``iters`` steps). In a flat region the values fade over about
    ``1 / sqrt(lam)`` pixels; across an edge much sharper than ``sigma`` they hardly pass.
    Returns ``(B, C, H, W)``, equal to ``values`` where kept."""
    if keep.shape[1] != 1 or guide.shape[1] != 1 or keep.shape[-2:] != values.shape[-2:]:
        raise ValueError(f"keep and guide must be (B, 1, H, W) of values' size, got {tuple(keep.shape)}, "
                         f"{tuple(guide.shape)} for {tuple(values.shape)}")
    wx, wy = _neighbour_weights(guide, sigma)
    free = 1 - keep
    fixed = values * keep

    def apply(r: Tensor) -> Tensor:  # (lam I + L) on the free pixels, the fixed ones held at 0
        return free * (lam * r + _laplacian(r, wx, wy))

    b = -free * _laplacian(fixed, wx, wy)
    x = torch.zeros_like(values)
    res = b.clone()
    p = res.clone()
    rs = (res * res).sum(dim=(-2, -1), keepdim=True)
    for _ in range(iters):
        ap = apply(p)
        alpha = rs / (p * ap).sum(dim=(-2, -1), keepdim=True).clamp_min(1e-20)
        x = x + alpha * p
        res = res - alpha * ap
        new = (res * res).sum(dim=(-2, -1), keepdim=True)
        if float(new.max()) < 1e-12:
            break
        p = res + (new / rs.clamp_min(1e-30)) * p
        rs = new
    return fixed + free * x
