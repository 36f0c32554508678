"""Helpers of the learned-demosaicker and raw tests: tiny learned demosaickers and minimal
CFA DNG files (:mod:`chromaprior.evaluation.dng`; no files from ../shared, no camera samples)."""

from __future__ import annotations

import torch

from chromaprior.evaluation.dng import CFA_CODES, XTRANS, bayer_colours, write_dng  # noqa: F401


def tiny_learned(folder, *, random: bool = True, ngf: int = 4, depth: int = 3, seed: int = 0) -> str:
    """Save a ``learned-demosaick`` model with a tiny network into ``folder``: random weights
    everywhere (``random``; not Menon at all, so that sample keeping and tiling are really
    tested), or as initialised (the correction is zero: the network is Menon2007)."""
    from chromaprior.models.checkpoint import save_model
    from chromaprior.training.loop import TrainConfig, make_net

    torch.manual_seed(seed)
    net = make_net(TrainConfig(method="learned-demosaick", ngf=ngf, depth=depth, size=16))
    if random:
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.3)
    card = {"method": "learned-demosaick", "task": "restore", "lift": None,
            "training": {"size": 16, "steps": 0, "parameters": sum(p.numel() for p in net.parameters())}}
    save_model(folder, net, net.state_dict(), card)
    return str(folder)
