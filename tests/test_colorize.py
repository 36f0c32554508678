"""The Colorizer: full-resolution output that keeps the gray, gamut clamp, working size,
blind colorization, devices."""

import torch

from chromaprior.methods.colorize import Colorizer, gamut_clamp, working_size
from chromaprior.methods.sampling import Preset


def test_gamut_clamp_keeps_gray_and_range():
    g = torch.Generator().manual_seed(0)
    gray = torch.rand(1, 1, 8, 8, generator=g)
    chroma = torch.randn(1, 3, 8, 8, generator=g)
    chroma = chroma - chroma.mean(1, keepdim=True)
    x = gamut_clamp(gray, chroma)
    assert x.min() >= 0 and x.max() <= 1
    assert torch.allclose(x.mean(1, keepdim=True), gray, atol=1e-6)


def test_working_size():
    assert working_size(321, 481, 64) == (64, 96)
    assert working_size(100, 1000, 64) == (64, 256)  # aspect capped at 4


def test_colorizer_full_resolution_keeps_gray(tiny_model):
    col = Colorizer(tiny_model)
    y = torch.rand(1, 1, 37, 53)
    out = col(y, preset=Preset("t", steps=1, eps=1e-3), seed=3)
    assert out.shape == (1, 3, 37, 53)
    assert out.min() >= 0 and out.max() <= 1
    assert torch.allclose(col.luminance(out), y, atol=1e-5)
    again = col(y, preset=Preset("t", steps=1, eps=1e-3), seed=3)
    assert torch.equal(out, again)


def test_blind_colorization_uses_its_own_operator(tiny_model):
    col = Colorizer(tiny_model, gray="bt601")
    y = torch.rand(1, 1, 16, 16)
    out = col(y, preset=Preset("t", steps=1, eps=1e-3))
    w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    assert torch.allclose((out * w).sum(1, keepdim=True), y, atol=1e-5)


def test_score_prior_colorizer_runs_on_every_device(tiny_model, device):
    """The whole JGM path (resize, sampling, chroma upsampling, clamp) on each device: the
    gray is kept, and the result is the CPU's up to the device's arithmetic."""
    y = torch.rand(1, 1, 21, 30, generator=torch.Generator().manual_seed(1))
    preset = Preset("t", steps=1, eps=1e-3)
    on_cpu = Colorizer(tiny_model)(y, preset=preset, seed=2)
    col = Colorizer(tiny_model, device=device)
    out = col(y, preset=preset, seed=2)
    assert out.shape == (1, 3, 21, 30) and out.dtype == torch.float32
    assert torch.allclose(col.luminance(out.cpu()), y, atol=1e-5)
    assert (out.cpu() - on_cpu).abs().max() < (1e-6 if device == "cpu" else 0.05)
