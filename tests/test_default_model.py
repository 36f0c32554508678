"""The weights shipped in the package: real colour from a trained prior, offline."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import pytest

from chromaprior.models.checkpoint import read_card
from chromaprior.methods.colorize import Colorizer
from chromaprior.core.io import read_image
from chromaprior.models.registry import DEFAULT_METHODS, METHODS, resolve_model_path, shipped_model
from chromaprior.evaluation.metrics import colorfulness, psnr

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "coffee-gray.jpg"


@pytest.mark.parametrize("name", [m.name for m in METHODS.values() if m.shipped])
def test_shipped_cards_describe_trained_models(name):
    card = read_card(shipped_model(name))
    assert card["method"] == name
    t = card["training"]
    assert t["steps"] >= 100 and t["images"] > 500 and t["parameters"] > 10_000
    assert (shipped_model(name) / "model.safetensors").stat().st_size < 10_000_000  # a few MB
    assert card["notes"]


def test_default_models():
    assert DEFAULT_METHODS == {"colorize": "steerable", "restore": "hgm-pixel-scale"}
    assert read_card(resolve_model_path(None))["method"] == "steerable"  # the semantic colorizer that takes hints (docs/steering.md)
    assert read_card(resolve_model_path(None, "restore"))["lift"]["name"] == "pixel-scale"
    for name in DEFAULT_METHODS.values():  # every default is shipped
        assert METHODS[name].shipped and (shipped_model(name) / "model.safetensors").is_file()


@pytest.mark.parametrize("method", ["steerable", "semantic", "jgm", "unet", "cgan"])
def test_shipped_colorizers_give_real_colour_and_keep_gray(method):
    gray = torch.from_numpy(read_image(EXAMPLE).pixels)[None, None]
    gray = F.interpolate(gray, size=(128, 192), mode="area")
    col = Colorizer(method=method)
    out = col(gray, preset="preview", seed=0)
    assert torch.allclose(col.luminance(out), gray, atol=1e-5)
    assert float(colorfulness(out)) > 8  # a random-weight model gives ~0 or noise; see README numbers
    chroma = out - out.mean(1, keepdim=True)
    assert float(chroma.abs().mean()) < 0.25  # colour, not saturated noise


def test_shipped_restorer_demosaicks_and_inpaints():
    from chromaprior.methods.hgm import Restorer, mosaic

    from helpers import synthetic_rgb

    x = torch.from_numpy(synthetic_rgb(48, 64, seed=4)).permute(2, 0, 1)[None].float() / 255
    r = Restorer()
    out = r.demosaick(mosaic(x, "RGGB"), "RGGB", preset="preview")
    assert torch.allclose(mosaic(out, "RGGB"), mosaic(x, "RGGB"), atol=1e-5)
    assert float(psnr(out, x)) > 30
    holes = torch.rand(1, 1, 48, 64, generator=torch.Generator().manual_seed(0)) < 0.5
    assert float(psnr(r.inpaint(x, holes, preset="preview"), x)) > 30


def test_cli_default_model_end_to_end(tmp_path):
    small = tmp_path / "small.png"
    from PIL import Image

    Image.open(EXAMPLE).resize((96, 64)).save(small)
    r = subprocess.run([sys.executable, "-m", "chromaprior", "colorize", str(small), "-o", str(tmp_path / "c.png"),
                        "--preset", "preview", "-q"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    a = np.asarray(Image.open(tmp_path / "c.png")).astype(float)
    assert a.shape == (64, 96, 3) and a.std(axis=2).mean() > 1


def test_shipped_prior_propagates_a_hint_beyond_the_hinted_pixels():
    """A blue hint turns the neighbourhood bluer than the same seed without it (the prior
    spreads the constraint), while the hinted disc itself takes the hinted chroma."""
    from PIL import Image

    from chromaprior.core.hints import Hint

    col = Colorizer(method="jgm")
    g = torch.from_numpy(np.asarray(Image.open(EXAMPLE).convert("L"), dtype=np.float32) / 255)[None, None]
    hint = Hint(300, 200, (40, 90, 200), radius=15)
    target = torch.tensor(hint.rgb) / 255
    direction = (target - target.mean()) / (target - target.mean()).norm()
    yy, xx = torch.meshgrid(torch.arange(g.shape[-2]), torch.arange(g.shape[-1]), indexing="ij")
    dist = ((yy - 200) ** 2 + (xx - 300) ** 2).float().sqrt()

    def along(x, lo, hi):
        ring = (dist >= lo) & (dist < hi)
        return float((x - x.mean(1, keepdim=True))[0][:, ring].mean(1) @ direction)

    hinted, plain = col(g, seed=0, hints=[hint]), col(g, seed=0)
    assert along(hinted, 0, 12) > 0.15 > along(plain, 0, 12)
    assert along(hinted, 20, 40) > along(plain, 20, 40) + 0.03
