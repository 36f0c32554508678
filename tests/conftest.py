"""Shared fixtures: tiny dummy models and synthetic images (no data from ../shared)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from chromaprior.checkpoint import save_model
from helpers import synthetic_rgb
from chromaprior.training import TrainConfig, make_net


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A JGM model folder with a few-thousand-parameter random network."""
    folder = tmp_path_factory.mktemp("tiny_model")
    config = TrainConfig(ngf=4, size=16, num_levels=4, sigma_min=0.05)
    torch.manual_seed(0)
    net = make_net(config)
    card = {"method": "jgm", "task": "colorize", "lift": config.lift().to_config(),
            "training": {"size": config.size, "steps": 0, "parameters": sum(p.numel() for p in net.parameters())}}
    save_model(folder, net, net.state_dict(), card)
    return str(folder)


def _tiny(folder, method: str):
    config = TrainConfig(method=method, task="restore", ngf=4, size=16, num_levels=4, sigma_min=0.05)
    torch.manual_seed(0)
    net = make_net(config)
    card = {"method": method, "task": "restore", "lift": config.lift().to_config(),
            "training": {"size": config.size, "steps": 0, "parameters": sum(p.numel() for p in net.parameters())}}
    save_model(folder, net, net.state_dict(), card)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_restore_model(tmp_path_factory) -> str:
    """An HGM pixel-scale restoration prior with a tiny random network."""
    return _tiny(tmp_path_factory.mktemp("tiny_hgm"), "hgm-pixel-scale")


@pytest.fixture(scope="session")
def tiny_rgb_restore_model(tmp_path_factory) -> str:
    """A 3-channel restoration prior (first stage of the progressive strategy)."""
    return _tiny(tmp_path_factory.mktemp("tiny_rgb"), "rgb")


@pytest.fixture(scope="session")
def tiny_unet_model(tmp_path_factory) -> str:
    """A supervised L -> ab U-Net colorizer with a tiny random network."""
    folder = tmp_path_factory.mktemp("tiny_unet")
    config = TrainConfig(method="unet", ngf=4, depth=3, size=16)
    torch.manual_seed(0)
    net = make_net(config).eval()
    card = {"method": "unet", "task": "colorize", "lift": None,
            "training": {"size": config.size, "steps": 0, "parameters": sum(p.numel() for p in net.parameters())}}
    save_model(folder, net, net.state_dict(), card)
    return str(folder)


@pytest.fixture
def gray_png(tmp_path) -> str:
    path = tmp_path / "gray.png"
    Image.fromarray(synthetic_rgb().mean(axis=2).astype(np.uint8)).save(path)
    return str(path)
