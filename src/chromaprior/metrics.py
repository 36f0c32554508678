"""Image quality metrics on ``(B, C, H, W)`` tensors in ``[0, 1]``.

PSNR and SSIM (Gaussian window 11, sigma 1.5, as Wang et al. 2004) are per image,
averaged over channels for SSIM; colorfulness is Hasler and Suesstrunk's (2003) M on
the 0..255 scale (0 for a gray image, about 20-60 for ordinary photos); FID is the
Fréchet distance between feature statistics of a user-supplied exported network.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["psnr", "ssim", "colorfulness", "frechet_distance", "FeatureNet"]


def _check(a: Tensor, b: Tensor) -> None:
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"expected two (B, C, H, W) tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def psnr(x: Tensor, ref: Tensor, peak: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio in dB, ``(B,)``."""
    _check(x, ref)
    mse = ((x.double() - ref.double()) ** 2).mean(dim=(1, 2, 3))
    return (10 * torch.log10(peak**2 / mse.clamp_min(1e-20))).float()


def _gaussian(size: int = 11, sigma: float = 1.5) -> Tensor:
    """The normalised 1-D Gaussian; SSIM's 2-D window is its outer product (separable)."""
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(x: Tensor, ref: Tensor, peak: float = 1.0) -> Tensor:
    """Structural similarity, ``(B,)`` (valid-region 11x11 Gaussian windows, sigma 1.5,
    applied as two 1-D passes; channel mean)."""
    _check(x, ref)
    c = x.shape[1]
    g = _gaussian().to(x.device)
    rows, cols = g.view(1, 1, 1, -1).expand(c, 1, 1, -1), g.view(1, 1, -1, 1).expand(c, 1, -1, 1)
    a, b = x.double(), ref.double()

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(F.conv2d(t, rows, groups=c), cols, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    va = blur(a * a) - mu_a**2
    vb = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))
    return s.mean(dim=(1, 2, 3)).float()


def colorfulness(x: Tensor) -> Tensor:
    """Hasler-Suesstrunk colorfulness M of RGB images, ``(B,)``."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected (B, 3, H, W), got {tuple(x.shape)}")
    r, g, b = (x.double() * 255).unbind(1)
    rg = (r - g).flatten(1)
    yb = (0.5 * (r + g) - b).flatten(1)
    std = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False))
    mean = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2)
    return (std + 0.3 * mean).float()


def frechet_distance(feats_a: Tensor, feats_b: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``(N, D)`` and ``(M, D)``.

    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)``, computed in float64
    with symmetric eigen-decompositions (no scipy).
    """
    if feats_a.ndim != 2 or feats_b.ndim != 2 or feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"expected (N, D) and (M, D) features, got {tuple(feats_a.shape)} and {tuple(feats_b.shape)}")
    if min(len(feats_a), len(feats_b)) < 2:
        raise ValueError("need at least 2 feature vectors per set")
    a, b = feats_a.double(), feats_b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)

    def sqrt_psd(m: Tensor) -> Tensor:
        w, v = torch.linalg.eigh((m + m.T) / 2)
        return (v * w.clamp_min(0).sqrt()) @ v.T

    root_a = sqrt_psd(cov_a)
    middle = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    return float(((mu_a - mu_b) ** 2).sum() + torch.trace(cov_a) + torch.trace(cov_b) - 2 * middle)


class FeatureNet:
    """A feature extractor for FID, loaded from a ``torch.export`` program (``.pt2``).

    The program must map float images ``(B, 3, H, W)`` in ``[0, 1]`` to features ``(B, D)``
    (for the standard FID, an InceptionV3 pool3 network, resizing to 299 inside, exported
    with ``torch.export.export(..., dynamic_shapes=...)`` and ``torch.export.save``). Images
    are fed at the evaluation size. No weights are downloaded.
    """

    def __init__(self, path: str, device: str | torch.device = "cpu"):
        try:
            self.module = torch.export.load(path).module()
        except Exception as e:  # torch.export raises many types for a bad file
            raise ValueError(f"cannot load FID feature network {path}: {str(e).splitlines()[0]}") from None
        self.device = torch.device(device)
        self.module.to(self.device)

    @torch.no_grad()
    def __call__(self, images: Tensor) -> Tensor:
        try:
            feats = self.module(images.to(self.device).float())
        except Exception as e:  # shape guards of the exported program, etc.
            raise ValueError(
                f"FID feature network failed on a batch of shape {tuple(images.shape)}: {str(e).splitlines()[0]}"
            ) from None
        return feats.flatten(1).double().cpu()
