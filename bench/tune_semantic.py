"""Choose the semantic colorizer's read-out (vividness) and working size on the *training*
validation split (never on eval/).

    python bench/tune_semantic.py --model runs/semantic128 --data ../shared/data/train --images 150 \
        --vividness 0 0.3 0.5 0.6 0.7 --work-size 128 192 256 --report bench/results/tune-semantic.json

One seeded run over the held-out files of the training folders (the hash split of
``chromaprior.training.data.is_validation``) at 256 px: PSNR, SSIM, colourfulness, balanced colour
accuracy, with the gray output beside them. The shipped default is the setting with the
highest colour accuracy among those whose PSNR is at least the gray output's + 1 dB (or,
if none is, at least the gray output's). ``--shipped unet cgan jgm`` adds the other
colorizers, for the choice of the default method.
"""

from __future__ import annotations

import argparse

from chromaprior.methods.colorize import Colorizer
from chromaprior.training.data import is_validation, list_images
from chromaprior.evaluation.loops import colorize_rows, evaluate_colorize, format_table, write_report


class Setting:
    """A colorizer with fixed keyword arguments, in the shape ``evaluate_colorize`` expects."""

    def __init__(self, col: Colorizer, **kwargs):
        self.col, self.kwargs = col, kwargs

    def nfe(self, preset) -> int:
        return self.col.nfe(preset)

    def __call__(self, gray, **kwargs):
        return self.col(gray, **kwargs, **self.kwargs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", nargs="+", default=["../shared/data/train"])
    ap.add_argument("--images", type=int, default=150)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--vividness", type=float, nargs="+", default=[0.0, 0.3, 0.5, 0.6, 0.7])
    ap.add_argument("--work-size", type=int, nargs="+", default=[128, 192, 256])
    ap.add_argument("--shipped", nargs="*", default=[], help="shipped colorizers to add as rows (unet cgan jgm)")
    ap.add_argument("--report", default=None)
    args = ap.parse_args()
    paths = [p for p in list_images(args.data) if is_validation(p)]
    paths = paths[:: max(1, len(paths) // args.images)][: args.images]  # spread over the folders
    col = Colorizer(args.model, method=None if args.model else "semantic")
    rows = {f"v{v:g} @{w}": (Setting(col, vividness=v, work_size=w), "fast")
            for w in args.work_size for v in args.vividness}
    for m in args.shipped:
        rows |= colorize_rows(method=m)
    result = evaluate_colorize(paths, rows, size=args.size, seed=0)
    print(format_table(result))
    if args.report:
        write_report(result, args.report)


if __name__ == "__main__":
    main()
