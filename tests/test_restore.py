import pytest
import torch

from chromaprior.core import operators
from chromaprior.evaluation.metrics import psnr
from chromaprior.methods.hgm import Restorer, fill, mosaic

from helpers import synthetic_rgb


@pytest.mark.parametrize("pattern", operators.BAYER_PATTERNS)
def test_demosaick_reproduces_the_mosaic_at_odd_sizes(tiny_restore_model, pattern):
    """Reflection padding keeps the Bayer phase: the output's mosaic equals the input."""
    r = Restorer(tiny_restore_model)
    raw = torch.rand(1, 1, 21, 30)
    out = r.demosaick(raw, pattern, preset="preview", seed=1)
    assert out.shape == (1, 3, 21, 30) and out.min() >= 0 and out.max() <= 1
    assert torch.allclose(mosaic(out, pattern), raw, atol=1e-5)


def test_inpaint_keeps_observed_pixels_and_is_seeded(tiny_restore_model):
    r = Restorer(tiny_restore_model)
    g = torch.Generator().manual_seed(0)
    img = torch.rand(2, 3, 24, 40, generator=g)
    missing = torch.rand(2, 1, 24, 40, generator=g) < 0.6
    a = r.inpaint(img, missing, preset="preview", seed=3)
    keep = (~missing).expand(-1, 3, -1, -1)
    assert torch.allclose(a[keep], img[keep], atol=1e-5)
    assert torch.equal(a, r.inpaint(img, missing, preset="preview", seed=3))  # same seed, same result
    assert not torch.equal(a, r.inpaint(img, missing, preset="preview", seed=4))
    one = r.inpaint(img[1:], missing[1:], preset="preview", seed=4)  # batch == one by one (image 1 uses seed + 1)
    assert torch.allclose(a[1:], one, atol=1e-5)


def test_progressive_strategy_counts_both_stages(tiny_restore_model, tiny_rgb_restore_model):
    first = Restorer(tiny_rgb_restore_model, start_level=0)
    r = Restorer(tiny_restore_model, first_stage=first, start_level=2)
    # first stage from noise: 4 levels x 1 predictor step; second stage: levels 2..3
    assert r.nfe("preview") == 4 + 2
    calls = []
    raw = torch.rand(1, 1, 32, 32)
    out = r.demosaick(raw, "RGGB", preset="preview", callback=lambda done, total: calls.append(done))
    assert len(calls) == 6
    assert torch.allclose(mosaic(out, "RGGB"), raw, atol=1e-5)


def test_colorization_model_is_refused(tiny_model):
    with pytest.raises(ValueError, match="--task restore"):
        Restorer(tiny_model)


@pytest.mark.parametrize("h,w", [(1, 1), (1, 5), (10, 40), (3, 2)])
def test_any_size_works_down_to_one_pixel(tiny_restore_model, h, w):
    """The README says any size works; mirroring repeats as needed."""
    r = Restorer(tiny_restore_model)
    raw = torch.rand(1, 1, h, w)
    out = r.demosaick(raw, "RGGB", preset="preview")
    assert out.shape == (1, 3, h, w)
    assert torch.allclose(mosaic(out, "RGGB"), raw.clamp(0, 1), atol=1e-5)
    missing = torch.zeros(1, 1, h, w, dtype=torch.bool)
    missing[..., 0, 0] = h * w > 1
    assert r.inpaint(torch.rand(1, 3, h, w), missing, preset="preview").shape == (1, 3, h, w)


@pytest.mark.parametrize("kind", ["bayer", "mask"])
def test_fill_is_consistent_and_accurate_on_smooth_images(kind):
    x = torch.from_numpy(synthetic_rgb(40, 56, seed=3)).permute(2, 0, 1)[None].float() / 255
    if kind == "bayer":
        op = operators.bayer("BGGR", 40, 56)
    else:  # 80 % missing, and a 12x12 hole with no observation at all
        keep = torch.rand(1, 1, 40, 56, generator=torch.Generator().manual_seed(0)) > 0.8
        keep[..., 10:22, 20:32] = False
        op = operators.mask(keep.float())
    y = op.forward(x)
    out = fill(op, y)
    assert torch.isfinite(out).all()
    assert torch.allclose(op.forward(out), y, atol=1e-6)
    assert psnr(out, x) > psnr(op.pinv(y), x) + 10
    assert psnr(out, x) > 28


def test_classical_first_stage(tiny_restore_model):
    x = torch.from_numpy(synthetic_rgb(32, 48, seed=1)).permute(2, 0, 1)[None].float() / 255
    raw = mosaic(x, "RGGB")
    r = Restorer(tiny_restore_model, first_stage="Menon2007")
    assert r.nfe("preview") == Restorer(tiny_restore_model).nfe("preview")  # a classical stage costs no NFE
    out = r.demosaick(raw, "RGGB", preset="preview")
    assert torch.allclose(mosaic(out, "RGGB"), raw, atol=1e-5)
    with pytest.raises(ValueError, match="not an inpainting method"):
        r.inpaint(x, torch.zeros(1, 1, 32, 48, dtype=torch.bool), preset="preview")
    holes = torch.rand(1, 1, 32, 48, generator=torch.Generator().manual_seed(0)) < 0.5
    out = Restorer(tiny_restore_model, first_stage="biharmonic").inpaint(x, holes, preset="preview")
    assert torch.allclose(out[(~holes).expand(-1, 3, -1, -1)], x[(~holes).expand(-1, 3, -1, -1)], atol=1e-5)
