"""The learned inpainter against biharmonic on the held-out validation split of the *training*
folders (never eval/): photos shrunk by 2, seeded random masks (50 % and 80 % missing pixels),
PSNR per photo, the mean and the smallest margin; beside it the network's own start (the pure
torch biharmonic fill) and, with ``--hgm``, the shipped HGM prior (``fast`` preset, seed 0).
Seconds per photo of each method (one thread).

    python bench/inpaint_val.py --model runs/li64 [--limit N] [--hgm] [--report out.json]
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

from chromaprior.methods.baselines import biharmonic  # noqa: E402
from chromaprior.training.data import ImageCache, list_images  # noqa: E402
from chromaprior.methods.learned import LearnedInpainter  # noqa: E402
from chromaprior.evaluation.loops import missing_mask, quantize  # noqa: E402
from chromaprior.evaluation.metrics import psnr  # noqa: E402

DATA = [str(Path(__file__).resolve().parents[2] / "shared" / "data" / "train" / root)
        for root in ("bsds500", "imagenet-sample", "caltech101")]  # ../shared beside the checkout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--missing", nargs="+", default=["0.5", "0.8"])
    ap.add_argument("--hgm", action="store_true", help="add the shipped HGM prior (fast preset)")
    ap.add_argument("--report", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cache = ImageCache.build(list_images(DATA), 32, split="val", downscale=2.0, workers=2)
    images = cache.images if not args.limit else cache.images[:: max(1, len(cache.images) // args.limit)][: args.limit]
    net = LearnedInpainter(args.model)
    methods = {"biharmonic": biharmonic,
               "fill": lambda y, m: net.net.fill(y, (~m).float()).clamp(0, 1),
               "learned": net.inpaint}
    if args.hgm:
        from chromaprior.methods.hgm import Restorer

        hgm = Restorer()
        methods["hgm"] = lambda y, m: hgm.inpaint(y, m, preset="fast", seed=0)
    result = {"photos": len(images), "model": args.model, "rows": {}}
    for kind in args.missing:
        scores = {name: [] for name in methods}
        seconds = dict.fromkeys(methods, 0.0)
        for i, img in enumerate(images):
            x = img.float()[None] / 255
            m = missing_mask(*x.shape[-2:], kind, torch.Generator().manual_seed(i))
            y = x * ~m
            for name, fn in methods.items():
                start = time.perf_counter()
                out = fn(y, m)
                seconds[name] += time.perf_counter() - start
                scores[name].append(float(psnr(quantize(out), x)))
        d = np.array(scores["learned"]) - np.array(scores["biharmonic"])
        row = {name: float(np.mean(v)) for name, v in scores.items()}
        row.update(margin=float(d.mean()), min_margin=float(d.min()), below=int((d < 0).sum()),
                   seconds={name: s / len(images) for name, s in seconds.items()})
        result["rows"][kind] = row
        others = "  ".join(f"{name} {row[name]:.2f} ({row['seconds'][name]:.2f} s)" for name in methods)
        print(f"missing {kind}: {others}  margin {d.mean():+.2f} (min {d.min():+.2f}, {int((d < 0).sum())} of {len(d)} below)",
              flush=True)
    if args.report:
        args.report.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
