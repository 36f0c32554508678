"""The method registry: one :class:`Method` spec per method, read by training, checkpoints,
colorization, the command line, the web page and the evaluation.

Adding a method is adding one spec to :data:`METHODS`: its task, whether it is a score prior
(sampled with data consistency) or a supervised network (one call), its lift, how to build
its network from a training config or a model card, its loss, the size its inputs must be a
multiple of, its optimiser defaults and its shipped weights.

``config`` below is a :class:`chromaprior.training.loop.TrainConfig` (fields ``ngf``, ``depth``,
``num_levels``, ``sigma_max``, ``sigma_min``, ``beta``, ``train_from``, ``rebalance``, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..core.errors import InputError
from ..core.io import sha256_file
from ..core.lifts import ChannelCopyLift, GradientLift, IdentityLift, Lift, PixelScaleLift
from .checkpoint import load_weights, model_files, model_folder, read_card
from .losses import (BinCrossEntropy, DemosaickLoss, DSMLoss, GuidedDSMLoss, InpaintLoss, Loss, Pix2PixLoss,
                     RegressionLoss, rebalancing_weights)
from ..nets import ScoreNetConfig, UNet, UNetConfig, build_score_net
from ..nets.demosaick import DemosaickNet, DemosaickNetConfig
from ..nets.inpaint import InpaintNet, InpaintNetConfig
from ..nets.semantic import SemanticColorizer, SemanticConfig

__all__ = ["Method", "METHODS", "get_method", "geometric_sigmas", "colorize_methods", "restore_methods", "input_multiple",
           "shipped_model", "resolve_model_path", "load_model", "DEFAULT_METHODS", "DEFAULT_METHOD", "MAX_SAMPLES", "check_samples"]


def geometric_sigmas(sigma_max: float, sigma_min: float, levels: int) -> torch.Tensor:
    """Geometric noise ladder ``sigma_1 > ... > sigma_L``, ``(L,)``."""
    if not (sigma_max > sigma_min > 0) or levels < 2:
        raise ValueError(f"need sigma_max > sigma_min > 0 and >= 2 levels, got {sigma_max}, {sigma_min}, {levels}")
    return torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), levels))


@dataclass(frozen=True)
class Method:
    """Everything that is specific to one method.

    Attributes:
        name: the name used by ``--method`` and stored in model cards.
        tasks: the tasks it can be trained for; the first is its default.
        family: ``score`` (a noise-conditional prior, sampled with data consistency) or
            ``supervised`` (one network call from the gray image).
        summary: one line for help texts.
        make_lift: config -> the lift of a score prior (None for supervised methods).
        make_net: config -> a fresh network.
        load_net: model card -> the network the card describes (weights not loaded).
        make_loss: ``(config, net, sample, device, distributed) -> Loss``; ``sample(n, gen)``
            draws training batches (for losses that need data statistics).
        multiple: config -> the multiple the network's input size must be.
        lr, betas: Adam defaults.
        shipped: the folder name of its shipped weights (``chromaprior/weights/NAME``), or
            None; :func:`shipped_model` gives the path.
        init_from: other methods whose saved models may start a run of this one
            (``--init``): their weights are a subset of this method's network.
        conditional: a score prior whose network also takes a per-image condition
            (``net.condition(...)``, passed to the sampler once per image).
        vividness: its colour is read out of a predicted distribution with a vividness knob
            (:func:`chromaprior.nets.semantic.read_out`).
        steerable: its network takes the hints as input (:mod:`chromaprior.methods.steer`).
    """

    name: str
    tasks: tuple[str, ...]
    family: str
    summary: str
    make_net: Callable[[object], nn.Module]
    load_net: Callable[[dict], nn.Module]
    make_loss: Callable[..., Loss]
    multiple: Callable[[object], int] = lambda config: 8
    make_lift: Callable[[object], Lift] | None = None
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    shipped: str | None = None
    init_from: tuple[str, ...] = ()
    conditional: bool = False
    vividness: bool = False
    steerable: bool = False

    @property
    def supervised(self) -> bool:
        return self.family == "supervised"

    @property
    def sampled(self) -> bool:
        """A score prior: each seed draws another answer (several colourings per photo)."""
        return self.family == "score"

    @property
    def task(self) -> str:
        return self.tasks[0]


def _score_prior(name: str, tasks: tuple[str, ...], summary: str, lift: Callable[[object], Lift],
                 groups: Callable[[object], list[int]] = lambda c: [], multiple: int = 8,
                 shipped: str | None = None) -> Method:
    def make_net(config) -> nn.Module:
        net_cfg = ScoreNetConfig(in_channels=3 * lift(config).factor, ngf=config.ngf, num_levels=config.num_levels,
                                 groups=groups(config))
        return build_score_net(net_cfg, geometric_sigmas(config.sigma_max, config.sigma_min, config.num_levels))

    return Method(
        name, tasks, "score", summary, make_net=make_net,
        load_net=lambda card: build_score_net(ScoreNetConfig(**card["net"]), torch.tensor(card["sigmas"])),
        make_loss=lambda config, net, sample, device, distributed: DSMLoss(lift(config)),
        multiple=lambda config: multiple, make_lift=lift, shipped=shipped,
    )


def _named_guide(guide: str | Path | None) -> tuple[Path, str, str]:
    """The semantic colorizer a new model is built on: ``(folder, its name in the card, the
    SHA-256 of its weights)``; the shipped one (``guide`` empty) by its name (the package may
    move), any other by its absolute path."""
    shipped = shipped_model("semantic")
    folder = Path(guide) if guide else shipped
    ref = shipped.name if folder.resolve() == shipped.resolve() else str(folder.resolve())
    return folder, ref, sha256_file(model_files(folder)[0])


def _guided_net(config) -> nn.Module:
    """A guided JGM network whose frozen semantic colorizer is ``config.guide`` (default: the shipped one)."""
    from ..nets.guided import GuidedConfig, GuidedScoreNet

    folder, ref, digest = _named_guide(config.guide)
    net_cfg = GuidedConfig(ngf=config.ngf, num_levels=config.num_levels, guide=ref, guide_sha256=digest)
    return GuidedScoreNet(net_cfg, geometric_sigmas(config.sigma_max, config.sigma_min, config.num_levels),
                          _semantic_colorizer(folder))


def _guide(net_cfg) -> nn.Module:
    """The semantic colorizer a guided JGM is conditioned on (its ``guide``: the shipped one by
    name, or a folder), checked against the SHA-256 of the weights it was trained with: the
    score network learned *those* features, so another colorizer is an error, not a silent change."""
    shipped = shipped_model("semantic")
    folder = shipped if net_cfg.guide == shipped.name else Path(net_cfg.guide)
    try:
        weights = model_files(folder)[0]
    except FileNotFoundError:
        raise InputError(f"the {net_cfg.kind} model's semantic colorizer {folder} is missing") from None
    digest = sha256_file(weights) if weights.exists() else "(no weights file)"
    if digest != net_cfg.guide_sha256:
        how = ("bench/steer_cache.py + bench/steer_train.py" if net_cfg.kind == "steerable"
               else f"chromaprior train --method {net_cfg.kind} --init THIS_MODEL")
        raise InputError(f"the {net_cfg.kind} model was trained on the semantic colorizer {net_cfg.guide} with weights "
                         f"sha256 {net_cfg.guide_sha256[:16]}..., but {weights} is {digest[:16]}...: retrain it ({how})")
    return _semantic_colorizer(folder)


def _semantic_colorizer(folder: Path) -> nn.Module:
    """The semantic colorizer saved in ``folder`` (any other model is a one-line error)."""
    semantic, card = load_model(folder)
    if card.get("method") != "semantic":
        raise InputError(f"--guide {folder}: a semantic colorizer is needed, not a {card.get('method')} model")
    return semantic


def _load_guided(card: dict) -> nn.Module:
    from ..nets.guided import GuidedConfig, GuidedScoreNet

    config = GuidedConfig(**card["net"])
    return GuidedScoreNet(config, torch.tensor(card["sigmas"]), _guide(config))


def _load_steerable(card: dict) -> nn.Module:
    from ..nets.steerable import SteerableColorizer, SteerableConfig

    config = SteerableConfig(**card["net"])
    return SteerableColorizer(config, _guide(config))


def _steerable_net(config) -> nn.Module:
    """A fresh steerable colorizer on the semantic colorizer ``config.guide`` (default: the shipped one)."""
    from ..nets.steerable import SteerableColorizer, SteerableConfig

    folder, ref, digest = _named_guide(getattr(config, "guide", ""))
    return SteerableColorizer(SteerableConfig(guide=ref, guide_sha256=digest), _semantic_colorizer(folder))


def _steerable_loss(*args) -> Loss:
    raise InputError("the steerable colorizer trains on cached encoder features, not in this loop: "
                     "bench/steer_cache.py, then bench/steer_train.py (chromaprior.training.hints)")


def _unet(dropout: float) -> Callable[[object], nn.Module]:
    return lambda config: UNet(UNetConfig(ngf=config.ngf, depth=config.depth, dropout=dropout))


def _semantic_loss(config, net, sample, device, distributed) -> Loss:
    """Cross-entropy over a*b* bins; the bin prior of the data also sets the network's read-out."""
    prior = BinCrossEntropy.bin_prior(sample, net.centres.cpu())
    net.set_colour_prior(prior.to(net.log_weights.device))
    if config.rebalance <= 0:
        return BinCrossEntropy()
    return BinCrossEntropy(rebalancing_weights(prior, config.rebalance).to(device))


def _pix2pix_loss(config, net, sample, device, distributed) -> Loss:
    spec = METHODS["cgan"]
    return Pix2PixLoss(ndf=config.ngf, layers=3 if config.size >= 32 else 2, lr=config.lr, betas=spec.betas,
                       l1_weight=config.l1_weight, device=device, distributed=distributed)


_load_unet = lambda card: UNet(UNetConfig(**card["net"]))  # noqa: E731

METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        _score_prior("jgm", ("colorize",), "JGM: joint intensity+gradient score prior (9 channels)",
                     lambda c: GradientLift(c.beta), shipped="jgm-colorize"),
        Method("jgm-guided", ("colorize",), "score",
               "JGM guided by the gray photo and the frozen semantic colorizer's features (9 channels)",
               make_net=_guided_net, load_net=_load_guided,
               make_loss=lambda config, net, sample, device, distributed: GuidedDSMLoss(GradientLift(config.beta)),
               multiple=lambda config: 32, make_lift=lambda c: GradientLift(c.beta), init_from=("jgm",),
               conditional=True, shipped="jgm-guided-colorize"),
        _score_prior("jgm-divide", ("colorize",), "JGM-divide: separate networks for the image and gradient blocks",
                     lambda c: GradientLift(c.beta), groups=lambda c: [3, 6]),
        _score_prior("rgb", ("colorize", "restore"), "plain 3-channel score prior (ablation; HGM first stage)",
                     lambda c: IdentityLift()),
        _score_prior("hgm-pixel-scale", ("restore",), "HGM: pixel-scale lift (12 channels), demosaick/inpaint",
                     lambda c: PixelScaleLift(), multiple=16, shipped="hgm-restore"),
        _score_prior("hgm-channel-copy", ("restore",), "HGM: channel-copy lift (6 channels), demosaick/inpaint",
                     lambda c: ChannelCopyLift(2)),
        Method("unet", ("colorize",), "supervised", "U-Net L->ab regressor (L2)", make_net=_unet(0.0),
               load_net=_load_unet, make_loss=lambda *a: RegressionLoss(), multiple=lambda c: 2**c.depth,
               shipped="unet-colorize"),
        Method("cgan", ("colorize",), "supervised", "pix2pix: U-Net + PatchGAN, adversarial + 100 L1",
               make_net=_unet(0.5), load_net=_load_unet, make_loss=_pix2pix_loss, multiple=lambda c: 2**c.depth,
               lr=2e-4, betas=(0.5, 0.999), shipped="cgan-colorize"),
        Method("semantic", ("colorize",), "supervised",
               "ImageNet-pretrained EfficientNet-Lite0 + decoder over a*b* bins (cross-entropy)",
               make_net=lambda c: SemanticColorizer(SemanticConfig(width=c.ngf, train_from=c.train_from)),
               load_net=lambda card: SemanticColorizer(SemanticConfig(**card["net"])),
               make_loss=_semantic_loss, multiple=lambda c: 32, vividness=True, shipped="semantic-colorize"),
        Method("steerable", ("colorize",), "supervised",
               "the semantic colorizer with a second decoder that sees user hints (trained with simulated users "
               "on cached encoder features: chromaprior.hint_training)",
               make_net=_steerable_net, load_net=_load_steerable, make_loss=_steerable_loss,
               multiple=lambda c: 32, vividness=True, steerable=True, shipped="steerable-colorize"),
        Method("learned-demosaick", ("restore",), "supervised",
               "learned demosaicker: Menon2007 + a half-resolution CNN correction (--ngf channels, --depth convs), L1",
               make_net=lambda c: DemosaickNet(DemosaickNetConfig(ngf=c.ngf, depth=c.depth, leaky=0.1)),
               load_net=lambda card: DemosaickNet(DemosaickNetConfig(**card["net"])),
               make_loss=lambda *a: DemosaickLoss(), multiple=lambda c: 2, shipped="learned-demosaick"),
        Method("learned-inpaint", ("restore",), "supervised",
               "learned inpainter: biharmonic fill + a U-Net correction (--ngf channels, --depth downsamplings), "
               "random masks, L1",
               make_net=lambda c: InpaintNet(InpaintNetConfig(ngf=c.ngf, depth=c.depth)),
               load_net=lambda card: InpaintNet(InpaintNetConfig(**card["net"])),
               make_loss=lambda *a: InpaintLoss(), multiple=lambda c: 2**c.depth, shipped="learned-inpaint"),
    ]
}

#: the method of each task whose shipped weights are used when no model is named (CLI, web
#: page, API, :func:`resolve_model_path`)
DEFAULT_METHODS = {"colorize": "steerable", "restore": "hgm-pixel-scale"}
#: the default colorizer
DEFAULT_METHOD = DEFAULT_METHODS["colorize"]


def get_method(name: str) -> Method:
    """The spec of ``name``; ValueError naming the choices otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise InputError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}") from None


def shipped_model(method: str) -> Path:
    """The folder of the weights shipped for ``method`` inside the package; an
    :class:`InputError` for a method without shipped weights."""
    spec = get_method(method)
    if not spec.shipped:
        raise InputError(f"no weights are shipped for {method}; give --model (a model trained with it)")
    return Path(str(resources.files("chromaprior") / "weights" / spec.shipped))


def resolve_model_path(path: str | Path | None, task: str = "colorize") -> Path:
    """The folder (or ``.safetensors``/``.json`` file) of a model; ``None`` = the shipped
    weights of the task's default method (:data:`DEFAULT_METHODS`)."""
    return shipped_model(DEFAULT_METHODS[task]) if path is None else model_folder(path)


def load_model(path: str | Path | None, task: str = "colorize") -> tuple[nn.Module, dict]:
    """Rebuild the network of a saved model (``None``: the task's default); returns
    ``(net in eval mode, card)``."""
    folder = resolve_model_path(path, task)
    card = read_card(folder)
    try:  # semantic: the pretrained encoder, then ours
        net = get_method(card.get("method", "jgm")).load_net(card)
    except (ValueError, TypeError) as e:  # the card's network fields, or a pretrained weights file, are wrong
        if isinstance(e, InputError):
            raise
        raise InputError(str(e).splitlines()[0] if str(e) else f"{folder}: {type(e).__name__}") from e
    return load_weights(net, folder), card


#: the most colourings of one photo a call may ask for (``--samples``)
MAX_SAMPLES = 16


def check_samples(samples: int, method: str | Method | None = None, seed: int = 0) -> int:
    """The rule for several colourings of one photo: ``samples`` in ``1..MAX_SAMPLES``, and
    above 1 only for a sampled method (a score prior, whose seeds ``seed .. seed + samples -
    1`` give different colourings); a supervised method has one answer (``method`` None:
    only the count and the seeds are checked). The seeds must stay 64-bit
    (``seed + samples - 1 <= 2**63 - 1``). Returns ``samples``; raises :class:`InputError`
    (one line) otherwise."""
    if isinstance(samples, bool) or not isinstance(samples, int):
        raise InputError(f"samples must be a whole number of colourings, got {samples!r}")
    if not 1 <= samples <= MAX_SAMPLES:
        raise InputError(f"samples must be between 1 and {MAX_SAMPLES}, got {samples}")
    if seed + samples - 1 > 2**63 - 1:
        raise InputError(f"seeds {seed}..{seed + samples - 1} go beyond 2^63-1; give a smaller seed")
    spec = method if isinstance(method, Method) or method is None else get_method(method)
    if samples > 1 and spec is not None and not spec.sampled:
        raise InputError(f"{spec.name} gives one answer per photo: {samples} samples need a sampled method "
                         f"({', '.join(m for m in colorize_methods(False) if METHODS[m].sampled)})")
    return samples


def colorize_methods(shipped_only: bool = True) -> list[str]:
    """Names of the colorization methods (with shipped weights, by default)."""
    return [m.name for m in METHODS.values() if m.task == "colorize" and (m.shipped or not shipped_only)]


def restore_methods() -> list[str]:
    """Names of the methods that can be trained for restoration (demosaick, inpaint)."""
    return [m.name for m in METHODS.values() if "restore" in m.tasks]


def input_multiple(card: dict) -> int:
    """The multiple a saved model's input height and width must be: its method's rule
    (:attr:`Method.multiple`) applied to the network config in its card. The one place for
    it: training checks crop sizes with it, colorizers and restorers pad or resize to it."""
    from types import SimpleNamespace

    return int(get_method(card.get("method", "jgm")).multiple(SimpleNamespace(**card.get("net", {}))))
