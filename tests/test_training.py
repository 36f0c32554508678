import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from chromaprior.models.registry import load_model
from chromaprior.core.errors import InputError
from chromaprior.models.losses import DSMLoss, lab_pair
from chromaprior.training.loop import TrainConfig, make_net, train

from helpers import synthetic_rgb


def test_dsm_loss_falls_on_toy_data():
    """A tiny score net learns flat colour patches: its DSM loss drops clearly."""
    torch.manual_seed(0)
    config = TrainConfig(ngf=4, size=16, num_levels=4, sigma_min=0.05)
    net = make_net(config)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    dsm_loss = DSMLoss(config.lift())

    def batch():
        colors = torch.rand(16, 3, 1, 1, generator=g)
        return colors.expand(-1, -1, 16, 16)

    with torch.no_grad():
        before = np.mean([dsm_loss(net, batch(), g).item() for _ in range(10)])
    for _ in range(150):
        loss = dsm_loss(net, batch(), g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = np.mean([dsm_loss(net, batch(), g).item() for _ in range(10)])
    assert after < 0.6 * before


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(synthetic_rgb(30, 40, seed=i)).save(folder / f"img{i}.png")
    Image.fromarray(np.full((30, 40), 128, np.uint8)).convert("RGB").save(folder / "gray.png")
    return folder


def _config(folder, iterations):
    return TrainConfig(ngf=4, size=16, num_levels=4, batch_size=4, iterations=iterations,
                       checkpoint_every=5, log_every=5, data=[str(folder)])


def test_resume_after_kill_is_exact(image_folder, tmp_path):
    straight = train(_config(image_folder, 10), tmp_path / "a", progress=False)
    train(_config(image_folder, 5), tmp_path / "b", progress=False)  # "killed" after step 5...
    with (tmp_path / "b" / "log.jsonl").open("a") as f:  # ...having logged a step past its checkpoint
        f.write(json.dumps({"step": 7, "loss": 1.0}) + "\n")
    resumed = train(_config(image_folder, 10), tmp_path / "b", resume=True, progress=False)
    wa = load_file(str(straight / "model.safetensors"))
    wb = load_file(str(resumed / "model.safetensors"))
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    card = json.loads((resumed / "model.json").read_text())
    assert card["training"]["steps"] == 10
    steps = [json.loads(line)["step"] for line in (resumed / "log.jsonl").read_text().splitlines()]
    assert steps == [5, 10]
    assert card["training"]["skipped_gray"] == 1  # the flat gray image was skipped
    net, _ = load_model(resumed)
    assert net.config.ngf == 4


def test_cli_resume_reads_the_run_settings(cli, image_folder, tmp_path):
    run = tmp_path / "run"
    args = ("train", "--out", run, "--ngf", "4", "--size", "16", "--levels", "3", "--batch-size", "2", "-q")
    assert cli(*args, "--data", image_folder, "--iterations", "2").exit_code == 0
    r = cli("train", "--out", run, "--resume", "--iterations", "3", "-q")  # no --data, no settings: the run's own
    assert r.exit_code == 0, r.output
    card = json.loads((run / "model.json").read_text())
    assert card["training"]["steps"] == 3 and card["training"]["ngf"] == 4
    assert card["training"]["data"] == [str(image_folder)]
    r = cli("train", "--out", tmp_path / "none", "--resume", "-q")
    assert r.exit_code != 0 and "holds no training run" in r.stderr and "Traceback" not in r.output
    assert cli("train", "--out", tmp_path / "new", "-q").exit_code == 2  # a new run needs --data


def test_refuses_to_clobber_a_run(image_folder, tmp_path):
    train(_config(image_folder, 5), tmp_path / "a", progress=False)
    with pytest.raises(FileExistsError, match="--resume"):
        train(_config(image_folder, 5), tmp_path / "a", progress=False)


def test_loss_curve_png(tmp_path):
    from chromaprior.training.plots import plot_loss

    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in range(1, 20)))
    plot_loss(log, tmp_path / "loss.png")
    im = np.asarray(Image.open(tmp_path / "loss.png").convert("RGB")).astype(int)
    red = (im[..., 0] > 150) & (im[..., 1] < 100)
    assert red.sum() > 100  # the curve is drawn
    cols = np.nonzero(red.any(axis=0))[0]
    first_rows = np.nonzero(red[:, cols[0]])[0]
    last_rows = np.nonzero(red[:, cols[-1]])[0]
    assert first_rows.mean() < last_rows.mean()  # falling loss: starts high (small row index)


@pytest.mark.parametrize("method,channels", [("jgm-divide", 9), ("rgb", 3)])
def test_variant_methods_train_save_and_colorize(method, channels, image_folder, tmp_path):
    from chromaprior.methods.colorize import Colorizer

    config = TrainConfig(method=method, ngf=4, size=16, num_levels=3, batch_size=2, iterations=2,
                         checkpoint_every=2, data=[str(image_folder)])
    train(config, tmp_path / method, progress=False)
    net, card = load_model(tmp_path / method)
    assert card["method"] == method and net.config.in_channels == channels
    col = Colorizer(tmp_path / method)
    y = torch.rand(1, 1, 20, 28)
    out = col(y, preset="preview")
    assert torch.allclose(col.luminance(out), y, atol=1e-5)


@pytest.mark.parametrize("method", ["unet", "cgan"])
def test_supervised_colorizers_train_resume_and_colorize(method, image_folder, tmp_path):
    from chromaprior.methods.colorize import Colorizer

    def config(iterations):
        return TrainConfig(method=method, ngf=4, depth=3, size=16, batch_size=4, iterations=iterations,
                           checkpoint_every=2, data=[str(image_folder)])

    straight = train(config(4), tmp_path / "a", progress=False)
    train(config(2), tmp_path / "b", progress=False)
    resumed = train(config(4), tmp_path / "b", resume=True, progress=False)  # discriminator state resumes too
    wa, wb = load_file(str(straight / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    col = Colorizer(resumed, method=method)
    assert col.supervised and col.nfe("paper") == 1
    y = torch.rand(1, 1, 20, 28)
    out = col(y)
    assert out.shape == (1, 3, 20, 28)
    assert torch.allclose(col.luminance(out), y, atol=1e-5)
    with pytest.raises(ValueError, match="--method jgm"):
        Colorizer(resumed, method="jgm")


def test_unet_regressor_learns_a_colour_mapping():
    """A tiny U-Net learns L -> ab on images whose colour is a function of brightness."""
    torch.manual_seed(0)
    net = make_net(TrainConfig(method="unet", ngf=8, depth=3, size=16))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)

    def batch():  # dark pixels blue-ish, bright pixels orange-ish
        t = torch.rand(8, 1, 16, 16, generator=g)
        return torch.cat([0.2 + 0.7 * t, 0.1 + 0.6 * t, 0.6 - 0.4 * t], dim=1)

    def loss():
        l_in, ab = lab_pair(batch())
        return ((net(l_in) - ab) ** 2).mean()

    net.eval()
    with torch.no_grad():
        before = np.mean([loss().item() for _ in range(5)])
    net.train()
    for _ in range(150):
        l = loss()
        opt.zero_grad()
        l.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        after = np.mean([loss().item() for _ in range(5)])
    assert after < 0.2 * before


def test_points_plot_png(tmp_path):
    from chromaprior.training.plots import plot_points

    plot_points({"PSNR": [(10, 22.0), (30, 22.5), (1000, 22.2)]}, tmp_path / "p.png", "title")
    im = np.asarray(Image.open(tmp_path / "p.png").convert("RGB")).astype(int)
    red = (im[..., 0] > 150) & (im[..., 1] < 100)
    cols = np.nonzero(red.any(axis=0))[0]
    assert red.sum() > 50 and cols.max() - cols.min() > 300  # the series spans the log-NFE axis


def test_init_starts_from_a_saved_model(image_folder, tmp_path):
    """--init: a run starts from another run's weights (not from a fresh init); a model of
    another method or shape is refused."""
    first = train(_config(image_folder, 5), tmp_path / "a", progress=False)
    config = _config(image_folder, 1)
    config.lr, config.init = 1e-12, str(first)
    second = train(config, tmp_path / "b", progress=False)
    wa, wb = load_file(str(first / "model.safetensors")), load_file(str(second / "model.safetensors"))
    assert all(torch.allclose(wa[k], wb[k], atol=1e-6) for k in wa)  # lr ~0: the weights are the init's
    unet = TrainConfig(method="unet", ngf=4, depth=3, size=16, batch_size=4, iterations=1, init=str(first),
                       data=[str(image_folder)])
    with pytest.raises(InputError, match="is a jgm model"):
        train(unet, tmp_path / "c", progress=False)
    wider = _config(image_folder, 1)
    wider.ngf, wider.init = 8, str(first)
    with pytest.raises(InputError, match="does not fit"):
        train(wider, tmp_path / "d", progress=False)


def test_training_runs_on_every_device(image_folder, tmp_path, device, train_dtype, monkeypatch):
    """train() on each device: on CUDA the forward pass runs in bfloat16 autocast (float32 on
    the CPU), and the saved float32 weights load on the CPU."""
    from chromaprior.training import loop as training

    seen, build = [], training.make_net

    def make_net(config):
        net = build(config)
        first = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
        first.register_forward_hook(lambda module, args, out: seen.append((out.device.type, out.dtype)))
        return net

    monkeypatch.setattr(training, "make_net", make_net)
    out = train(_config(image_folder, 2), tmp_path / "run", device=device, progress=False)
    assert len(seen) == 2 and set(seen) == {(device, train_dtype)}
    card = json.loads((out / "model.json").read_text())
    assert card["training"]["device"] == device and card["training"]["steps"] == 2
    assert all(v.dtype == torch.float32 and v.isfinite().all() for v in load_file(str(out / "model.safetensors")).values())
    net, _ = load_model(out)
    assert next(net.parameters()).device.type == "cpu"
