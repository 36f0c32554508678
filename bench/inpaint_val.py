"""The learned inpainter against biharmonic on the held-out validation split of the *training*
folders (never eval/): photos shrunk by 2, seeded random masks (50 % and 80 % missing pixels),
PSNR per photo, the mean and the smallest margin.

    python bench/inpaint_val.py --model runs/li64 [--limit N] [--report out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from chromaprior.baselines import biharmonic  # noqa: E402
from chromaprior.data import ImageCache, list_images  # noqa: E402
from chromaprior.demosaick import LearnedInpainter  # noqa: E402
from chromaprior.evaluation import missing_mask, quantize  # noqa: E402
from chromaprior.metrics import psnr  # noqa: E402

DATA = ["/work/shared/data/train/bsds500", "/work/shared/data/train/imagenet-sample", "/work/shared/data/train/caltech101"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--missing", nargs="+", default=["0.5", "0.8"])
    ap.add_argument("--report", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cache = ImageCache.build(list_images(DATA), 32, split="val", downscale=2.0, workers=2)
    images = cache.images if not args.limit else cache.images[:: max(1, len(cache.images) // args.limit)][: args.limit]
    net = LearnedInpainter(args.model)
    result = {"photos": len(images), "rows": {}}
    for kind in args.missing:
        bi, le = [], []
        for i, img in enumerate(images):
            x = img.float()[None] / 255
            m = missing_mask(*x.shape[-2:], kind, torch.Generator().manual_seed(i))
            y = x * ~m
            bi.append(float(psnr(quantize(biharmonic(y, m)), x)))
            le.append(float(psnr(quantize(net.inpaint(y, m)), x)))
        d = np.array(le) - np.array(bi)
        result["rows"][kind] = {"biharmonic": float(np.mean(bi)), "learned": float(np.mean(le)), "margin": float(d.mean()),
                                "min_margin": float(d.min()), "below": int((d < 0).sum())}
        print(f"missing {kind}: biharmonic {np.mean(bi):.2f}  learned {np.mean(le):.2f}  margin {d.mean():+.2f} "
              f"(min {d.min():+.2f}, {int((d < 0).sum())} of {len(d)} below)", flush=True)
    if args.report:
        args.report.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
