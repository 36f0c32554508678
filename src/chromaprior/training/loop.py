"""Training: one loop for every method of :mod:`chromaprior.models.registry`.

``train(config, out)`` trains, with Adam and an EMA of the weights, the network of the
config's method with that method's loss (:mod:`chromaprior.models.losses`): denoising score
matching for the score priors (``jgm``, ``jgm-divide``, ``rgb``, ``hgm-*``; ``jgm-guided`` conditioned on the frozen semantic colorizer), L2 (``unet``),
pix2pix (``cgan``) or cross-entropy over a*b* bins (``semantic``).

Every ``checkpoint_every`` steps it writes, atomically,

* ``model.safetensors`` + ``model.json``: the EMA weights and the model card, usable at once;
* ``state.pt``: raw weights, EMA, optimizer, step and RNG state, so ``resume=True``
  continues exactly where a killed run stopped;
* ``log.jsonl``: one JSON line per logged step.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from torch import nn

from ..core.errors import InputError
from ..models.checkpoint import save_model
from .data import ImageCache, list_images
from ..core.io import atomic_write
from ..core.lifts import Lift
from ..models.registry import METHODS, Method, geometric_sigmas, get_method
from .plots import plot_loss

__all__ = ["TrainConfig", "geometric_sigmas", "train", "make_net"]


TASKS = ("colorize", "restore")


@dataclass
class TrainConfig:
    """Recipe of a training run (saved in every checkpoint); defaults by method come from
    its :class:`~chromaprior.models.registry.Method` spec."""

    #: a name of :data:`chromaprior.models.registry.METHODS`
    method: str = "jgm"
    #: what the model is for: colorize or restore (demosaick/inpaint); empty: the method's default
    task: str = ""
    size: int = 64  #: training crop size (multiple of 8)
    batch_size: int = 16
    iterations: int = 10_000
    lr: float = 0.0  #: 0: the method's default (2e-4 for cgan as pix2pix, else 1e-3)
    lr_halve_every: int = 0  #: halve the learning rate every N steps (0: constant)
    ema: float = 0.999
    sigma_max: float = 1.0
    sigma_min: float = 0.01
    num_levels: int = 10
    ngf: int = 32
    beta: float = 1.0  #: weight of the gradient term in the Eq. 14 fusion
    depth: int = 5  #: U-Net levels (unet, cgan)
    l1_weight: float = 100.0  #: weight of the L1 term against the adversarial loss (cgan)
    #: 0: crops of any size from images shrunk to 1.5x the crop size, resized (colour priors);
    #: f > 0: fixed-size crops from images shrunk by f, never resized (restoration priors
    #: must learn the fine detail of photos at their own scale); None: 2 for restore, else 0
    downscale: float | None = None
    #: semantic: class rebalancing of the a*b* bins (Zhang et al.'s lambda; 0: plain cross-entropy)
    rebalance: float = 0.0
    #: semantic: first EfficientNet block that is trained (16: frozen encoder)
    train_from: int = 16
    #: draw every --data folder equally often, whatever its number of photos
    balance: bool = False
    #: start from the weights of this saved model of the same method (fine-tuning); weights
    #: it lacks (e.g. pretrained encoder blocks that are trained now) keep their fresh values
    init: str = ""
    #: jgm-guided: the semantic colorizer whose frozen features condition the score network
    #: (a model folder; empty: the shipped one)
    guide: str = ""
    seed: int = 0
    checkpoint_every: int = 500
    log_every: int = 50
    data: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        spec = get_method(self.method)
        self.task = self.task or spec.task
        if self.task not in spec.tasks:
            raise InputError(f"{self.method} is trained for {' or '.join(spec.tasks)}, not {self.task}")
        self.lr = self.lr or spec.lr
        if self.downscale is None:
            self.downscale = 2.0 if self.task == "restore" else 0.0
        if self.downscale < 0:
            raise InputError(f"downscale must be >= 0, got {self.downscale}")
        multiple = spec.multiple(self)
        if self.size % multiple or self.size < 16:
            raise InputError(f"size must be a multiple of {multiple} and >= 16 for {self.method}, got {self.size}")
        if self.batch_size < 1 or self.iterations < 1:
            raise InputError("batch_size and iterations must be positive")

    @property
    def spec(self) -> Method:
        return METHODS[self.method]

    def lift(self) -> Lift | None:
        """The lift of a score prior (None for a supervised colorizer)."""
        return self.spec.make_lift(self) if self.spec.make_lift else None


def make_net(config: TrainConfig) -> nn.Module:
    """The network a config trains (the generator for ``cgan``)."""
    return config.spec.make_net(config)


def _load_init(net: nn.Module, config: TrainConfig) -> None:
    """Load the weights of the model ``config.init`` into ``net`` (same method, or one of the
    method's ``init_from``; any key it lacks keeps its value, any key ``net`` lacks or of
    another shape is an error). Keys under the network's ``init_exclude`` prefixes are not
    loaded (jgm-guided: its frozen conditioning colorizer comes from ``--guide``, not ``--init``)."""
    from safetensors.torch import load_file

    from ..models.checkpoint import model_files, read_card

    card = read_card(config.init)
    if card.get("method") != config.method and card.get("method") not in config.spec.init_from:
        raise InputError(f"{config.init} is a {card.get('method')} model, not {config.method}")
    skip = tuple(getattr(net, "init_exclude", ()))
    weights = {k: v for k, v in load_file(str(model_files(config.init)[0])).items() if not (skip and k.startswith(skip))}
    own = net.state_dict()
    bad = [k for k, v in weights.items() if k not in own or own[k].shape != v.shape]
    if bad:
        raise InputError(f"{config.init} does not fit this network ({', '.join(bad[:3])})")
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in weights.items()}, strict=False)


def _distributed(device: torch.device) -> tuple[int, int, torch.device]:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1).

    Returns ``(rank, world_size, device)``; gloo on CPU, NCCL on CUDA (one GPU per rank).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def _resume_state(config: TrainConfig, out: Path, resume: bool, world: int) -> tuple[TrainConfig, dict | None]:
    """The config to train with and the saved state to continue (None: a new run); the
    one-line errors of a run that cannot start."""
    state_path = out / "state.pt"
    if resume and state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        config = TrainConfig(**{**state["config"], "iterations": config.iterations})
    elif not resume and state_path.exists():
        raise FileExistsError(f"{out} already holds a training run; pass --resume to continue it")
    elif not config.data:
        raise InputError(f"{out} holds no training run to resume; give --data to start one")
    else:
        state = None
    if config.batch_size % world:
        raise InputError(f"batch size {config.batch_size} does not split over {world} processes")
    return config, state


@dataclass
class _Run:
    """One training run's pieces: data, network, EMA weights, optimiser, loss, random streams
    and counters; :meth:`step` takes one optimiser step, :meth:`checkpoint` saves."""

    config: TrainConfig
    out: Path
    rank: int
    world: int
    device: torch.device
    cache: ImageCache
    net: nn.Module
    ema: dict
    opt: torch.optim.Optimizer
    loss_fn: object
    gen: torch.Generator
    step_count: int = 0
    seconds: float = 0.0
    model: nn.Module | None = None  #: ``net``, or its DistributedDataParallel wrapper
    lift: object = None

    @classmethod
    def set_up(cls, config: TrainConfig, out: Path, state: dict | None, rank: int, world: int,
               device: torch.device) -> "_Run":
        spec = config.spec
        paths = list_images(config.data)
        cache = ImageCache.build(paths, config.size, skip_gray=True, split="train", downscale=config.downscale,
                                 roots=config.data if config.balance else None)
        torch.manual_seed(config.seed)
        net = make_net(config).to(device)
        if config.init and state is None:
            _load_init(net, config)
        ema = {k: v.detach().clone() for k, v in net.state_dict().items()}
        opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=config.lr, betas=spec.betas)
        loss_fn = spec.make_loss(config, net, cache.sample, device, world > 1)
        gen = torch.Generator().manual_seed(config.seed + 1_000_003 * rank)
        run = cls(config, out, rank, world, device, cache, net, ema, opt, loss_fn, gen)
        if state is not None:
            run.restore(state)
        run.model = DistributedDataParallel(net) if world > 1 else net
        run.lift = config.lift()
        return run

    def restore(self, state: dict) -> None:
        """Continue from a saved state (:meth:`checkpoint`)."""
        if len(state["generators"]) != self.world:
            raise InputError(f"the run was trained on {len(state['generators'])} processes, not {self.world}")
        self.net.load_state_dict(state["model"])
        self.ema = {k: v.to(self.device) for k, v in state["ema"].items()}
        self.opt.load_state_dict(state["optimizer"])
        self.loss_fn.load_state_dict(state)
        self.gen.set_state(state["generators"][self.rank])
        if "torch_rng" in state:  # the global stream drives dropout (cgan)
            torch.set_rng_state(state["torch_rng"][self.rank])
        self.step_count, self.seconds = state["step"], state["seconds"]

    def step(self) -> float:
        """One optimiser step (learning-rate schedule, loss, EMA update); returns the loss."""
        config, net = self.config, self.net
        t0 = time.perf_counter()
        if config.lr_halve_every:
            for g in self.opt.param_groups:
                g["lr"] = config.lr * 0.5 ** (self.step_count // config.lr_halve_every)
        x = self.cache.sample(config.batch_size // self.world, self.gen).to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            loss = self.loss_fn(self.model, x, self.gen)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.loss_fn.after_step()
        decay = min(config.ema, (1 + self.step_count) / (10 + self.step_count))  # warm-up: no memory of the random init
        with torch.no_grad():
            for k, v in net.state_dict().items():
                if v.dtype.is_floating_point:
                    self.ema[k].mul_(decay).add_(v, alpha=1 - decay)
                else:
                    self.ema[k].copy_(v)
        self.step_count += 1
        self.seconds += time.perf_counter() - t0
        return loss.item()

    def card(self) -> dict:
        """The model card of the weights saved now."""
        config, net = self.config, self.net
        return {
            "method": config.method,
            "task": config.task,
            "lift": self.lift.to_config() if self.lift else None,
            "training": {
                **asdict(config),
                "data": [str(d) for d in config.data],
                "images": len(self.cache),
                "skipped_gray": self.cache.skipped_gray,
                "steps": self.step_count,
                "seconds": round(self.seconds, 1),
                "device": self.device.type,
                "processes": self.world,
                "parameters": sum(p.numel() for p in net.parameters()),
                "trained_parameters": sum(p.numel() for p in net.parameters() if p.requires_grad),
            },
        }

    def checkpoint(self) -> None:
        """Save the EMA weights with their card and the whole state (every rank's random
        streams, so that a resume continues each one exactly); rank 0 writes."""
        generators: list = [self.gen.get_state()]
        torch_rng: list = [torch.get_rng_state()]
        if self.world > 1:
            generators, torch_rng = [None] * self.world, [None] * self.world
            dist.all_gather_object(generators, self.gen.get_state())
            dist.all_gather_object(torch_rng, torch.get_rng_state())
        if self.rank:
            return
        save_model(self.out, self.net, self.ema, self.card())
        payload = {
            "config": asdict(self.config),
            "model": self.net.state_dict(),
            "ema": self.ema,
            "optimizer": self.opt.state_dict(),
            "generators": generators,
            "torch_rng": torch_rng,
            "step": self.step_count,
            "seconds": self.seconds,
            **self.loss_fn.state_dict(),
        }
        atomic_write(self.out / "state.pt", lambda f: torch.save(payload, f))
        plot_loss(self.out / "log.jsonl", self.out / "loss.png")


def _open_log(out: Path, step: int, rank: int):
    """The loss log (rank 0), without the lines logged after the checkpoint resumed from."""
    if rank:
        return None
    log_path = out / "log.jsonl"
    if log_path.exists():
        kept = [ln for ln in log_path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step]
        atomic_write(log_path, lambda f: Path(f).write_text("".join(ln + "\n" for ln in kept)))
    return log_path.open("a")


def train(
    config: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> Path:
    """Train (or resume) a model with its method's loss; returns the output folder.

    Under ``torchrun --nproc_per_node N`` the run is data-parallel
    (DistributedDataParallel): ``batch_size`` is the global batch, split over the ranks,
    each rank draws its own crops, and rank 0 writes the checkpoints. On CUDA the forward
    pass runs in bfloat16 autocast.
    """
    out = Path(out)
    rank, world, device = _distributed(torch.device(device))
    config, state = _resume_state(config, out, resume, world)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    run = _Run.set_up(config, out, state, rank, world, device)
    bar = tqdm(total=config.iterations, initial=run.step_count, disable=not progress or rank > 0, desc="train",
               unit="it")
    log = _open_log(out, run.step_count, rank)
    run.model.train()
    try:
        while run.step_count < config.iterations:
            loss = run.step()
            step = run.step_count
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")
            if log and (step % config.log_every == 0 or step == config.iterations):
                log.write(json.dumps({"step": step, "loss": loss, "seconds": round(run.seconds, 2)}) + "\n")
                log.flush()
            if step % config.checkpoint_every == 0 or step == config.iterations:
                run.checkpoint()
        if world > 1:  # no rank leaves while rank 0 still writes the last checkpoint
            dist.barrier()
    finally:
        bar.close()
        if log:
            log.close()
        if world > 1:  # an orderly exit: a rank that quits with the group open may abort (SIGABRT)
            dist.destroy_process_group()
    return out
