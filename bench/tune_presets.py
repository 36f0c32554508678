"""Tune sampler step sizes on the *training* validation split (never on eval/).

    python bench/tune_presets.py --model runs/jgm64 --data ../shared/data/train --images 24

For each (steps, eps) pair prints PSNR / SSIM / colorfulness of one seeded run on the
held-out files of the training folders (the deterministic hash split of
``chromaprior.training.data.is_validation``), beside the gray baseline and the ground truth's
colorfulness. Choose presets from this table, then report them on eval/ once.
"""

from __future__ import annotations

import argparse

from chromaprior.training.data import is_validation, list_images
from chromaprior.evaluation.loops import colorize_rows, evaluate_colorize, format_table
from chromaprior.methods.sampling import Preset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", nargs="+", default=["../shared/data/train"])
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--grid", nargs="+", default=["3:1e-4", "3:2e-4", "10:5e-5", "10:1e-4", "0:1e-4:pc", "2:1e-4:pc"],
                    help="steps:eps[:pc][:fN] (pc: an ancestral predictor step per level; fN: start at level N)")
    args = ap.parse_args()
    paths = [p for p in list_images(args.data) if is_validation(p)][: args.images]
    presets = []
    for item in args.grid:
        steps, eps, *flags = item.split(":")
        first = next((int(f[1:]) for f in flags if f.startswith("f")), 0)
        presets.append(Preset(item, steps=int(steps), eps=float(eps), predictor="pc" in flags, first_level=first))
    rows = colorize_rows(args.model, tuple(presets), method=None if args.model else "jgm")
    result = evaluate_colorize(paths, rows, size=args.size, seed=0)
    print(format_table(result))


if __name__ == "__main__":
    main()
