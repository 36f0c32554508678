"""The sampler: data consistency, NFE counts, batch = one by one, presets, devices."""

import pytest
import torch

from chromaprior.core import operators as ops
from chromaprior.models.registry import load_model
from chromaprior.core.lifts import make_lift
from chromaprior.methods.sampling import PRESETS, Preset, get_preset, sample, seeded_generators


def test_sampler_meets_data_consistency(tiny_model):
    net, card = load_model(tiny_model)
    lift = make_lift(card["lift"])
    op = ops.gray()
    y = torch.rand(2, 1, 16, 24)
    calls = []
    x = sample(net, op, y, Preset("t", steps=2, eps=1e-3), generator=seeded_generators(0, 2), lift=lift,
               callback=lambda done, total: calls.append((done, total)))
    assert x.shape == (2, 3, 16, 24)
    assert torch.allclose(op.forward(x), y, atol=1e-5)
    assert calls[-1] == (9, 9) == (len(calls), Preset("t", steps=2, eps=1e-3).nfe(4))


def test_predictor_corrector_meets_data_consistency(tiny_model):
    net, card = load_model(tiny_model)
    op, y = ops.gray(), torch.rand(1, 1, 16, 16)
    preset = Preset("pc", steps=1, eps=1e-3, predictor=True)
    calls = []
    x = sample(net, op, y, preset, generator=seeded_generators(0, 1), lift=make_lift(card["lift"]),
               callback=lambda done, total: calls.append(total))
    assert torch.allclose(op.forward(x), y, atol=1e-5)
    assert len(calls) == preset.nfe(4) == 8


def test_batch_equals_one_by_one(tiny_model):
    net, card = load_model(tiny_model)
    lift, op, preset = make_lift(card["lift"]), ops.gray(), Preset("t", steps=2, eps=1e-3)
    y = torch.rand(2, 1, 16, 16)
    both = sample(net, op, y, preset, generator=seeded_generators(5, 2), lift=lift)
    first = sample(net, op, y[:1], preset, generator=seeded_generators(5, 1), lift=lift)
    second = sample(net, op, y[1:], preset, generator=seeded_generators(6, 1), lift=lift)
    assert torch.allclose(both, torch.cat([first, second]), atol=1e-5)


def test_gradient_dc_changes_the_result(tiny_model):
    net, card = load_model(tiny_model)
    lift, op = make_lift(card["lift"]), ops.gray()
    y = torch.rand(1, 1, 16, 16)
    a = sample(net, op, y, Preset("a", steps=2, eps=1e-3), generator=seeded_generators(0, 1), lift=lift)
    b = sample(net, op, y, Preset("b", steps=2, eps=1e-3, gradient_dc=False), generator=seeded_generators(0, 1),
               lift=lift)
    assert not torch.allclose(a, b)
    assert torch.allclose(op.forward(b), y, atol=1e-5)


def test_presets():
    assert PRESETS["paper"].nfe(10) == 1001 and PRESETS["paper"].steps == 100
    assert all(p.nfe(10) < 1001 for n, p in PRESETS.items() if n != "paper")
    assert Preset("s", steps=1, eps=1e-4, level_stride=3).levels(10) == [0, 3, 6, 9]
    assert Preset("pc", steps=0, eps=1e-4, predictor=True).nfe(10) == 10
    assert Preset("pc", steps=2, eps=1e-4, predictor=True, level_stride=2).nfe(10) == 15
    with pytest.raises(ValueError, match="steps"):
        Preset("none", steps=0, eps=1e-4)
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("nope")
    with pytest.raises(ValueError, match="dc_weight"):
        Preset("bad", steps=1, eps=1e-4, dc_weight=0)


def test_sampler_runs_on_every_device(tiny_model, device):
    """On the device of its network and data the sampler keeps A x = y and gives the CPU's
    result (one CPU generator per image), up to the device's arithmetic."""
    net, card = load_model(tiny_model)
    lift, op, preset = make_lift(card["lift"]), ops.gray(), Preset("t", steps=2, eps=1e-3)
    y = torch.rand(2, 1, 16, 24, generator=torch.Generator().manual_seed(0))
    on_cpu = sample(net, op, y, preset, generator=seeded_generators(0, 2), lift=lift)
    x = sample(net.to(device), op, y.to(device), preset, generator=seeded_generators(0, 2), lift=lift)
    assert x.device.type == device and x.dtype == torch.float32 and x.shape == (2, 3, 16, 24)
    assert torch.allclose(op.forward(x), y.to(device), atol=1e-5)
    assert (x.cpu() - on_cpu).abs().max() < (1e-6 if device == "cpu" else 0.05)
