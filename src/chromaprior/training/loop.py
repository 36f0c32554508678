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
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)

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
    step, seconds = 0, 0.0
    if state is not None:
        if len(state["generators"]) != world:
            raise InputError(f"the run was trained on {len(state['generators'])} processes, not {world}")
        net.load_state_dict(state["model"])
        ema = {k: v.to(device) for k, v in state["ema"].items()}
        opt.load_state_dict(state["optimizer"])
        loss_fn.load_state_dict(state)
        gen.set_state(state["generators"][rank])
        if "torch_rng" in state:  # the global stream drives dropout (cgan)
            torch.set_rng_state(state["torch_rng"][rank])
        step, seconds = state["step"], state["seconds"]
    model = DistributedDataParallel(net) if world > 1 else net
    lift = config.lift()
    local_batch = config.batch_size // world

    def card() -> dict:
        return {
            "method": config.method,
            "task": config.task,
            "lift": lift.to_config() if lift else None,
            "training": {
                **asdict(config),
                "data": [str(d) for d in config.data],
                "images": len(cache),
                "skipped_gray": cache.skipped_gray,
                "steps": step,
                "seconds": round(seconds, 1),
                "device": device.type,
                "processes": world,
                "parameters": sum(p.numel() for p in net.parameters()),
                "trained_parameters": sum(p.numel() for p in net.parameters() if p.requires_grad),
            },
        }

    def checkpoint() -> None:
        generators: list = [gen.get_state()]
        torch_rng: list = [torch.get_rng_state()]
        if world > 1:  # every rank's streams, so a resume continues each one exactly
            generators, torch_rng = [None] * world, [None] * world
            dist.all_gather_object(generators, gen.get_state())
            dist.all_gather_object(torch_rng, torch.get_rng_state())
        if rank:
            return
        save_model(out, net, ema, card())
        payload = {
            "config": asdict(config),
            "model": net.state_dict(),
            "ema": ema,
            "optimizer": opt.state_dict(),
            "generators": generators,
            "torch_rng": torch_rng,
            "step": step,
            "seconds": seconds,
            **loss_fn.state_dict(),
        }
        atomic_write(state_path, lambda f: torch.save(payload, f))
        plot_loss(out / "log.jsonl", out / "loss.png")

    bar = tqdm(total=config.iterations, initial=step, disable=not progress or rank > 0, desc="train", unit="it")
    log_path = out / "log.jsonl"
    if rank == 0 and log_path.exists():  # drop lines logged after the checkpoint we resume from
        kept = [ln for ln in log_path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step]
        atomic_write(log_path, lambda f: Path(f).write_text("".join(ln + "\n" for ln in kept)))
    log = log_path.open("a") if rank == 0 else None
    model.train()
    try:
        while step < config.iterations:
            t0 = time.perf_counter()
            if config.lr_halve_every:
                for g in opt.param_groups:
                    g["lr"] = config.lr * 0.5 ** (step // config.lr_halve_every)
            x = cache.sample(local_batch, gen).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = loss_fn(model, x, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_fn.after_step()
            decay = min(config.ema, (1 + step) / (10 + step))  # warm-up: no memory of the random init
            with torch.no_grad():
                for k, v in net.state_dict().items():
                    if v.dtype.is_floating_point:
                        ema[k].mul_(decay).add_(v, alpha=1 - decay)
                    else:
                        ema[k].copy_(v)
            step += 1
            seconds += time.perf_counter() - t0
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if log and (step % config.log_every == 0 or step == config.iterations):
                log.write(json.dumps({"step": step, "loss": loss.item(), "seconds": round(seconds, 2)}) + "\n")
                log.flush()
            if step % config.checkpoint_every == 0 or step == config.iterations:
                checkpoint()
        if world > 1:  # no rank leaves while rank 0 still writes the last checkpoint
            dist.barrier()
    finally:
        bar.close()
        if log:
            log.close()
        if world > 1:  # an orderly exit: a rank that quits with the group open may abort (SIGABRT)
            dist.destroy_process_group()
    return out
