"""The learned inpainter: the biharmonic fill it starts from, kept pixels
exact, tiles equal to the whole image, the training masks, a tiny model that learns, the command
line and evaluate rows."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import synthetic_rgb

from chromaprior.methods.learned import LearnedInpainter, load_inpainter
from chromaprior.nets.inpaint import biharmonic_fill, pull_push


def run(*args):
    return subprocess.run([sys.executable, "-m", "chromaprior", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def tiny_inpainter(folder, random: bool = True) -> str:
    from chromaprior.models.checkpoint import save_model
    from chromaprior.training.loop import TrainConfig, make_net

    torch.manual_seed(0)
    net = make_net(TrainConfig(method="learned-inpaint", ngf=4, depth=3, size=16))
    if random:
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.1)
    save_model(folder, net, net.state_dict(), {"method": "learned-inpaint", "task": "restore", "lift": None,
                                               "training": {"size": 16, "steps": 0}})
    return str(folder)


@pytest.fixture(scope="module")
def learned(tmp_path_factory) -> str:
    return tiny_inpainter(tmp_path_factory.mktemp("tiny_inpaint"))


def _ramp(height: int, width: int) -> torch.Tensor:
    i, j = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij")
    return torch.stack([0.2 + 0.01 * i + 0.007 * j, 0.9 - 0.005 * i, 0.1 + 0.004 * j])[None]


@pytest.mark.parametrize("fill", [pull_push, biharmonic_fill])
def test_the_fills_keep_observed_pixels_and_a_constant(fill):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 21, 26, generator=g)
    keep = (torch.rand(2, 1, 21, 26, generator=g) > 0.8).float()
    keep[1, :, 5:15, 5:20] = 0  # a hole
    out = fill(x * keep, keep)
    assert out.shape == x.shape and torch.equal(out[keep.bool().expand_as(x)], x[keep.bool().expand_as(x)])
    c = torch.tensor([0.3, 0.6, 0.9])[None, :, None, None].expand(2, 3, 21, 26)
    assert torch.allclose(fill(c * keep, keep), c, atol=1e-6)
    assert torch.equal(fill(x, torch.zeros_like(keep)), torch.full_like(x, 0.5))  # nothing observed


def test_the_biharmonic_fill_reproduces_a_ramp_away_from_the_borders():
    x = _ramp(48, 64)
    keep = (torch.rand(1, 1, 48, 64, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    err = (biharmonic_fill(x * keep, keep, steps=200) - x).abs()
    assert err[..., 8:-8, 8:-8].max() < 1e-4  # replicated (Neumann) borders bend it only near the edges
    assert err.max() < 0.02 < (pull_push(x * keep, keep) - x).abs()[..., 8:-8, 8:-8].max() * 10


def test_the_biharmonic_fill_is_scikit_images():
    from chromaprior.methods.baselines import biharmonic

    pytest.importorskip("skimage")
    x = torch.from_numpy(synthetic_rgb(40, 56, seed=4)).permute(2, 0, 1)[None].float() / 255
    missing = torch.rand(1, 1, 40, 56, generator=torch.Generator().manual_seed(3)) < 0.6
    ours = biharmonic_fill(x * ~missing, (~missing).float())
    theirs = biharmonic(x * ~missing, missing).float()
    assert (ours - theirs).abs().mean() < 2e-3, float((ours - theirs).abs().mean())


@pytest.mark.parametrize("size", [(1, 1), (5, 7), (24, 31)])
def test_kept_pixels_are_exact(learned, size):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, *size, generator=g)
    missing = torch.rand(2, 1, *size, generator=g) < 0.6
    missing[0, 0, 0, 0] = False
    out = LearnedInpainter(learned).inpaint(x, missing)
    assert out.shape == (2, 3, *size) and out.min() >= 0 and out.max() <= 1
    keep = ~missing.expand_as(x)
    assert torch.equal(out[keep], x[keep])


def test_an_untrained_network_is_the_fill(tmp_path):
    model = tiny_inpainter(tmp_path / "m", random=False)
    x = torch.from_numpy(synthetic_rgb(30, 40)).permute(2, 0, 1)[None].float() / 255
    missing = torch.rand(1, 1, 30, 40, generator=torch.Generator().manual_seed(2)) < 0.5
    keep = (~missing).float()
    out = LearnedInpainter(model).inpaint(x, missing)
    assert torch.allclose(out, biharmonic_fill(x * keep, keep).clamp(0, 1), atol=1e-6)


def test_tiles_equal_the_whole_image(learned):
    from chromaprior.core.tiles import overlapping

    inpainter = LearnedInpainter(learned)
    config = inpainter.net.config
    g = torch.Generator().manual_seed(5)
    x = torch.rand(1, 3, 70, 90, generator=g)
    missing = torch.rand(1, 1, 70, 90, generator=g) < 0.7
    missing[..., 20:50, 30:60] = True
    whole = inpainter.inpaint(x, missing, tile=4096)
    tiled = inpainter.inpaint(x, missing, tile=16)
    assert torch.allclose(whole, tiled, atol=2e-6)
    keep = (~missing).float()
    net_input = torch.cat([inpainter.net.fill(x * keep, keep), keep], dim=1)[..., :64, :88]
    with torch.no_grad():
        full = inpainter.net.correct(net_input)
        short = overlapping(inpainter.net.correct, net_input, 16, config.multiple, align=config.multiple)
    assert (full - short).abs().max() > 3e-5  # less context than the receptive field shows


def test_training_masks():
    from chromaprior.models.losses import random_masks

    g = torch.Generator().manual_seed(0)
    pixels = random_masks(100, 32, 32, g, block_share=0.0)
    share = 1 - pixels.mean(dim=(1, 2, 3))
    assert pixels.shape == (100, 1, 32, 32) and set(pixels.unique().tolist()) <= {0.0, 1.0}
    assert 0.15 < share.min() and share.max() < 0.95 and 0.45 < share.mean() < 0.65
    holes = random_masks(50, 32, 32, g, block_share=1.0)
    for k in holes:  # one to three rectangles: every missing pixel lies in a missing box of >= 4x4
        missing = k[0] == 0
        assert missing.any()
        r, c = missing.nonzero()[0].tolist()
        assert missing[r : r + 4, c : c + 4].all()
    mixed = 1 - random_masks(400, 32, 32, g).mean(dim=(1, 2, 3))
    assert 0.4 < mixed.mean() < 0.6


def test_a_tiny_model_learns(tmp_path):
    from chromaprior.models.registry import load_model
    from chromaprior.training.data import ImageCache, list_images
    from chromaprior.models.losses import random_masks
    from chromaprior.training.loop import TrainConfig, train

    data = tmp_path / "photos"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):  # stripes of two colours, one pixel wide: a smooth fill gives their mean
        a = np.zeros((48, 64, 3), np.uint8)
        c = rng.integers(0, 256, (2, 3))
        a[:, 0::2], a[:, 1::2] = c[0], c[1]
        Image.fromarray(a).save(data / f"p{i}.png")
    config = TrainConfig(method="learned-inpaint", ngf=8, depth=3, size=16, batch_size=8, iterations=120, lr=3e-3,
                         data=[str(data)], downscale=1, checkpoint_every=120, log_every=10)
    run_dir = train(config, tmp_path / "run", progress=False)
    x = ImageCache.build(list_images([data]), 16, split="all", downscale=1).sample(32, torch.Generator().manual_seed(7))
    keep = random_masks(32, 16, 16, torch.Generator().manual_seed(8), block_share=0.0)
    net, card = load_model(run_dir, task="restore")
    assert card["method"] == "learned-inpaint"
    with torch.no_grad():
        before = (biharmonic_fill(x * keep, keep) - x).abs().mean()
        after = (net(x * keep, keep) - x).abs().mean()
    assert after < 0.9 * before, (float(before), float(after))


def test_cli_learned_inpaint_and_refused_sampler_options(learned, tiny_restore_model, tmp_path):
    src, mask = tmp_path / "x.png", tmp_path / "m.png"
    a = synthetic_rgb(30, 44, seed=3)
    Image.fromarray(a).save(src)
    m = np.zeros((30, 44), np.uint8)
    m[::2] = 255
    Image.fromarray(m).save(mask)
    r = run("inpaint", src, "--mask", mask, "-o", tmp_path / "o.png", "--model", learned, "-q")
    assert r.returncode == 0, r.stderr
    out = np.asarray(Image.open(tmp_path / "o.png"))
    assert np.array_equal(out[1::2], a[1::2])
    r = run("inpaint", src, "--mask", mask, "-o", tmp_path / "p.png", "--model", learned, "--preset", "fast")
    assert r.returncode != 0 and "Traceback" not in r.stderr and "applies to --method hgm" in r.stderr
    r = run("inpaint", src, "--mask", mask, "-o", tmp_path / "h.png", "--model", tiny_restore_model, "--preset",
            "preview", "-q")
    assert r.returncode == 0, r.stderr
    assert isinstance(load_inpainter(learned), LearnedInpainter)


def test_evaluate_rows_for_the_learned_inpainter(learned, tmp_path):
    data = tmp_path / "eval"
    data.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_rgb(32, 48, seed=i)).save(data / f"{i}.png")
    report = tmp_path / "r.json"
    r = run("evaluate", "--task", "inpaint", "--missing", "0.5", "--data", data, "--model", learned, "--report", report)
    assert r.returncode == 0, r.stderr
    result = json.loads(report.read_text())
    assert [row["method"] for row in result["rows"]] == ["biharmonic", "Telea", "learned-inpaint (1 NFE)"]
    assert result["margin_reference"] == "biharmonic" and "learned-inpaint (1 NFE)" in result["margins"]
    assert "PSNR margin over biharmonic" in r.stdout


def test_the_shipped_learned_inpainter_is_the_default():
    r = load_inpainter()
    assert isinstance(r, LearnedInpainter) and r.card["method"] == "learned-inpaint"
    x = torch.from_numpy(synthetic_rgb(24, 40, seed=6)).permute(2, 0, 1)[None].float() / 255
    missing = torch.rand(1, 1, 24, 40, generator=torch.Generator().manual_seed(6)) < 0.5
    keep = (~missing).float()
    out = r.inpaint(x, missing)
    assert torch.equal(out[~missing.expand_as(x)], x[~missing.expand_as(x)])
    fill = biharmonic_fill(x * keep, keep).clamp(0, 1)
    assert not torch.allclose(out, fill, atol=1e-3)  # a trained correction, not the bare fill


def test_without_shipped_weights_the_default_is_hgm(monkeypatch):
    import dataclasses

    from chromaprior.core.errors import InputError
    from chromaprior.models.registry import METHODS
    from chromaprior.methods.hgm import Restorer

    monkeypatch.setitem(METHODS, "learned-inpaint", dataclasses.replace(METHODS["learned-inpaint"], shipped=None))
    assert isinstance(load_inpainter(), Restorer)
    with pytest.raises(InputError, match="no learned inpainter is shipped"):
        load_inpainter(method="learned")
