"""Seconds per image of `chromaprior colorize` on this machine, ours beside the paper preset.

    python bench/speed.py --sizes 256 512 --presets preview fast paper --repeat 2

Times the whole colorization (resize, sampling, chroma upsampling, gamut clamp; not file
I/O or start-up) of the example photo resized to each size, with the shipped JGM prior (or
--model) for each preset and every other shipped colorizer (the rows of `chromaprior evaluate
--all-methods`, :func:`chromaprior.evaluation.loops.colorize_rows`), at the thread count torch uses
(set OMP_NUM_THREADS / --threads). Before timing, each size is run once with the `preview`
preset as a warm-up.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from chromaprior.evaluation.loops import colorize_rows

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "coffee-gray.jpg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--presets", nargs="+", default=["preview", "fast", "paper"])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    gray = torch.from_numpy(np.asarray(Image.open(EXAMPLE).convert("L"), dtype=np.float32) / 255)[None, None]
    rows = colorize_rows(args.model, tuple(args.presets), method=None if args.model else "jgm", all_methods=True)
    print(f"threads={torch.get_num_threads()}  input={EXAMPLE.name} resized to N x N")
    wide = max(map(len, rows)) + 2
    print(f"{'method':<{wide}}" + "".join(f"{f'{s}px s/img':>14}" for s in args.sizes))
    for label, (col, preset) in rows.items():
        times = []
        for size in args.sizes:
            y = F.interpolate(gray, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            col(y, preset="preview")  # warm-up
            t0 = time.perf_counter()
            for r in range(args.repeat):
                col(y, preset=preset, seed=r)
            times.append((time.perf_counter() - t0) / args.repeat)
        print(f"{label:<{wide}}" + "".join(f"{t:>14.2f}" for t in times))


if __name__ == "__main__":
    main()
