"""Training: score priors by denoising score matching (DSM), and the supervised colorizers.

``train(config, out)`` trains, with Adam and an EMA of the weights,

* a noise-conditional score network on lifted images (Eq. 9 of the JGM paper, weight
  ``lambda(sigma) = sigma^2``): methods ``jgm``, ``jgm-divide``, ``rgb``, ``hgm-*``;
* a U-Net from the L* of the observed gray image to the a*b* of the photo: ``unet``
  (L2 loss) or ``cgan`` (pix2pix: PatchGAN discriminator, adversarial + 100 x L1 loss).

Every ``checkpoint_every`` steps it writes, atomically,

* ``model.safetensors`` + ``model.json``: the EMA weights and the model card, usable at once;
* ``state.pt``: raw weights, EMA, optimizer, step and RNG state, so ``resume=True``
  continues exactly where a killed run stopped;
* ``log.jsonl``: one JSON line per logged step.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .checkpoint import save_model
from .data import ImageCache, list_images
from .io import atomic_write
from . import operators
from .color import rgb_to_lab
from .lifts import ChannelCopyLift, GradientLift, IdentityLift, Lift, PixelScaleLift
from torch import nn

from .nets import AB_SCALE, L_SCALE, PatchDiscriminator, ScoreNetConfig, UNet, UNetConfig, build_score_net
from .nets.semantic import SemanticColorizer, SemanticConfig, soft_encode
from .plots import plot_loss

__all__ = ["TrainConfig", "geometric_sigmas", "dsm_loss", "lab_pair", "train", "make_net"]


def geometric_sigmas(sigma_max: float, sigma_min: float, levels: int) -> Tensor:
    """Geometric noise ladder ``sigma_1 > ... > sigma_L``, ``(L,)``."""
    if not (sigma_max > sigma_min > 0) or levels < 2:
        raise ValueError(f"need sigma_max > sigma_min > 0 and >= 2 levels, got {sigma_max}, {sigma_min}, {levels}")
    return torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), levels))


METHODS = ("jgm", "jgm-divide", "rgb", "hgm-pixel-scale", "hgm-channel-copy", "unet", "cgan", "semantic")
SUPERVISED = ("unet", "cgan", "semantic")
TASKS = ("colorize", "restore")


@dataclass
class TrainConfig:
    """Recipe of a score-prior training run (saved in every checkpoint)."""

    #: jgm (gradient lift, one joint 9-channel network), jgm-divide (gradient lift, separate
    #: networks for image and gradients), rgb (no lift: the 3-channel prior), hgm-pixel-scale
    #: (2x2 space-to-depth, 12 channels), hgm-channel-copy (6 channels), unet (L -> ab
    #: regression, L2) or cgan (pix2pix)
    method: str = "jgm"
    #: what the prior is for: colorize (jgm*, rgb) or restore (demosaick/inpaint; hgm-*);
    #: empty picks by method
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
    #: must learn the fine detail of photos at their own scale)
    downscale: float = 0.0
    #: semantic: class rebalancing of the a*b* bins (Zhang et al.'s lambda; 0: plain cross-entropy)
    rebalance: float = 0.0
    #: semantic: first EfficientNet block that is trained (16: frozen encoder)
    train_from: int = 16
    #: draw every --data folder equally often, whatever its number of photos
    balance: bool = False
    seed: int = 0
    checkpoint_every: int = 500
    log_every: int = 50
    data: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r} ({', '.join(METHODS)})")
        if not self.task:
            self.task = "restore" if self.method.startswith("hgm") else "colorize"
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r} ({', '.join(TASKS)})")
        if self.task != "colorize" and self.method in SUPERVISED:
            raise ValueError(f"{self.method} is a colorizer (task colorize)")
        self.lr = self.lr or (2e-4 if self.method == "cgan" else 1e-3)
        if self.downscale < 0:
            raise ValueError(f"downscale must be >= 0, got {self.downscale}")
        multiple = {"hgm-pixel-scale": 16, "unet": 2**self.depth, "cgan": 2**self.depth, "semantic": 32}.get(self.method, 8)
        if self.size % multiple or self.size < 16:
            raise ValueError(f"size must be a multiple of {multiple} and >= 16 for {self.method}, got {self.size}")
        if self.batch_size < 1 or self.iterations < 1:
            raise ValueError("batch_size and iterations must be positive")

    def lift(self) -> Lift:
        if self.method == "rgb":
            return IdentityLift()
        if self.method == "hgm-pixel-scale":
            return PixelScaleLift()
        if self.method == "hgm-channel-copy":
            return ChannelCopyLift(2)
        return GradientLift(self.beta)


def make_net(config: TrainConfig) -> nn.Module:
    """The network a config trains (the generator for ``cgan``)."""
    if config.method == "semantic":
        return SemanticColorizer(SemanticConfig(width=config.ngf, train_from=config.train_from))
    if config.method in SUPERVISED:
        dropout = 0.5 if config.method == "cgan" else 0.0
        return UNet(UNetConfig(ngf=config.ngf, depth=config.depth, dropout=dropout))
    lift = config.lift()
    groups = [3, 6] if config.method == "jgm-divide" else []
    net_cfg = ScoreNetConfig(in_channels=3 * lift.factor, ngf=config.ngf, num_levels=config.num_levels, groups=groups)
    return build_score_net(net_cfg, geometric_sigmas(config.sigma_max, config.sigma_min, config.num_levels))


def dsm_loss(net: nn.Module, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Denoising score matching loss, Eq. (9) with ``lambda(sigma) = sigma^2``.

    Args:
        z: clean lifted batch ``(B, C, H, W)``.
    Returns:
        scalar: ``mean |sigma s(z + sigma n, sigma) + n|^2 / 2`` over levels drawn uniformly.
    """
    sigmas = getattr(net, "module", net).sigmas  # the network itself, or wrapped in DDP
    levels = torch.randint(0, len(sigmas), (z.shape[0],), generator=generator).to(z.device)
    sigma = sigmas[levels].view(-1, 1, 1, 1)
    noise = torch.randn(z.shape, generator=generator).to(z)
    score = net(z + sigma * noise, levels)
    return 0.5 * ((sigma * score + noise) ** 2).mean()


def lab_pair(x: Tensor) -> tuple[Tensor, Tensor]:
    """Supervised colorizer data: input ``L(gray(x)) / 50 - 1`` ``(B, 1, H, W)`` (the L*
    of the gray image the colorizer will see) and target ``ab(x) / 110`` ``(B, 2, H, W)``."""
    gray = operators.gray().forward(x).expand(-1, 3, -1, -1)
    return rgb_to_lab(gray)[:, :1] / L_SCALE - 1, rgb_to_lab(x)[:, 1:] / AB_SCALE


def bin_prior(cache: ImageCache, centres: Tensor, crops: int = 512, seed: int = 12345) -> Tensor:
    """Empirical distribution ``(Q,)`` of the soft-encoded a*b* bins over random training crops."""
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros(len(centres))
    for start in range(0, crops, 64):
        ab = rgb_to_lab(cache.sample(min(64, crops - start), gen))[:, 1:]
        ab = torch.nn.functional.avg_pool2d(ab, 4)
        total += soft_encode(ab, centres).sum(dim=(0, 2, 3))
    return total / total.sum()


def rebalancing_weights(prior: Tensor, lam: float, sigma_bins: float = 0.5) -> Tensor:
    """Zhang et al.'s class weights ``(Q,)``: ``((1 - lam) p~ + lam / Q)^-1``, normalised so that
    ``E_p~[w] = 1``; ``p~`` is ``prior`` smoothed by a Gaussian (in bins), ``Q`` the bins seen."""
    n = int(round(len(prior) ** 0.5))
    t = torch.arange(-2, 3, dtype=torch.float32)
    g = torch.exp(-(t**2) / (2 * sigma_bins**2))
    g = (g / g.sum()).view(1, 1, 1, -1)
    smooth = torch.nn.functional.conv2d(prior.view(1, 1, n, n), g, padding=(0, 2))
    smooth = torch.nn.functional.conv2d(smooth, g.transpose(-1, -2), padding=(2, 0)).flatten()
    seen = prior > 0
    w = torch.where(seen, 1.0 / ((1 - lam) * smooth + lam / int(seen.sum())), torch.zeros_like(prior))
    return w / (smooth * w).sum()


def semantic_loss(net: nn.Module, x: Tensor, weights: Tensor | None = None) -> Tensor:
    """Cross-entropy between the predicted a*b* bins and the soft-encoded truth (5 nearest bins,
    sigma 5) at stride 4, each pixel weighted by ``weights`` of its most likely bin (rebalancing).

    Args:
        x: colour photos ``(B, 3, H, W)`` in ``[0, 1]``, H and W multiples of 4.
    """
    gray = operators.gray().forward(x)
    logits = net(gray)
    ab = torch.nn.functional.avg_pool2d(rgb_to_lab(x)[:, 1:], 4)
    target = soft_encode(ab, getattr(net, "module", net).centres)
    ce = -(target * torch.log_softmax(logits.float(), dim=1)).sum(dim=1)
    if weights is not None:
        ce = ce * weights.to(ce)[target.argmax(dim=1)]
    return ce.mean()


def _pix2pix_generator_loss(critic: nn.Module, l_in: Tensor, fake: Tensor, ab: Tensor, l1_weight: float) -> Tensor:
    """pix2pix generator objective: fool the PatchGAN (non-saturating BCE) + ``l1_weight`` x L1."""
    logits = critic(torch.cat([l_in, fake], dim=1))
    adversarial = nn.functional.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    return adversarial + l1_weight * (fake - ab).abs().mean()


def _pix2pix_discriminator_step(critic: nn.Module, opt: torch.optim.Optimizer, l_in: Tensor, fake: Tensor,
                                ab: Tensor) -> None:
    """One PatchGAN update on real ``[L, ab]`` and generated ``[L, G(L)]`` pairs (the mean of the real and fake BCE terms, as pix2pix halves their sum)."""
    pairs = torch.cat([torch.cat([l_in, ab], dim=1), torch.cat([l_in, fake], dim=1)])  # one pass (DDP)
    logits = critic(pairs)
    target = torch.cat([torch.ones_like(logits[: len(l_in)]), torch.zeros_like(logits[len(l_in) :])])
    loss = nn.functional.binary_cross_entropy_with_logits(logits, target)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


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
    """Train (or resume) a score prior; returns the output folder.

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
    else:
        state = None
    if config.batch_size % world:
        raise ValueError(f"batch size {config.batch_size} does not split over {world} processes")
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)

    paths = list_images(config.data)
    cache = ImageCache.build(paths, config.size, skip_gray=True, split="train", downscale=config.downscale,
                             roots=config.data if config.balance else None)
    torch.manual_seed(config.seed)
    net = make_net(config).to(device)
    ema = {k: v.detach().clone() for k, v in net.state_dict().items()}
    betas = (0.5, 0.999) if config.method == "cgan" else (0.9, 0.999)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=config.lr, betas=betas)
    class_weights = None
    if config.method == "semantic" and config.rebalance > 0:
        class_weights = rebalancing_weights(bin_prior(cache, net.centres), config.rebalance).to(device)
    disc = opt_d = None
    if config.method == "cgan":
        disc = PatchDiscriminator(ndf=config.ngf, layers=3 if config.size >= 32 else 2).to(device)  # 70x70 patches
        opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr, betas=betas)
    gen = torch.Generator().manual_seed(config.seed + 1_000_003 * rank)
    step, seconds = 0, 0.0
    if state is not None:
        if len(state["generators"]) != world:
            raise ValueError(f"the run was trained on {len(state['generators'])} processes, not {world}")
        net.load_state_dict(state["model"])
        ema = {k: v.to(device) for k, v in state["ema"].items()}
        opt.load_state_dict(state["optimizer"])
        if disc is not None:
            disc.load_state_dict(state["discriminator"])
            opt_d.load_state_dict(state["discriminator_optimizer"])
        gen.set_state(state["generators"][rank])
        if "torch_rng" in state:  # the global stream drives dropout (cgan)
            torch.set_rng_state(state["torch_rng"][rank])
        step, seconds = state["step"], state["seconds"]
    model = DistributedDataParallel(net) if world > 1 else net
    critic = DistributedDataParallel(disc) if world > 1 and disc is not None else disc
    lift = None if config.method in SUPERVISED else config.lift()
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
        }
        if disc is not None:
            payload |= {"discriminator": disc.state_dict(), "discriminator_optimizer": opt_d.state_dict()}
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
                if lift is not None:
                    loss = dsm_loss(model, lift.lift(x), gen)
                elif config.method == "semantic":
                    loss = semantic_loss(model, x, class_weights)
                else:
                    l_in, ab = lab_pair(x)
                    fake = model(l_in)
                    if critic is None:
                        loss = ((fake - ab) ** 2).mean()
                    else:
                        loss = _pix2pix_generator_loss(critic, l_in, fake, ab, config.l1_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if critic is not None:
                _pix2pix_discriminator_step(critic, opt_d, l_in, fake.detach(), ab)
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
    finally:
        bar.close()
        if log:
            log.close()
    return out
