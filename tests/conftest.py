"""Shared fixtures: tiny dummy models, synthetic images (no data from ../shared), the
command line in-process, and every device there is."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from chromaprior.models.checkpoint import save_model
from helpers import save_steerable, synthetic_rgb
from chromaprior.training.loop import TrainConfig, make_net


def _tiny(folder, method: str, **options) -> str:
    """Save a model of ``method`` with a tiny random network (and, for ``semantic``, the
    pretrained encoder) into ``folder``."""
    config = TrainConfig(method=method, size=options.pop("size", 16 if method != "semantic" else 32), **options)
    torch.manual_seed(0)
    net = make_net(config).eval()
    lift = config.lift()
    card = {"method": method, "task": config.task, "lift": lift.to_config() if lift else None,
            "training": {"size": config.size, "steps": 0, "parameters": sum(p.numel() for p in net.parameters())}}
    save_model(folder, net, net.state_dict(), card)
    return str(folder)


_SCORE = dict(ngf=4, num_levels=4, sigma_min=0.05)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A JGM model folder with a few-thousand-parameter random network."""
    return _tiny(tmp_path_factory.mktemp("tiny_model"), "jgm", **_SCORE)


@pytest.fixture(scope="session")
def tiny_restore_model(tmp_path_factory) -> str:
    """An HGM pixel-scale restoration prior with a tiny random network."""
    return _tiny(tmp_path_factory.mktemp("tiny_hgm"), "hgm-pixel-scale", **_SCORE)


@pytest.fixture(scope="session")
def tiny_rgb_restore_model(tmp_path_factory) -> str:
    """A 3-channel restoration prior (first stage of the progressive strategy)."""
    return _tiny(tmp_path_factory.mktemp("tiny_rgb"), "rgb", task="restore", **_SCORE)


@pytest.fixture(scope="session")
def tiny_unet_model(tmp_path_factory) -> str:
    """A supervised L -> ab U-Net colorizer with a tiny random network."""
    return _tiny(tmp_path_factory.mktemp("tiny_unet"), "unet", ngf=4, depth=3)


@pytest.fixture(scope="session")
def tiny_semantic_model(tmp_path_factory) -> str:
    """A semantic colorizer: the pretrained encoder and a random 8-channel decoder."""
    return _tiny(tmp_path_factory.mktemp("tiny_semantic"), "semantic", ngf=8)


@pytest.fixture(scope="session")
def tiny_steerable(tmp_path_factory, tiny_semantic_model) -> str:
    """A steerable colorizer on the tiny semantic one, its hint convolutions random (not zero)."""
    from chromaprior.training.hints import steerable_from_guide

    torch.manual_seed(0)
    net = steerable_from_guide(tiny_semantic_model)
    for weight in net.hint_parameters():
        torch.nn.init.normal_(weight, std=0.5)
    net.config.edge_radius = 2
    return save_steerable(tmp_path_factory.mktemp("tiny_steerable"), net)


@pytest.fixture
def gray_png(tmp_path) -> str:
    path = tmp_path / "gray.png"
    Image.fromarray(synthetic_rgb().mean(axis=2).astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture
def cli():
    """``cli(*args)`` runs ``chromaprior ARGS...`` in-process (click's CliRunner) and returns its
    ``click.testing.Result``: ``exit_code``, ``stdout``, ``stderr``, ``output`` (both) and
    ``exception`` (a bug's exception; ``SystemExit`` for a clean exit). The torch thread count
    a command sets is restored afterwards."""
    from click.testing import CliRunner

    from chromaprior.apps.cli import main

    threads = torch.get_num_threads()
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, [str(a) for a in args])
    torch.set_num_threads(threads)


_NO_CUDA = pytest.mark.skipif(not torch.cuda.is_available(),
                              reason="no CUDA device here: the CUDA branch runs on a GPU machine")


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=_NO_CUDA)])
def device(request) -> str:
    """Every device: ``cpu`` always, ``cuda`` where CUDA is present (skipped, with the reason,
    elsewhere), so the CUDA branches run on a GPU machine."""
    return request.param


@pytest.fixture
def train_dtype(device) -> torch.dtype:
    """The dtype training's forward pass computes in on ``device``: bfloat16 autocast on
    CUDA, float32 on the CPU (:func:`chromaprior.training.loop.train`)."""
    return torch.bfloat16 if device == "cuda" else torch.float32
