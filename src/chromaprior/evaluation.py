"""Benchmark harness: one seeded run, trivial baselines beside ours, NFE and seconds.

Each evaluation image is resized (short side) and centre-cropped to ``size x size`` (or
kept whole, ``size=None``, the standard for demosaicking), degraded by the task's
operator, restored, quantised to 8 bits as a saved file would be, and scored against
the ground truth. No sample is ever chosen by comparing it with the ground truth.

Baselines: the gray image for colorization; bilinear, Malvar 2004 and Menon 2007 for
demosaicking; biharmonic and Telea for inpainting (:mod:`chromaprior.baselines`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import operators
from .colorize import Colorizer
from .restore import Restorer
from .io import atomic_write, read_image
from .metrics import FeatureNet, colorfulness, frechet_distance, psnr, ssim

__all__ = [
    "load_eval_image",
    "quantize",
    "MethodScores",
    "evaluate_colorize",
    "evaluate_demosaick",
    "evaluate_inpaint",
    "missing_mask",
    "MASKS",
    "format_table",
    "write_report",
]


def load_eval_image(path: Path, size: int | None) -> Tensor:
    """``(1, 3, size, size)`` in ``[0, 1]``: short side resized to ``size``, centre crop;
    ``size=None``: the whole image."""
    pic = read_image(path)
    a = pic.pixels if pic.is_color else np.repeat(pic.pixels[..., None], 3, axis=2)
    x = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float()
    if size is None:
        return quantize(x)
    h, w = x.shape[-2:]
    s = size / min(h, w)
    nh, nw = max(size, round(h * s)), max(size, round(w * s))
    x = F.interpolate(x, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
    top, left = (nh - size) // 2, (nw - size) // 2
    return quantize(x[..., top : top + size, left : left + size])


def quantize(x: Tensor) -> Tensor:
    """Round to 8 bits, as writing a PNG would."""
    return torch.round(x.clamp(0, 1) * 255) / 255


@dataclass
class MethodScores:
    name: str
    nfe: int = 0
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    colorfulness: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    features: list[Tensor] = field(default_factory=list)

    def add(self, out: Tensor, ref: Tensor, seconds: float, features: FeatureNet | None = None, border: int = 0) -> None:
        if features is not None:
            self.features.append(features(out))
        if border:
            out, ref = out[..., border:-border, border:-border], ref[..., border:-border, border:-border]
        self.psnr.append(float(psnr(out, ref)))
        self.ssim.append(float(ssim(out, ref)))
        self.colorfulness.append(float(colorfulness(out)))
        self.seconds.append(seconds)

    def summary(self, reference_features: list[Tensor] | None = None) -> dict:
        extra = {}
        if reference_features:
            extra["fid"] = frechet_distance(torch.cat(self.features), torch.cat(reference_features))
        return extra | {
            "method": self.name,
            "psnr": float(np.mean(self.psnr)),
            "ssim": float(np.mean(self.ssim)),
            "colorfulness": float(np.mean(self.colorfulness)),
            "nfe": self.nfe,
            "seconds_per_image": float(np.mean(self.seconds)),
            "images": len(self.psnr),
        }


def evaluate_colorize(
    paths: list[Path],
    colorizers: dict[str, tuple[Colorizer, str]],
    *,
    size: int = 128,
    seed: int = 0,
    limit: int | None = None,
    features: FeatureNet | None = None,
    observe: operators.Operator | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Colorization benchmark.

    Args:
        paths: colour ground-truth images.
        colorizers: ``{row name: (colorizer, preset name)}``.
        size: evaluation size (square).
        seed: the one seed (image ``i`` uses ``seed + i``).
        limit: evaluate only the first ``limit`` images (sorted by name).
        features: a FID feature network; adds a ``fid`` column (against the ground truths).
        observe: the operator that makes the gray inputs from the ground truth (default:
            the mean, JGM's); a colorizer assuming another one is then "blind".
    Returns:
        ``{"rows": [...], "ground_truth_colorfulness": ..., "images": n, ...}``.
    """
    paths = list(paths)[:limit]
    if not paths:
        raise ValueError("no images to evaluate")
    observe = observe or operators.gray()
    gray_row = MethodScores("gray (baseline)")
    rows = {name: MethodScores(name, nfe=col.nfe(preset)) for name, (col, preset) in colorizers.items()}
    gt_color, gt_features = [], []
    for i, path in enumerate(paths):
        ref = load_eval_image(path, size)
        gt_color.append(float(colorfulness(ref)))
        if features is not None:
            gt_features.append(features(ref))
        y = quantize(observe.forward(ref))
        for name, (col, preset) in colorizers.items():
            t0 = time.perf_counter()
            out = col(y, preset=preset, seed=seed + i)
            rows[name].add(quantize(out.cpu()), ref, time.perf_counter() - t0, features)
        gray_row.add(y.expand(-1, 3, -1, -1), ref, 0.0, features)
        if progress:
            progress(i + 1, len(paths))
    return {
        "task": "colorize",
        "data": str(Path(paths[0]).parent),
        "size": size,
        "seed": seed,
        "images": len(paths),
        "ground_truth_colorfulness": float(np.mean(gt_color)),
        "rows": [r.summary(gt_features) for r in [gray_row, *rows.values()]],
    }


#: ``--missing`` choices of the inpainting benchmark
MASKS = ("0.5", "0.8", "block")


def missing_mask(height: int, width: int, kind: str, generator: torch.Generator) -> Tensor:
    """``(1, 1, H, W)`` bool, true = missing: a random fraction of pixels (``"0.5"``,
    ``"0.8"``) or a centred block of half the height and width (``"block"``)."""
    if kind == "block":
        m = torch.zeros(1, 1, height, width, dtype=torch.bool)
        m[..., height // 4 : height // 4 + height // 2, width // 4 : width // 4 + width // 2] = True
        return m
    if kind not in MASKS:
        raise ValueError(f"unknown mask {kind!r}; choose one of {', '.join(MASKS)}")
    return torch.rand(1, 1, height, width, generator=generator) < float(kind)


def _evaluate_restoration(
    task: str,
    paths: list[Path],
    methods: dict[str, tuple[int, Callable[[Tensor, object, int], Tensor]]],
    degrade: Callable[[Tensor, int], tuple[Tensor, object]],
    *,
    size: int | None,
    seed: int,
    limit: int | None,
    border: int,
    progress: Callable[[int, int], None] | None,
    **info,
) -> dict:
    """Shared loop: ``degrade(ref, i) -> (y, aux)``; each method ``(nfe, f(y, aux, seed))``."""
    paths = list(paths)[:limit]
    if not paths:
        raise ValueError("no images to evaluate")
    rows = {name: MethodScores(name, nfe=nfe) for name, (nfe, _) in methods.items()}
    for i, path in enumerate(paths):
        ref = load_eval_image(path, size)
        if border and 2 * border >= min(ref.shape[-2:]):
            raise ValueError(f"border {border} leaves nothing of a {tuple(ref.shape[-2:])} image")
        y, aux = degrade(ref, seed + i)
        for name, (_, fn) in methods.items():
            t0 = time.perf_counter()
            out = fn(y, aux, seed + i)
            rows[name].add(quantize(out.cpu()), ref, time.perf_counter() - t0, border=border)
        if progress:
            progress(i + 1, len(paths))
    return {
        "task": task,
        "data": str(Path(paths[0]).parent),
        "size": size or "full",
        "seed": seed,
        "images": len(paths),
        "border": border,
        **info,
        "rows": [r.summary() for r in rows.values()],
    }


def evaluate_demosaick(
    paths: list[Path],
    restorers: dict[str, tuple[Restorer, str]],
    *,
    pattern: str = "RGGB",
    size: int | None = None,
    border: int = 0,
    seed: int = 0,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Demosaicking benchmark: CPSNR/SSIM (``border`` pixels cropped on each side) of
    bilinear, Malvar 2004, Menon 2007 and ``restorers`` (``{row: (restorer, preset)}``)."""
    from .baselines import DEMOSAICKERS

    methods = {name: (0, lambda y, p, s, f=f: f(y, p)) for name, f in DEMOSAICKERS.items()}
    for name, (r, preset) in restorers.items():
        methods[name] = (r.nfe(preset), lambda y, p, s, r=r, preset=preset: r.demosaick(y, p, preset, s))
    cfa = lambda ref, _: (operators.bayer(pattern, *ref.shape[-2:]).forward(ref), pattern)  # noqa: E731
    return _evaluate_restoration("demosaick", paths, methods, cfa, size=size, seed=seed, limit=limit, border=border,
                                 progress=progress, pattern=pattern)


def evaluate_inpaint(
    paths: list[Path],
    restorers: dict[str, tuple[Restorer, str]],
    *,
    missing: str = "0.8",
    size: int | None = None,
    seed: int = 0,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Inpainting benchmark: PSNR/SSIM of biharmonic, Telea and ``restorers`` on images
    with a seeded random mask (``missing_mask``; image ``i`` uses ``seed + i``)."""
    from .baselines import INPAINTERS

    methods = {name: (0, lambda y, m, s, f=f: f(y, m)) for name, f in INPAINTERS.items()}
    for name, (r, preset) in restorers.items():
        methods[name] = (r.nfe(preset), lambda y, m, s, r=r, preset=preset: r.inpaint(y, m, preset, s))

    def holes(ref: Tensor, s: int) -> tuple[Tensor, Tensor]:
        m = missing_mask(*ref.shape[-2:], missing, torch.Generator().manual_seed(s))
        return ref * ~m, m

    return _evaluate_restoration("inpaint", paths, methods, holes, size=size, seed=seed, limit=limit, border=0,
                                 progress=progress, missing=missing)


def format_table(result: dict) -> str:
    """A plain-text table of an evaluation result."""
    color = result["task"] == "colorize"
    fid = "fid" in result["rows"][0]
    wide = max([28] + [len(r["method"]) + 2 for r in result["rows"]])
    head = (
        f"{'method':<{wide}}{'PSNR' if color else 'CPSNR':>8}{'SSIM':>8}"
        + (f"{'colorful':>10}" if color else "")
        + (f"{'FID':>9}" if fid else "")
        + f"{'NFE':>7}{'s/img':>8}"
    )
    extra = "".join(f" {k}={result[k]}" for k in ("pattern", "missing", "border") if k in result)
    lines = [
        f"task={result['task']} data={result['data']} size={result['size']} images={result['images']} "
        f"seed={result['seed']}{extra}",
        head,
        "-" * len(head),
    ]
    for r in result["rows"]:
        lines.append(
            f"{r['method']:<{wide}}{r['psnr']:>8.2f}{r['ssim']:>8.4f}"
            + (f"{r['colorfulness']:>10.1f}" if color else "")
            + (f"{r['fid']:>9.2f}" if fid else "")
            + f"{r['nfe']:>7d}{r['seconds_per_image']:>8.2f}"
        )
    if color:
        lines.append(f"{'ground truth':<{wide}}{'':>8}{'':>8}{result['ground_truth_colorfulness']:>10.1f}")
    return "\n".join(lines)


def write_report(result: dict, path: str | Path) -> None:
    """JSON (``.json``) or CSV (``.csv``) report."""
    path = Path(path)
    if path.suffix == ".csv":
        keys = list(result["rows"][0])
        text = ",".join(keys) + "\n" + "".join(",".join(str(r[k]) for k in keys) + "\n" for r in result["rows"])
    else:
        text = json.dumps(result, indent=2) + "\n"
    atomic_write(path, lambda f: Path(f).write_text(text))
