"""The learned demosaicker: the Menon2007 port, measured samples kept, tiled ==
whole, the registry spec, a tiny model that learns, the command line and evaluate rows."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import synthetic_rgb
from raw_helpers import tiny_learned

from chromaprior.methods.learned import LearnedDemosaicker, load_demosaicker, rggb_shift
from chromaprior.nets.demosaick import DemosaickNetConfig, menon2007
from chromaprior.methods.hgm import mosaic

PATTERNS = ["RGGB", "GRBG", "GBRG", "BGGR"]


def run(*args):
    return subprocess.run([sys.executable, "-m", "chromaprior", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def one_line_error(r, lines: int = 1) -> str:
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if "chromaprior: error:" in line]
    assert len(errors) == lines, r.stderr
    return errors[0]


@pytest.fixture(scope="module")
def learned(tmp_path_factory) -> str:
    """A tiny learned demosaicker with random weights (far from Menon2007)."""
    return tiny_learned(tmp_path_factory.mktemp("tiny_learned"))


@pytest.fixture(scope="module")
def menon_net(tmp_path_factory) -> str:
    """A tiny learned demosaicker as initialised: its correction is zero."""
    return tiny_learned(tmp_path_factory.mktemp("tiny_menon"), random=False)


def _image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(synthetic_rgb(h, w, seed=seed)).permute(2, 0, 1)[None].float() / 255


@pytest.mark.parametrize("pattern", PATTERNS)
def test_menon_port_equals_colour_demosaicing(pattern):
    cd = pytest.importorskip("colour_demosaicing")
    rng = np.random.default_rng(1)
    for h, w in [(24, 30), (13, 17), (2, 3)]:
        x = torch.from_numpy(rng.random((1, 3, h, w)))
        raw = mosaic(x.float(), pattern).double()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = cd.demosaicing_CFA_Bayer_Menon2007(raw[0, 0].numpy(), pattern)
        ours = menon2007(raw, pattern)[0].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(ours, ref, atol=1e-12)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_measured_samples_are_kept_exactly(learned, pattern):
    d = LearnedDemosaicker(learned)
    for h, w in [(1, 1), (3, 5), (21, 34)]:
        raw = mosaic(torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(h)), pattern)
        out = d.demosaick(raw, pattern)
        assert out.shape == (2, 3, h, w) and out.min() >= 0 and out.max() <= 1
        assert torch.equal(mosaic(out, pattern), raw)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_tiled_equals_whole(learned, pattern):
    """Tiles of 16 pixels with the network's receptive radius of overlap give the whole-image
    result; with less overlap they would not (so the tiling is really exercised)."""
    d = LearnedDemosaicker(learned)
    raw = mosaic(torch.rand(1, 3, 45, 62, generator=torch.Generator().manual_seed(3)), pattern)
    whole = d.demosaick(raw, pattern, tile=4096)
    calls = []
    tiled = d.demosaick(raw, pattern, tile=16, callback=lambda done, total: calls.append((done, total)))
    assert torch.allclose(tiled, whole, atol=1e-6, rtol=0)
    assert calls[-1][0] == calls[-1][1] == d.tiles(45, 62, pattern) if d.tile == 16 else calls[-1][0] == calls[-1][1] > 1
    from chromaprior.nets.demosaick import keep_samples, mirror_pad
    from chromaprior.core.tiles import overlapping

    top, left = rggb_shift(pattern)
    x = mirror_pad(raw, top, (45 + top) % 2, left, (62 + left) % 2)
    short = overlapping(d.net, x, 16, d.margin - 8)[..., top : top + 45, left : left + 62].clamp(0, 1)
    assert (keep_samples(short, raw, pattern) - whole).abs().max() > 1e-3


def test_tile_count_for_the_progress_bar(learned):
    d = LearnedDemosaicker(learned, tile=16)
    assert d.tiles(45, 62, "RGGB") == 3 * 4 and d.tiles(45, 62, "BGGR") == 3 * 4 and d.tiles(16, 16, "RGGB") == 1
    calls = []
    d.demosaick(mosaic(torch.rand(1, 3, 45, 62), "GRBG"), "GRBG", callback=lambda i, n: calls.append((i, n)))
    assert calls == [(i + 1, 12) for i in range(12)]


def test_an_untrained_network_is_menon(menon_net):
    x = _image(40, 52)
    raw = mosaic(x, "RGGB")
    out = LearnedDemosaicker(menon_net).demosaick(raw, "RGGB")
    assert torch.allclose(out, menon2007(raw).clamp(0, 1), atol=1e-6)


def test_margin_is_the_receptive_radius():
    c = DemosaickNetConfig(ngf=4, depth=5)
    assert c.margin % 2 == 0 and c.margin >= 11 + 2 * 5


def test_registry_spec_and_wrong_model_kinds(learned, tiny_restore_model):
    from chromaprior.core.errors import InputError
    from chromaprior.models.registry import METHODS, restore_methods
    from chromaprior.methods.hgm import Restorer

    spec = METHODS["learned-demosaick"]
    assert spec.family == "supervised" and spec.task == "restore" and "learned-demosaick" in restore_methods()
    assert load_demosaicker(learned).method == "learned"
    assert isinstance(load_demosaicker(tiny_restore_model), Restorer)
    with pytest.raises(InputError, match="not one for --method learned"):
        load_demosaicker(tiny_restore_model, "learned")
    with pytest.raises(InputError, match="not a score prior"):
        Restorer(learned)


def test_a_tiny_model_learns(tmp_path):
    """`chromaprior train --method learned-demosaick`: the L1 of a fixed batch falls below
    Menon2007's (the network's starting point) after a few steps."""
    from chromaprior.models.registry import load_model
    from chromaprior.training.data import ImageCache, list_images
    from chromaprior.models.losses import DemosaickLoss
    from chromaprior.training.loop import TrainConfig, train

    data = tmp_path / "photos"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):  # colour blocks with sharp edges: where Menon2007 errs
        blocks = rng.integers(0, 256, (16, 22, 3), dtype=np.uint8)
        Image.fromarray(blocks).resize((66, 48), Image.NEAREST).save(data / f"p{i}.png")
    config = TrainConfig(method="learned-demosaick", ngf=8, depth=3, size=16, batch_size=8, iterations=150, lr=3e-3,
                         data=[str(data)], downscale=1, checkpoint_every=150, log_every=10)
    run_dir = train(config, tmp_path / "run", progress=False)
    cache = ImageCache.build(list_images([data]), 16, split="all", downscale=1)
    x = cache.sample(32, torch.Generator().manual_seed(7))
    raw = mosaic(x, "RGGB")
    net, card = load_model(run_dir, task="restore")
    assert card["method"] == "learned-demosaick" and card["task"] == "restore"
    with torch.no_grad():
        before = (menon2007(raw) - x).abs().mean()
        after = (net(raw) - x).abs().mean()
    assert after < 0.8 * before, (float(before), float(after))
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert np.mean([r["loss"] for r in log[-3:]]) < np.mean([r["loss"] for r in log[:3]])
    assert DemosaickLoss()(net, x, torch.Generator().manual_seed(0)).ndim == 0


def test_cli_learned_is_the_default_and_sampler_options_are_refused(learned, tmp_path):
    raw = mosaic(_image(30, 44), "GRBG")[0, 0].numpy()
    src = tmp_path / "m.png"
    Image.fromarray(np.round(raw * 255).astype(np.uint8)).save(src)
    out = tmp_path / "o.png"
    r = run("demosaick", src, "-o", out, "--pattern", "GRBG", "--model", learned)
    assert r.returncode == 0, r.stderr
    assert "tile" in r.stderr  # the progress bar counts tiles
    back = np.asarray(Image.open(out)).astype(np.float32) / 255
    again = mosaic(torch.from_numpy(back).permute(2, 0, 1)[None], "GRBG")[0, 0].numpy()
    assert np.abs(again - np.round(raw * 255) / 255).max() < 1e-6
    for extra in (["--preset", "fast"], ["--seed", "3"], ["--first-stage", "Menon2007"], ["--start-level", "2"]):
        r = run("demosaick", src, "-o", tmp_path / "x.png", "--model", learned, *extra)
        assert "applies to --method hgm" in one_line_error(r)
    r = run("demosaick", src, "-o", tmp_path / "x.png", "--model", learned, "--method", "hgm")
    assert "not one for --method hgm" in one_line_error(r)
    assert not (tmp_path / "x.png").exists()


def test_cli_hgm_keeps_its_options(tiny_restore_model, tmp_path):
    src = tmp_path / "m.png"
    Image.fromarray((mosaic(_image(20, 24), "RGGB")[0, 0].numpy() * 255).astype(np.uint8)).save(src)
    r = run("demosaick", src, "-o", tmp_path / "o.png", "--method", "hgm", "--model", tiny_restore_model,
            "--preset", "preview", "--seed", "2", "-q")
    assert r.returncode == 0, r.stderr


def test_evaluate_rows_for_the_learned_demosaicker(learned, tmp_path):
    data = tmp_path / "eval"
    data.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_rgb(32, 48, seed=i)).save(data / f"{i}.png")
    report = tmp_path / "r.json"
    r = run("evaluate", "--task", "demosaick", "--data", data, "--model", learned, "--report", report)
    assert r.returncode == 0, r.stderr
    result = json.loads(report.read_text())
    names = [row["method"] for row in result["rows"]]
    assert names == ["bilinear", "Malvar2004", "Menon2007", "learned-demosaick (1 NFE)"]
    row = result["rows"][-1]
    assert row["nfe"] == 1 and len(row["psnr_per_image"]) == 2 and result["image_names"] == ["0.png", "1.png"]
    m = result["margins"]["learned-demosaick (1 NFE)"]
    menon = result["rows"][2]["psnr_per_image"]
    assert m["min"] == pytest.approx(min(np.subtract(row["psnr_per_image"], menon)), abs=1e-3)
    assert "margin over Menon2007" in r.stdout


def test_evaluate_demosaick_rows_default_to_the_learned_model(learned, tiny_restore_model):
    from chromaprior.evaluation.loops import restore_rows

    rows = restore_rows(learned, ("preview",), compare=[f"hgm={tiny_restore_model}"], first_stage="bilinear",
                        task="demosaick")
    assert list(rows)[0] == "learned-demosaick (1 NFE)"
    assert any(k.startswith("hgm (preview") for k in rows)
    assert any(k.startswith("hgm-pixel-scale from bilinear") for k in rows)


def test_gpu_pack_can_keep_full_resolution_chroma(tmp_path):
    """bench/pack_photos.py --subsampling 0 (the demosaicker's GPU pack): 4:4:4 JPEGs."""
    from pathlib import Path

    from PIL import JpegImagePlugin

    from chromaprior.training import packs as pack_photos
    src = tmp_path / "train" / "root"
    src.mkdir(parents=True)
    name = next(f"a{i}.jpg" for i in range(1000) if not pack_photos.is_validation(Path(f"a{i}.jpg")))
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(src / name)
    for sub, expect in ((0, 0), (-1, 2)):
        out = tmp_path / f"pack{sub}"
        s = pack_photos.pack(tmp_path / "train", out, short=40, quality=90, workers=1, subsampling=sub)
        assert s["roots"]["root"]["photos"] == 1
        with Image.open(out / "root" / name) as im:
            assert JpegImagePlugin.get_sampling(im) == expect and min(im.size) == 40


def test_the_shipped_learned_demosaicker_is_the_default_and_beats_menon():
    """The shipped weights load by default (float16 on disk), keep the samples, and beat
    Menon2007 on sharp colour edges (the measured eval-set numbers are in docs/demosaicking.md)."""
    from PIL import ImageFilter

    from chromaprior.evaluation.metrics import psnr

    d = load_demosaicker()
    assert d.method == "learned" and d.card["method"] == "learned-demosaick"
    assert d.card.get("weights_dtype") == "float16" and "CPU-trained" in d.card["notes"]
    rng = np.random.default_rng(0)
    blocks = Image.fromarray(rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)).resize((96, 64), Image.NEAREST)
    x = torch.from_numpy(np.array(blocks.filter(ImageFilter.GaussianBlur(1)))).permute(2, 0, 1)[None].float() / 255
    raw = mosaic(x, "RGGB")
    out = d.demosaick(raw, "RGGB")
    assert torch.equal(mosaic(out, "RGGB"), raw)
    assert psnr(out, x) > psnr(menon2007(raw).clamp(0, 1), x) + 1.0
