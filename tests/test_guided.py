"""The guided JGM (``jgm-guided``): the conditional score network's shapes and
gradient flow, the condition changes the score, sampling keeps ``A x = y`` exactly (with and
without hints), the condition is computed once per image, and the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from PIL import Image

from chromaprior.core import operators
from chromaprior.methods.colorize import Colorizer
from chromaprior.core.hints import Hint, hint_operator, rasterize
from chromaprior.core.lifts import GradientLift
from chromaprior.models.losses import GuidedDSMLoss
from chromaprior.core.io import sha256_file
from chromaprior.models.registry import get_method, shipped_model
from chromaprior.nets.guided import GuidedScoreNet
from chromaprior.nets.ncsn import ScoreNet, ScoreNetConfig
from chromaprior.methods.sampling import get_preset, sample, seeded_generators
from chromaprior.training.loop import TrainConfig, make_net

from conftest import _SCORE, _tiny
from helpers import synthetic_rgb


def _rgb(h: int, w: int, seed: int) -> torch.Tensor:
    return torch.from_numpy(synthetic_rgb(h, w, seed=seed)).permute(2, 0, 1)[None].float() / 255


@pytest.fixture(scope="module")
def net() -> GuidedScoreNet:
    torch.manual_seed(0)
    return make_net(TrainConfig(method="jgm-guided", size=32, **_SCORE))


@pytest.fixture(scope="module")
def tiny_guided(tmp_path_factory) -> str:
    """A jgm-guided model folder: a tiny random score network + the shipped semantic colorizer."""
    return _tiny(tmp_path_factory.mktemp("tiny_guided"), "jgm-guided", size=32, **_SCORE)


def _condition(net, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    small = F.interpolate(x, scale_factor=1 / net.config.scale, mode="bilinear", antialias=True)
    gray = operators.gray()
    return net.condition(gray.forward(x), gray.forward(small)), small


def test_spec_is_one_conditional_score_prior():
    spec = get_method("jgm-guided")
    assert spec.family == "score" and spec.conditional and spec.init_from == ("jgm",)
    assert not get_method("jgm").conditional  # the paper's method is unchanged


def test_condition_and_score_shapes(net):
    x = _rgb(64, 96, seed=1).repeat(2, 1, 1, 1)
    cond, small = _condition(net, x)
    assert small.shape == (2, 3, 32, 48)
    # gray, 2 a*b* read-outs, 96 decoder features, 2 x 9 lifted chroma of the read-outs' colours
    assert net.cond_channels == 1 + 2 * 2 + 96 + 2 * 9
    assert cond.shape == (2, net.cond_channels, 32, 48)
    assert not cond.requires_grad
    z = GradientLift().lift(small)
    out = net(z, torch.tensor([0, 3]), cond)
    assert out.shape == z.shape and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="condition"):
        net(z, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="does not fit"):
        net(z, torch.tensor([0, 3]), cond[..., :16, :16])


def test_zero_initialised_injections_start_from_the_unconditional_network(net):
    """At initialisation the guided network is the unconditional one with the same weights
    (so a trained jgm model is a valid start, ``--init``)."""
    fresh = make_net(TrainConfig(method="jgm-guided", size=32, **_SCORE))
    plain = ScoreNet(ScoreNetConfig(9, _SCORE["ngf"], _SCORE["num_levels"]), fresh.sigmas)
    plain.load_state_dict({k: v for k, v in fresh.state_dict().items() if k in plain.state_dict()})
    x = _rgb(32, 32, seed=2)
    cond, small = _condition(fresh, x)
    z = GradientLift().lift(small)
    with torch.no_grad():
        assert torch.equal(fresh(z, torch.tensor([1]), cond), plain(z, torch.tensor([1])))


def test_gradients_reach_the_score_network_and_condition_path_not_the_frozen_colorizer():
    """The zero-initialised injections get gradients at once, the condition trunk behind them
    from the second step on (ControlNet's zero convolutions); the colorizer never does."""
    torch.manual_seed(0)
    net = make_net(TrainConfig(method="jgm-guided", size=32, **_SCORE)).train()
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    batch, gen = torch.cat([_rgb(32, 32, 3), _rgb(32, 32, 4)]), torch.Generator().manual_seed(0)
    for step in range(2):
        opt.zero_grad()
        GuidedDSMLoss(GradientLift())(net, batch, gen).backward()
        grads = {k: p.grad for k, p in net.named_parameters()}
        names = ["begin.weight", "end.weight", "inject.0.weight", "inject.3.weight", "inject.4.weight",
                 "pull_gain.weight"]
        if step:
            names += ["cond_trunk.0.weight", "cond_trunk.2.weight"]
        for name in names:
            assert grads[name] is not None and grads[name].abs().sum() > 0, (step, name)
        opt.step()
    assert all(g is None for k, g in grads.items() if k.startswith("semantic."))
    assert not any(p.requires_grad for p in net.semantic.parameters())
    assert not net.semantic.training and net.training  # the colorizer stays in eval mode


def test_conditioning_changes_the_score():
    """After a few training steps the score of the same noisy tensor differs for two different
    gray photos (the condition is used), and equals for the same photo."""
    torch.manual_seed(0)
    net = make_net(TrainConfig(method="jgm-guided", size=32, **_SCORE)).train()
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    loss_fn, gen = GuidedDSMLoss(GradientLift()), torch.Generator().manual_seed(0)
    batch = torch.cat([_rgb(32, 32, s) for s in range(4)])
    for _ in range(3):
        opt.zero_grad()
        loss_fn(net, batch, gen).backward()
        opt.step()
    net.eval()
    a, b = _rgb(32, 32, seed=10), _rgb(32, 32, seed=11).flip(-1)
    cond_a, small = _condition(net, a)
    cond_b, _ = _condition(net, b)
    assert (cond_a - cond_b).abs().mean() > 0.01
    z = GradientLift().lift(small)
    level = torch.tensor([1])
    with torch.no_grad():
        sa, sb, sa2 = net(z, level, cond_a), net(z, level, cond_b), net(z, level, cond_a)
    assert torch.equal(sa, sa2)
    assert (sa - sb).abs().mean() > 1e-3 * sa.abs().mean()


def test_pull_is_chroma_only_and_blends_the_denoised_estimate_with_the_read_outs(net):
    """The explicit term moves only the chroma (each block's mean over r, g, b is untouched, so
    it never fights the gray's data consistency): the denoised estimate ``z + sigma^2 s``
    moves towards the read-outs' colours by the gains."""
    x = _rgb(32, 32, seed=12)
    cond, small = _condition(net, x)
    z = GradientLift().lift(small) + 0.1 * torch.randn(1, 9, 16, 16, generator=torch.Generator().manual_seed(0))
    level = torch.tensor([2])
    score = torch.randn(1, 9, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        net.pull_gain.weight.fill_(0.01)
        pull = net._pull(z, score, level, cond)
        net.pull_gain.weight.zero_()
    blocks = pull.view(1, 3, 3, 16, 16)
    assert torch.allclose(blocks.mean(dim=2), torch.zeros(1, 3, 16, 16), atol=1e-4)
    s2 = net.sigmas[2] ** 2
    d = (z + s2 * score).view(1, 3, 3, 16, 16)
    dc = (d - d.mean(dim=2, keepdim=True)).view(1, 9, 16, 16)
    a = 0.01 * net.config.gain_scale
    want = a * (cond[:, -18:-9] + cond[:, -9:] - 2 * dc) / s2  # both read-outs, equal gains
    assert torch.allclose(pull, want, atol=1e-4)


@pytest.mark.parametrize("with_hints", [False, True])
def test_sampling_meets_the_measurement_exactly(net, with_hints):
    """``A x = y`` for the sampler's output (the exact final projection), hints as operator rows."""
    x = _rgb(64, 64, seed=5)
    cond, small = _condition(net.eval(), x)
    gray = operators.gray()
    op, y = gray, gray.forward(small)
    if with_hints:
        keep, colors = rasterize([Hint(10, 12, (220, 40, 40), 4), Hint(25, 20, (30, 60, 200), 3)], 32, 32, (1, 1))
        hinted = colors - gray.forward(colors)
        op = operators.stack(gray, hint_operator(keep, operators.MEAN_WEIGHTS))
        y = torch.cat([y, keep * hinted], dim=1)
    out = sample(net, op, y, get_preset("preview"), generator=seeded_generators(0, 1), lift=GradientLift(), cond=cond)
    assert out.shape == (1, 3, 32, 32)
    assert torch.allclose(op.forward(out), y, atol=1e-5)
    if with_hints:
        assert torch.allclose(out[0, :, 12, 10] - out[0, :, 12, 10].mean(), hinted[0, :, 12, 10], atol=1e-5)


@pytest.mark.parametrize("with_hints", [False, True])
def test_colorizer_keeps_gray_and_hints(tiny_guided, with_hints):
    col = Colorizer(tiny_guided, method="jgm-guided")
    assert col.method == "jgm-guided" and col.conditional and col.scale == 2
    y = operators.gray().forward(_rgb(48, 64, seed=6))
    hints = [Hint(30, 20, (200, 100, 100), radius=8)] if with_hints else None
    out = col(y, preset="preview", hints=hints)
    assert out.shape == (1, 3, 48, 64)
    assert torch.allclose(col.luminance(out), y, atol=1e-5)
    if with_hints:
        target = torch.tensor([200, 100, 100]) / 255
        want = y[0, :, 18:22, 28:32].mean() + target - target.mean()
        assert torch.allclose(out[0, :, 18:22, 28:32].mean(dim=(1, 2)), want, atol=0.03)


def test_condition_is_computed_once_per_image_and_batches_equal_single_runs(tiny_guided, monkeypatch):
    col = Colorizer(tiny_guided)
    calls = {"condition": 0, "score": 0}
    condition, forward = col.net.condition, col.net.forward

    def counted_condition(*a, **k):
        calls["condition"] += 1
        return condition(*a, **k)

    def counted_forward(*a, **k):
        calls["score"] += 1
        return forward(*a, **k)

    monkeypatch.setattr(col.net, "condition", counted_condition)
    monkeypatch.setattr(col.net, "forward", counted_forward)
    grays = operators.gray().forward(torch.cat([_rgb(32, 48, 7), _rgb(32, 48, 8)]))
    both = col(grays, preset="preview", seed=3)
    assert calls == {"condition": 2, "score": 2 * col.nfe("preview")}
    assert torch.equal(both[1:], col(grays[1:], preset="preview", seed=4))


def test_method_mismatch_is_refused(tiny_guided, tiny_model):
    from chromaprior.core.errors import InputError

    with pytest.raises(InputError, match="jgm-guided"):
        Colorizer(tiny_model, method="jgm-guided")
    with pytest.raises(InputError, match="jgm"):
        Colorizer(tiny_guided, method="jgm")


def test_cli_colorize_end_to_end(tiny_guided, tmp_path):
    from chromaprior.apps import cli

    src = tmp_path / "g.png"
    gray = synthetic_rgb(40, 56, seed=9).mean(axis=2).astype(np.uint8)
    Image.fromarray(gray).save(src)
    out = tmp_path / "o.png"
    hints = tmp_path / "h.json"
    hints.write_text(json.dumps([{"x": 20, "y": 15, "rgb": [220, 90, 90], "radius": 6}]))
    r = CliRunner().invoke(cli.main, ["colorize", str(src), "-o", str(out), "--method", "jgm-guided", "--model",
                                      tiny_guided, "--preset", "preview", "--hints", str(hints), "--threads", "1", "-q"])
    assert r.exit_code == 0, r.output
    a = np.asarray(Image.open(out)).astype(float)
    assert a.shape == (40, 56, 3)
    assert np.abs(a.mean(axis=2) - gray).max() <= 1.0  # the gray is kept (8-bit rounding)
    assert a[15, 20, 0] > a[15, 20, 1] + 20  # red where hinted


def test_init_from_a_jgm_model(tiny_model, tiny_unet_model):
    """``--init`` accepts an unconditional jgm model (its weights are a subset), not others."""
    from chromaprior.models.registry import load_model
    from chromaprior.core.errors import InputError
    from chromaprior.training.loop import _load_init

    config = TrainConfig(method="jgm-guided", size=32, init=tiny_model, **_SCORE)
    guided = make_net(config)
    _load_init(guided, config)
    jgm, _ = load_model(tiny_model)
    own = guided.state_dict()
    assert all(torch.equal(v, own[k]) for k, v in jgm.state_dict().items())
    with pytest.raises(InputError, match="unet model, not jgm-guided"):
        _load_init(guided, TrainConfig(method="jgm-guided", size=32, init=tiny_unet_model, **_SCORE))


def test_init_from_a_guided_model_keeps_the_current_conditioning_colorizer(tiny_guided):
    """Continuing a guided model (``--init GUIDED``) takes its score network, condition path and
    gains, never its copy of the semantic colorizer: the one of ``--guide`` (default: shipped)
    stays, so a retrained or fine-tuned colorizer is not mixed with an old decoder."""
    from chromaprior.models.registry import load_model
    from chromaprior.training.loop import _load_init

    config = TrainConfig(method="jgm-guided", size=32, init=tiny_guided, **_SCORE)
    net = make_net(config)
    with torch.no_grad():
        net.semantic.classifier.weight.fill_(0.5)
        net.cond_trunk[0].weight.zero_()
    _load_init(net, config)
    old, _ = load_model(tiny_guided)
    assert torch.equal(net.cond_trunk[0].weight, old.cond_trunk[0].weight)
    assert torch.equal(net.begin.weight, old.begin.weight)
    assert bool((net.semantic.classifier.weight == 0.5).all())


def test_cli_train_then_colorize(tmp_path, tiny_model):
    from safetensors.torch import load_file

    from chromaprior.apps import cli
    from chromaprior.models.checkpoint import read_card

    data = tmp_path / "photos"
    data.mkdir()
    for s in range(3):
        Image.fromarray(synthetic_rgb(48, 48, seed=s)).save(data / f"p{s}.png")
    run = tmp_path / "run"
    args = ["train", "--method", "jgm-guided", "--data", str(data), "--out", str(run), "--size", "32", "--batch-size",
            "2", "--iterations", "2", "--ngf", "4", "--levels", "4", "--sigma-min", "0.05", "--init", tiny_model, "-q"]
    r = CliRunner().invoke(cli.main, args)
    assert r.exit_code == 0, r.output
    card = read_card(run)
    assert card["method"] == "jgm-guided" and card["training"]["init"] == tiny_model
    assert card["net"]["guide"] == "semantic-colorize"  # the shipped colorizer, by name: one copy of its weights
    assert card["net"]["guide_sha256"] == sha256_file(shipped_model("semantic") / "model.safetensors")
    assert not any(k.startswith("semantic.") for k in load_file(str(run / "model.safetensors")))
    out = Colorizer(run)(operators.gray().forward(_rgb(32, 32, 1)), preset="preview")
    assert out.shape == (1, 3, 32, 32)


def test_a_changed_or_missing_guide_is_a_one_line_error(tmp_path, tiny_guided):
    """The score network learned the features of one semantic colorizer: the guided model
    names it and its weights' SHA-256, and refuses another (or a missing one) at load."""
    import shutil

    from chromaprior.models.registry import load_model
    from chromaprior.core.errors import InputError

    guide = tmp_path / "my-semantic"
    shutil.copytree(shipped_model("semantic"), guide)
    model = tmp_path / "guided"
    shutil.copytree(tiny_guided, model)
    card = json.loads((model / "model.json").read_text())
    card["net"]["guide"] = str(guide)
    (model / "model.json").write_text(json.dumps(card))
    load_model(model)  # the same weights in another folder: fine
    (guide / "model.safetensors").write_bytes((guide / "model.safetensors").read_bytes() + b" ")
    with pytest.raises(InputError, match="retrain"):
        load_model(model)
    shutil.rmtree(guide)
    with pytest.raises(InputError, match="is missing"):
        load_model(model)


def test_gpu_recipe_script_knows_every_trainable_method(tmp_path):
    """bench/gpu_train.sh is the one GPU recipe (METHOD=... bash bench/gpu_train.sh): it has a
    case for every trainable method and refuses another one before any work."""
    import subprocess

    bench = Path(__file__).resolve().parents[1] / "bench"
    script = bench / "gpu_train.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert subprocess.run(["bash", "-n", str(bench / "gpu_unpack.sh")]).returncode == 0
    import re

    labels = {m for case in re.findall(r"^  ([\w|-]+)\)", script.read_text(), re.M) for m in case.split("|")}
    assert {"semantic", "jgm-guided", "learned-demosaick", "learned-inpaint", "hgm-pixel-scale"} <= labels
    r = subprocess.run(["bash", str(script)], env={"METHOD": "unet", "PATH": "/usr/bin:/bin",
                       "OUT": str(tmp_path / "out")}, capture_output=True, text=True)
    assert r.returncode == 2 and "METHOD must be" in r.stdout


def test_warm_resume_file_of_a_guided_run(tmp_path):
    """bench/gpu_state.py slim/expand (the GPU recipe's warm resume) work for jgm-guided: the
    trained weights travel, the frozen encoder does not, and the expanded run resumes."""
    from chromaprior.apps import cli
    from chromaprior.training import state_files as gpu_state

    data = tmp_path / "photos"
    data.mkdir()
    for s in range(2):
        Image.fromarray(synthetic_rgb(40, 40, seed=s)).save(data / f"p{s}.png")
    run = tmp_path / "run"
    base = ["train", "--method", "jgm-guided", "--data", str(data), "--size", "32", "--batch-size", "2", "--ngf", "4",
            "--levels", "4", "--sigma-min", "0.05", "-q"]
    assert CliRunner().invoke(cli.main, base + ["--out", str(run), "--iterations", "1"]).exit_code == 0
    slim = gpu_state.slim(run / "state.pt", tmp_path / "resume")
    weights = torch.load(slim, weights_only=False)["weights"]
    # the conditioning colorizer (decoder, any fine-tuned encoder blocks) is rebuilt from the checkout
    # by expand, as train --init does: it does not travel
    assert "pull_gain.weight" in weights and not any(k.startswith("semantic.") for k in weights)
    warm = tmp_path / "warm"
    gpu_state.expand(slim, warm)
    r = CliRunner().invoke(cli.main, base + ["--out", str(warm), "--iterations", "2", "--resume"])
    assert r.exit_code == 0, r.output
    assert json.loads((warm / "log.jsonl").read_text().splitlines()[-1])["step"] == 2


def test_shipped_guided_model_colours_and_keeps_gray():
    """The shipped weights: a card that says how they were trained, real colour, the gray kept."""
    from chromaprior.models.checkpoint import read_card
    from chromaprior.models.registry import shipped_model
    from chromaprior.core.io import read_image
    from chromaprior.evaluation.metrics import colorfulness

    folder = shipped_model("jgm-guided")
    card = read_card(folder)
    assert card["method"] == "jgm-guided" and card["weights_dtype"] == "float16"
    assert "CPU" in card["notes"] and card["net"]["guide"] == "semantic-colorize"
    assert (folder / "model.safetensors").stat().st_size < 6_000_000
    example = Path(__file__).resolve().parents[1] / "examples" / "coffee-gray.jpg"
    gray = torch.from_numpy(read_image(example).pixels)[None, None]
    gray = F.interpolate(gray, size=(128, 192), mode="area")
    col = Colorizer(method="jgm-guided")
    out = col(gray, preset="preview", seed=0)
    assert torch.allclose(col.luminance(out), gray, atol=1e-5)
    assert float(colorfulness(out)) > 8
    assert float((out - out.mean(1, keepdim=True)).abs().mean()) < 0.25
