"""chromaprior.apps.api: pictures in, pictures out; Colorizer and Restorer take (H, W) and batches alike."""

import numpy as np
import pytest
import torch

from chromaprior.apps import api
from chromaprior.methods.colorize import Colorizer
from chromaprior.core.errors import InputError
from chromaprior.core.io import Picture
from chromaprior.methods.hgm import Restorer, mosaic
from helpers import synthetic_rgb


def test_numpy_torch_round_trip():
    rgb = synthetic_rgb(8, 12).astype(np.float32) / 255
    t = api.to_tensor(rgb)
    assert t.shape == (1, 3, 8, 12) and np.array_equal(api.to_pixels(t), rgb)
    assert api.to_tensor(rgb[..., 0]).shape == (1, 1, 8, 12) and api.to_pixels(api.to_tensor(rgb[..., 0])).shape == (8, 12)


def test_colour_input_rule_and_gray_extraction():
    rgb = synthetic_rgb(24, 32).astype(np.float32) / 255
    with pytest.raises(InputError, match="x.png: already in colour .*--recolor"):
        api.gray_of(Picture(rgb), name="x.png")
    y = api.gray_of(Picture(rgb), (0.299, 0.587, 0.114), recolor=True)
    assert np.allclose(y, rgb @ np.array([0.299, 0.587, 0.114], np.float32), atol=1e-6)
    gray = rgb.mean(axis=2)
    assert np.array_equal(api.gray_of(Picture(gray)), gray)


def test_colorize_picture_keeps_metadata_and_matches_the_tensor_call(tiny_model):
    col = Colorizer(tiny_model)
    gray = (synthetic_rgb(20, 28).mean(axis=2) / 255).astype(np.float32)
    alpha = np.full(gray.shape, 0.5, np.float32)
    out = api.colorize_picture(Picture(gray, alpha, bits=16, info={"dpi": (300, 300)}), col, preset="preview")
    assert out.pixels.shape == (20, 28, 3) and out.bits == 16 and out.info == {"dpi": (300, 300)}
    assert out.alpha is alpha
    direct = col(torch.from_numpy(gray), preset="preview")
    assert np.allclose(out.pixels, api.to_pixels(direct))


def test_colorizer_and_restorer_take_single_images_and_batches_alike(tiny_model, tiny_restore_model):
    col = Colorizer(tiny_model)
    g = torch.rand(2, 1, 16, 24, generator=torch.Generator().manual_seed(0))
    batch = col(g, preset="preview", seed=3)
    assert batch.shape == (2, 3, 16, 24)
    assert torch.allclose(batch[1:], col(g[1, 0], preset="preview", seed=4), atol=1e-6)  # image b: seed + b
    r = Restorer(tiny_restore_model)
    raw = mosaic(torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1)), "RGGB")
    out = r.demosaick(raw, "RGGB", preset="preview", seed=5)
    assert out.shape == (2, 3, 16, 16)
    assert torch.allclose(out[1:], r.demosaick(raw[1, 0], "RGGB", preset="preview", seed=6), atol=1e-5)
    assert r.inpaint(torch.rand(3, 16, 16), torch.rand(16, 16) < 0.5, preset="preview").shape == (1, 3, 16, 16)
    with pytest.raises(ValueError, match="mosaic must be"):
        r.demosaick(torch.rand(2, 16, 16, 3), "RGGB")


def test_inpaint_and_mosaic_pictures(tiny_restore_model):
    rgb = synthetic_rgb(16, 16).astype(np.float32) / 255
    raw = api.mosaic_picture(Picture(rgb), "rggb")
    assert raw.shape == (16, 16)
    with pytest.raises(InputError, match="no colours"):
        api.mosaic_picture(Picture(rgb[..., 0]))
    mask = np.zeros((16, 16), np.float32)
    mask[4:8, 4:8] = 1
    r = Restorer(tiny_restore_model)
    out = api.inpaint_picture(Picture(rgb[..., 1]), Picture(mask), r, preset="preview")
    assert out.pixels.shape == (16, 16)
    with pytest.raises(InputError, match="same size"):
        api.inpaint_picture(Picture(rgb), Picture(mask[:8]), r)
    with pytest.raises(InputError, match="every pixel"):
        api.inpaint_picture(Picture(rgb), Picture(np.ones_like(mask)), r)


def test_the_colorizer_runs_on_every_device(tiny_unet_model, device):
    out = Colorizer(tiny_unet_model, device=device)(torch.rand(16, 16))
    assert out.shape == (1, 3, 16, 16) and out.device.type == device
