"""The learned demosaicker: a small CNN that corrects Menon (2007) demosaicking.

The network sees a Bayer mosaic ``(B, 1, H, W)`` in the RGGB phase (R at the top-left
pixel; :mod:`chromaprior.methods.learned` brings the other patterns to it by a one-pixel mirror
shift) with even ``H`` and ``W``. It first runs the classical DDFAPD demosaicker of Menon,
Andriani and Calvagno (2007), ported to torch (:func:`menon2007`, the same numbers as
``colour_demosaicing.demosaicing_CFA_Bayer_Menon2007`` with its refining step), then a
plain stack of ``depth`` 3x3 convolutions (``ngf`` channels, ReLU) at half resolution on
the packed mosaic (4 channels, one per site of the 2x2 tile) and the packed Menon result
(12 channels) predicts a correction for each pixel of each 2x2 tile (12 channels, pixel
shuffle). The last convolution starts at zero, so an untrained network *is* Menon2007, and
training only has to learn what Menon gets wrong. Finally the measured samples are put
back (:func:`keep_samples`): the mosaic of the output equals the input exactly.

All the work of the network is at half resolution (a quarter of the pixels), which keeps
it fast enough for camera raws on a CPU; its receptive field (:attr:`DemosaickNetConfig.margin`)
sets the overlap of the tiles large mosaics are cut into.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.operators import bayer_masks
from ..core.tiles import mirror_pad  # noqa: F401 - part of this module's interface (the network pads with it)

__all__ = ["DemosaickNetConfig", "DemosaickNet", "menon2007", "bayer_masks", "keep_samples", "mirror_pad",
           "MENON_RADIUS"]

#: Pixels of context Menon2007 reads on each side (directional filters 2 + gradient shift 2 +
#: 5x5 classifier 2 + R/B interpolation 2 + refinement 3 = 11; rounded up to even).
MENON_RADIUS = 12


@dataclass
class DemosaickNetConfig:
    """Architecture of :class:`DemosaickNet`.

    Attributes:
        ngf: channels of the half-resolution convolutions.
        depth: number of 3x3 convolutions (the last one outputs the 12 correction channels).
    """

    ngf: int = 32
    depth: int = 8
    #: negative slope of the activations (0: ReLU, as the shipped demosaicker was trained; new
    #: runs use 0.1: with a zero-initialised head plain ReLUs tend to die in the last layer)
    leaky: float = 0.0
    kind: str = "demosaick"

    def __post_init__(self) -> None:
        if self.depth < 2 or self.ngf < 1:
            raise ValueError(f"need depth >= 2 and ngf >= 1, got {self.depth}, {self.ngf}")

    @property
    def margin(self) -> int:
        """Receptive radius in full-resolution pixels (even): a pixel depends on no input
        farther away than this (Menon's context + two pixels per half-resolution 3x3 conv)."""
        return MENON_RADIUS + 2 * self.depth + 2

    def to_dict(self) -> dict:
        return asdict(self)


def keep_samples(rgb: Tensor, raw: Tensor, pattern: str = "RGGB") -> Tensor:
    """Put the measured samples of ``raw`` ``(B, 1, H, W)`` back into ``rgb`` ``(B, 3, H, W)``:
    the exact data-consistency projection of a Bayer operator (each pixel measures one channel)."""
    m = bayer_masks(pattern, *raw.shape[-2:], device=raw.device).to(rgb.dtype)
    return rgb * (1 - m) + raw * m


def _conv_h(x: Tensor, k: list[float]) -> Tensor:
    """Horizontal 1-D convolution with mirror borders (``scipy.ndimage.convolve1d`` ``mirror``)."""
    r, n = len(k) // 2, x.shape[-1]
    p = mirror_pad(x, 0, 0, r, r)
    return sum(c * p[..., :, i : i + n] for i, c in enumerate(k[::-1]) if c)


def _conv_v(x: Tensor, k: list[float]) -> Tensor:
    r, n = len(k) // 2, x.shape[-2]
    p = mirror_pad(x, r, r, 0, 0)
    return sum(c * p[..., i : i + n, :] for i, c in enumerate(k[::-1]) if c)


_K_DIR = [[0.0, 0.0, 1.0, 0.0, 1.0],
          [0.0, 0.0, 0.0, 1.0, 0.0],
          [0.0, 0.0, 3.0, 0.0, 3.0],
          [0.0, 0.0, 0.0, 1.0, 0.0],
          [0.0, 0.0, 1.0, 0.0, 1.0]]


def menon2007(raw: Tensor, pattern: str = "RGGB", refine: bool = True) -> Tensor:
    """DDFAPD demosaicking (Menon, Andriani, Calvagno 2007) of ``(B, 1, H, W)`` mosaics ->
    ``(B, 3, H, W)``, not clipped; a port of colour-demosaicing's
    ``demosaicing_CFA_Bayer_Menon2007`` (same borders: mirror, and zeros for the 5x5
    direction classifier) that runs batched on any device."""
    cfa = raw
    h, w = cfa.shape[-2:]
    R_m, G_m, B_m = (m[None, None] for m in bayer_masks(pattern, h, w, cfa.device).to(cfa.dtype))
    R, G, B = cfa * R_m, cfa * G_m, cfa * B_m
    h0, h1 = [0.0, 0.5, 0.0, 0.5, 0.0], [-0.25, 0.0, 0.5, 0.0, -0.25]
    G_H = torch.where(G_m == 0, _conv_h(cfa, h0) + _conv_h(cfa, h1), G)
    G_V = torch.where(G_m == 0, _conv_v(cfa, h0) + _conv_v(cfa, h1), G)
    RB_m = R_m + B_m
    C_H = (cfa - G_H) * RB_m
    C_V = (cfa - G_V) * RB_m
    D_H = (C_H - mirror_pad(C_H, 0, 0, 0, 2)[..., :, 2:]).abs()
    D_V = (C_V - mirror_pad(C_V, 0, 2, 0, 0)[..., 2:, :]).abs()
    k = torch.tensor(_K_DIR, dtype=cfa.dtype, device=cfa.device)
    # scipy's convolve is a true convolution: conv2d (a correlation) with the flipped kernel
    d_H = F.conv2d(D_H, k.flip(0, 1)[None, None], padding=2)
    d_V = F.conv2d(D_V, k.t().flip(0, 1)[None, None], padding=2)
    M = d_V >= d_H
    G = torch.where(M, G_H, G_V)
    rows = torch.arange(h, device=cfa.device).view(1, 1, -1, 1) % 2
    r_row = int(pattern.upper().index("R") // 2)
    R_r = (rows == r_row).to(cfa.dtype).expand_as(cfa)
    B_r = 1 - R_r
    kb = [0.5, 0.0, 0.5]
    g_in_r, g_in_b = (G_m * R_r) == 1, (G_m * B_r) == 1
    R = torch.where(g_in_r, G + _conv_h(R, kb) - _conv_h(G, kb), R)
    R = torch.where(g_in_b, G + _conv_v(R, kb) - _conv_v(G, kb), R)
    B = torch.where(g_in_b, G + _conv_h(B, kb) - _conv_h(G, kb), B)
    B = torch.where(g_in_r, G + _conv_v(B, kb) - _conv_v(G, kb), B)
    R = torch.where(B_m == 1, torch.where(M, B + _conv_h(R, kb) - _conv_h(B, kb), B + _conv_v(R, kb) - _conv_v(B, kb)), R)
    B = torch.where(R_m == 1, torch.where(M, R + _conv_h(B, kb) - _conv_h(R, kb), R + _conv_v(B, kb) - _conv_v(R, kb)), B)
    if refine:
        R, G, B = _refine(R, G, B, R_m, G_m, B_m, M, R_r, pattern)
    return torch.cat([R, G, B], dim=1)


def _refine(R, G, B, R_m, G_m, B_m, M, R_r, pattern):
    """Menon's refining step (``refining_step_Menon2007``)."""
    fir = [1 / 3] * 3
    kb = [0.5, 0.0, 0.5]
    d = lambda x: torch.where(M, _conv_h(x, fir), _conv_v(x, fir))  # noqa: E731
    B_G_m = torch.where(B_m == 1, d(B - G), torch.zeros_like(G))
    R_G_m = torch.where(R_m == 1, d(R - G), torch.zeros_like(G))
    G = torch.where(R_m == 1, R - R_G_m, G)
    G = torch.where(B_m == 1, B - B_G_m, G)
    w = G.shape[-1]
    cols = torch.arange(w, device=G.device).view(1, 1, 1, -1) % 2
    r_col = int(pattern.upper().index("R") % 2)
    R_c = (cols == r_col).expand_as(G)
    B_c = ~R_c
    R_rb, B_rb = R_r == 1, R_r == 0
    R_G, B_G = R - G, B - G
    gm = G_m == 1
    sel = gm & B_rb
    R_G_m = torch.where(sel, _conv_v(R_G, kb), R_G_m)
    R = torch.where(sel, G + R_G_m, R)
    sel = gm & B_c
    R_G_m = torch.where(sel, _conv_h(R_G, kb), R_G_m)
    R = torch.where(sel, G + R_G_m, R)
    sel = gm & R_rb
    B_G_m = torch.where(sel, _conv_v(B_G, kb), B_G_m)
    B = torch.where(sel, G + B_G_m, B)
    sel = gm & R_c
    B_G_m = torch.where(sel, _conv_h(B_G, kb), B_G_m)
    B = torch.where(sel, G + B_G_m, B)
    R_B = R - B
    R = torch.where(B_m == 1, B + torch.where(B_m == 1, d(R_B), torch.zeros_like(G)), R)
    B = torch.where(R_m == 1, R - torch.where(R_m == 1, d(R_B), torch.zeros_like(G)), B)
    return R, G, B


class DemosaickNet(nn.Module):
    """Menon2007 + a learned half-resolution correction, measured samples kept.

    ``forward(raw)``: ``(B, 1, H, W)`` RGGB-phase mosaic in ``[0, 1]``, ``H`` and ``W`` even ->
    ``(B, 3, H, W)`` (not clipped) whose mosaic equals ``raw``.
    """

    def __init__(self, config: DemosaickNetConfig):
        super().__init__()
        self.config = c = config
        act = (lambda: nn.LeakyReLU(c.leaky, inplace=True)) if c.leaky else (lambda: nn.ReLU(inplace=True))
        layers: list[nn.Module] = [nn.Conv2d(16, c.ngf, 3, padding=1), act()]
        for _ in range(c.depth - 2):
            layers += [nn.Conv2d(c.ngf, c.ngf, 3, padding=1), act()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(c.ngf, 12, 3, padding=1)
        nn.init.zeros_(self.head.weight)  # an untrained network is Menon2007
        nn.init.zeros_(self.head.bias)

    def forward(self, raw: Tensor) -> Tensor:
        if raw.ndim != 4 or raw.shape[1] != 1 or raw.shape[-2] % 2 or raw.shape[-1] % 2:
            raise ValueError(f"need an RGGB mosaic (B, 1, H, W) with even H and W, got {tuple(raw.shape)}")
        base = menon2007(raw)
        x = torch.cat([F.pixel_unshuffle(raw, 2), F.pixel_unshuffle(base, 2)], dim=1) - 0.5
        out = base + F.pixel_shuffle(self.head(self.body(x)), 2)
        return keep_samples(out, raw)
