"""Benchmark harness: one seeded run, trivial baselines beside ours, NFE and seconds.

Each evaluation image is resized (short side) and centre-cropped to ``size x size``,
degraded by the task's operator, restored, quantised to 8 bits as a saved file would be,
and scored against the ground truth. No sample is ever chosen by comparing it with the
ground truth.
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
from .io import atomic_write, read_image
from .metrics import FeatureNet, colorfulness, frechet_distance, psnr, ssim

__all__ = ["load_eval_image", "quantize", "MethodScores", "evaluate_colorize", "format_table", "write_report"]


def load_eval_image(path: Path, size: int) -> Tensor:
    """``(1, 3, size, size)`` in ``[0, 1]``: short side resized to ``size``, centre crop."""
    pic = read_image(path)
    a = pic.pixels if pic.is_color else np.repeat(pic.pixels[..., None], 3, axis=2)
    x = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float()
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

    def add(self, out: Tensor, ref: Tensor, seconds: float, features: FeatureNet | None = None) -> None:
        if features is not None:
            self.features.append(features(out))
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


def format_table(result: dict) -> str:
    """A plain-text table of an evaluation result."""
    fid = "fid" in result["rows"][0]
    head = f"{'method':<28}{'PSNR':>8}{'SSIM':>8}{'colorful':>10}" + (f"{'FID':>9}" if fid else "") + f"{'NFE':>7}{'s/img':>8}"
    lines = [
        f"task={result['task']} data={result['data']} size={result['size']} images={result['images']} seed={result['seed']}",
        head,
        "-" * len(head),
    ]
    for r in result["rows"]:
        lines.append(
            f"{r['method']:<28}{r['psnr']:>8.2f}{r['ssim']:>8.4f}{r['colorfulness']:>10.1f}"
            + (f"{r['fid']:>9.2f}" if fid else "")
            + f"{r['nfe']:>7d}{r['seconds_per_image']:>8.2f}"
        )
    lines.append(f"{'ground truth':<28}{'':>8}{'':>8}{result['ground_truth_colorfulness']:>10.1f}")
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
