"""The learned demosaicker against Menon2007 on the held-out validation split of the *training*
folders (never eval/): whole photos shrunk by 2 as the training crops were, RGGB mosaics,
CPSNR per photo, the mean and the per-photo minimum margin. What checkpoints and recipes are
compared on.

    python bench/demosaick_val.py --model runs/ld64 [--model runs/other ...] [--limit N] [--report out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from chromaprior.training.data import ImageCache, list_images  # noqa: E402
from chromaprior.methods.learned import LearnedDemosaicker  # noqa: E402
from chromaprior.evaluation.metrics import psnr  # noqa: E402
from chromaprior.nets.demosaick import menon2007  # noqa: E402
from chromaprior.methods.hgm import mosaic  # noqa: E402

DATA = [str(Path(__file__).resolve().parents[2] / "shared" / "data" / "train" / root)
        for root in ("bsds500", "imagenet-sample", "caltech101")]  # ../shared beside the checkout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, help="learned-demosaick model folder (repeatable)")
    ap.add_argument("--data", action="append", default=None)
    ap.add_argument("--downscale", type=float, default=2.0)
    ap.add_argument("--limit", type=int, default=0, help="at most N photos (spread over the split)")
    ap.add_argument("--report", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cache = ImageCache.build(list_images(args.data or DATA), 32, split="val", downscale=args.downscale, workers=2)
    images = cache.images if not args.limit else cache.images[:: max(1, len(cache.images) // args.limit)][: args.limit]
    models = {m: LearnedDemosaicker(m) for m in args.model}
    scores: dict[str, list[float]] = {"Menon2007": [], **{m: [] for m in models}}
    seconds = {m: 0.0 for m in models}
    for img in images:
        h, w = img.shape[-2:]
        x = img[:, : h - h % 2, : w - w % 2].float()[None] / 255
        raw = mosaic(x, "RGGB")
        quant = lambda t: torch.round(t.clamp(0, 1) * 255) / 255  # noqa: E731
        scores["Menon2007"].append(float(psnr(quant(menon2007(raw)), x)))
        for m, d in models.items():
            t0 = time.perf_counter()
            out = d.demosaick(raw, "RGGB")
            seconds[m] += time.perf_counter() - t0
            scores[m].append(float(psnr(quant(out), x)))
    menon = np.array(scores["Menon2007"])
    result = {"photos": len(images), "downscale": args.downscale, "rows": {}}
    print(f"validation split of the training folders: {len(images)} photos, shrunk by {args.downscale:g}, RGGB")
    print(f"{'model':<40}{'CPSNR':>8}{'margin':>8}{'min':>8}{'below':>7}")
    for name, v in scores.items():
        v = np.array(v)
        d = v - menon
        row = {"cpsnr": float(v.mean()), "margin": float(d.mean()), "min_margin": float(d.min()), "below": int((d < 0).sum())}
        result["rows"][name] = row
        print(f"{name:<40}{row['cpsnr']:8.2f}{row['margin']:+8.2f}{row['min_margin']:+8.2f}{row['below']:7d}")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
