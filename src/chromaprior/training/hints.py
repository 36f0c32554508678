"""Training the steerable colorizer on cached encoder features (fits a 2-core CPU).

Only the convolutions that read the hints are trained (the semantic colorizer stays
frozen, :mod:`chromaprior.nets.steerable`). The frozen encoder's features of a gray crop do
not depend on the hints, so they are computed once (:func:`build_feature_cache`: random crops of the training split, flipped,
float16 on disk with the crop's 8-bit colour) and the hint convolutions are trained on that
cache (:func:`train_steerable`), with new simulated users every step
(:func:`training_hints`, Zhang et al. 2017: a geometric number of hints, p = 1/8 (none
with probability 1/8), square patches of 1-9 px carrying the patch's mean a*b*, and
strokes along random paths). The loss is the semantic colorizer's: cross-entropy
between the predicted a*b* bins and the soft-encoded truth at stride 4.

A run writes, atomically, every ``checkpoint_every`` steps: ``model.safetensors`` +
``model.json`` (usable at once) and ``state.pt`` (weights, optimizer, step, RNG) so
``resume=True`` continues a killed run exactly, and ``log.jsonl``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch import Tensor

from ..core import operators
from ..core.color import rgb_to_lab
from ..core.errors import InputError
from ..core.io import atomic_write
from ..models.checkpoint import save_model
from ..models.losses import bin_cross_entropy
from ..models.registry import _steerable_net
from ..nets.efficientnet import STAGE_CHANNELS
from ..nets.steerable import SteerableColorizer, hint_planes
from .data import ImageCache, list_images

__all__ = ["training_hints", "build_feature_cache", "FeatureCache", "HintTrainConfig", "train_steerable",
           "steerable_from_guide"]

_STRIDES = (4, 8, 16, 32)


def _geometric(p: float, generator: torch.Generator, cap: int) -> int:
    u = float(torch.rand((), generator=generator))
    return min(cap, int(math.floor(math.log(max(u, 1e-12)) / math.log(1 - p))))


def _patch(ab: Tensor, keep: Tensor, out: Tensor, y: int, x: int, s: int) -> None:
    """Mark the ``s x s`` patch at ``(y, x)`` (its top left) with its mean a*b*."""
    out[:, y:y + s, x:x + s] = ab[:, y:y + s, x:x + s].mean(dim=(1, 2), keepdim=True)
    keep[:, y:y + s, x:x + s] = 1


def training_hints(ab: Tensor, generator: torch.Generator, p: float = 1 / 8, stroke_share: float = 0.25,
                   cap: int = 64) -> Tensor:
    """Simulated users for training: hint planes ``(B, 3, H, W)`` (:func:`hint_planes`) for
    the true a*b* ``(B, 2, H, W)``: per image a geometric(``p``) number of hints (0 with
    probability ``p``), each a square patch of 1-9 px at a uniform spot with the patch's mean
    a*b*, or (share ``stroke_share``) a stroke: a random path of patches, each with its own mean."""
    b, _, height, width = ab.shape
    keep = torch.zeros(b, 1, height, width)
    colours = torch.zeros(b, 2, height, width)
    rand = lambda lo, hi: int(torch.randint(lo, hi + 1, (), generator=generator))  # noqa: E731
    for i in range(b):
        for _ in range(_geometric(p, generator, cap)):
            s = rand(1, min(9, height, width))
            y, x = rand(0, height - s), rand(0, width - s)
            if float(torch.rand((), generator=generator)) >= stroke_share:
                _patch(ab[i], keep[i], colours[i], y, x, s)
                continue
            angle = float(torch.rand((), generator=generator)) * 2 * math.pi
            for _ in range(rand(4, 24)):
                _patch(ab[i], keep[i], colours[i], y, x, s)
                angle += float(torch.randn((), generator=generator)) * 0.5
                y = min(height - s, max(0, round(y + 2 * math.sin(angle))))
                x = min(width - s, max(0, round(x + 2 * math.cos(angle))))
    return hint_planes(keep, colours)


def steerable_from_guide(guide: str | Path | None = None, vividness: float = 0.6) -> SteerableColorizer:
    """A new steerable colorizer on the semantic colorizer ``guide`` (None: the shipped one),
    its card naming that colorizer and the SHA-256 of its weights."""
    net = _steerable_net(SimpleNamespace(guide=str(guide) if guide else ""))
    net.config.vividness = vividness
    return net


def _memmap(folder: Path, name: str, shape: tuple, dtype, mode: str) -> np.memmap:
    return np.lib.format.open_memmap(folder / f"{name}.npy", mode=mode, dtype=dtype, shape=shape if mode == "w+" else None)


def build_feature_cache(folder: str | Path, data: list[str], crops: int, size: int = 128, seed: int = 0,
                        guide: str | Path | None = None, batch: int = 64, log=print, split: str = "train",
                        device: str = "cpu") -> None:
    """Encode ``crops`` random training crops (``size`` px, flipped, training split,
    every ``data`` folder drawn equally often) with the frozen encoder of the semantic
    colorizer ``guide``; writes ``rgb.npy`` (uint8) and ``s4..s32.npy`` (float16) and
    ``cache.json`` into ``folder`` (the crop is quantised to 8 bits first, and its features
    are those of the quantised crop's gray)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if size % 32:
        raise InputError(f"size must be a multiple of 32, got {size}")
    net = steerable_from_guide(guide).to(device)
    images = ImageCache.build(list_images(data), size, split=split, roots=data)
    log(f"{len(images)} training photos decoded ({images.skipped_gray} near-gray skipped)")
    rgb = _memmap(folder, "rgb", (crops, 3, size, size), np.uint8, "w+")
    feats = [_memmap(folder, f"s{s}", (crops, c, size // s, size // s), np.float16, "w+")
             for s, c in zip(_STRIDES, STAGE_CHANNELS[1:])]
    gen, start = torch.Generator().manual_seed(seed), time.time()
    with torch.no_grad():
        for lo in range(0, crops, batch):
            n = min(batch, crops - lo)
            q = torch.round(images.sample(n, gen) * 255)
            rgb[lo:lo + n] = q.to(torch.uint8).numpy()
            for store, f in zip(feats, net.encode(operators.gray().forward(q / 255).to(device))):
                store[lo:lo + n] = f.half().cpu().numpy()
            if lo // batch % 20 == 0:
                log(f"{lo + n}/{crops} crops, {time.time() - start:.0f} s")
    for m in [rgb, *feats]:
        m.flush()
    meta = {"crops": crops, "size": size, "seed": seed, "data": data, "split": split, "images": len(images),
            "guide": net.config.guide, "guide_sha256": net.config.guide_sha256}
    atomic_write(folder / "cache.json", lambda f: Path(f).write_text(json.dumps(meta, indent=2) + "\n"))


class FeatureCache:
    """A cache written by :func:`build_feature_cache`, read through memory maps."""

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        try:
            self.meta = json.loads((folder / "cache.json").read_text())
        except (OSError, json.JSONDecodeError):
            raise InputError(f"{folder}: not a feature cache (no readable cache.json)") from None
        self.rgb = _memmap(folder, "rgb", (), np.uint8, "r")
        self.feats = [_memmap(folder, f"s{s}", (), np.float16, "r") for s in _STRIDES]

    def __len__(self) -> int:
        return int(self.meta["crops"])

    def sample(self, batch: int, generator: torch.Generator) -> tuple[list[Tensor], Tensor]:
        """Random crops: their features (float32, strides 4..32) and colours ``(B, 3, S, S)`` in [0, 1]."""
        idx = np.sort(torch.randint(len(self), (batch,), generator=generator).numpy())
        feats = [torch.from_numpy(np.asarray(f[idx])).float() for f in self.feats]
        return feats, torch.from_numpy(np.asarray(self.rgb[idx])).float() / 255


def hint_loss(net: SteerableColorizer, feats: list[Tensor], rgb: Tensor, generator: torch.Generator) -> Tensor:
    """Cross-entropy of the hinted path's bins against the soft-encoded truth at stride 4,
    with fresh simulated users (:func:`training_hints`)."""
    ab = rgb_to_lab(rgb)[:, 1:]
    logits = net.hinted(feats, training_hints(ab.cpu(), generator).to(ab.device))
    return bin_cross_entropy(logits, ab, net.centres)


@dataclass
class HintTrainConfig:
    """Recipe of a steerable-colorizer run (saved in its card)."""

    cache: str = ""
    iterations: int = 10_000
    batch_size: int = 32
    lr: float = 3e-3
    lr_halve_every: int = 0
    vividness: float = 0.6
    seed: int = 0
    checkpoint_every: int = 250
    log_every: int = 50
    device: str = "cpu"


def train_steerable(config: HintTrainConfig, out: str | Path, resume: bool = False, log=print) -> Path:
    """Train the hint convolutions on the feature cache ``config.cache``; returns ``out``."""
    out = Path(out)
    cache = FeatureCache(config.cache)
    net = steerable_from_guide(None if cache.meta["guide"] == "semantic-colorize" else cache.meta["guide"],
                               config.vividness).to(config.device)
    if net.config.guide_sha256 != cache.meta["guide_sha256"]:
        raise InputError(f"{config.cache}: the cache was encoded with other semantic-colorizer weights; rebuild it")
    opt = torch.optim.Adam(net.hint_parameters(), lr=config.lr)
    gen, step, seconds = torch.Generator().manual_seed(config.seed), 0, 0.0
    state_path = out / "state.pt"
    if resume and state_path.exists():
        state = torch.load(state_path, weights_only=False, map_location=config.device)
        net.load_state_dict(state["net"], strict=False)
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"].cpu())
        step, seconds = state["step"], state["seconds"]
    out.mkdir(parents=True, exist_ok=True)
    net.train()
    while step < config.iterations:
        t0 = time.time()
        for group in opt.param_groups:
            group["lr"] = config.lr * 0.5 ** (step // config.lr_halve_every if config.lr_halve_every else 0)
        feats, rgb = cache.sample(config.batch_size, gen)
        loss = hint_loss(net, [f.to(config.device) for f in feats], rgb.to(config.device), gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step, seconds = step + 1, seconds + time.time() - t0
        if step % config.log_every == 0:
            line = json.dumps({"step": step, "loss": round(loss.item(), 4), "seconds": round(seconds, 1)})
            with open(out / "log.jsonl", "a") as f:
                f.write(line + "\n")
            log(line)
        if step % config.checkpoint_every == 0 or step == config.iterations:
            _checkpoint(net, opt, gen, step, seconds, config, cache, out)
    return out


def _checkpoint(net, opt, gen, step, seconds, config, cache, out: Path) -> None:
    trained = {k: v for k, v in net.state_dict().items() if not k.startswith(net.frozen_prefixes())}
    card = {"method": "steerable", "task": "colorize", "lift": None, "work_size": 192,
            "training": dict(asdict(config), steps=step, seconds=round(seconds, 1), cache_meta=cache.meta,
                             size=cache.meta["size"], images=cache.meta["images"],
                             parameters=sum(p.numel() for p in net.hint_parameters()))}
    save_model(out, net, trained, card)
    atomic_write(out / "state.pt", lambda f: torch.save({"net": trained, "opt": opt.state_dict(), "gen": gen.get_state(),
                                                        "step": step, "seconds": seconds}, f))
