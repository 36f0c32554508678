"""Gallery PNG: gray input | every chosen colorizer | ground truth, one row per photo.

    python bench/gallery.py --data ../shared/data/eval/bsds500-val ../shared/data/eval/kodak24 --images 4 \
        --size 192 --methods semantic unet cgan jgm --out docs/gallery.png

Rows are the first N photos of each folder in sorted order (never picked by quality); each
is colorized once with seed = its index, and the columns are labelled, as in `chromaprior
evaluate` (:func:`chromaprior.evaluation.loops.colorize_rows`). ``--validation`` takes
the photos from the held-out split of training folders instead (for looking at photos of
other kinds: objects, scenes) -- every N-th one, spread over the folders. ``--hints K`` gives
every colorizer the same K hints of the evaluation's simulated user (``chromaprior evaluate
--hints``), drawn on the gray input as dots of their colour in a white ring.
"""

from __future__ import annotations

import argparse

import torch

from chromaprior.training.data import is_validation, list_images
from chromaprior.core.hints import simulated_user
from chromaprior.evaluation.loops import colorize_rows, load_eval_image, quantize
from chromaprior.models.registry import shipped_model
from chromaprior.training.plots import gallery


def _dots(img, hints):
    """The hints drawn on a copy of ``img`` ``(1, 3, H, W)``: a disc of their colour, radius 2, in a white ring."""
    out = img.clone()
    h, w = out.shape[-2:]
    for hint in hints:
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                y, x, d = int(hint.y) + dy, int(hint.x) + dx, dx * dx + dy * dy
                if 0 <= y < h and 0 <= x < w and d <= 16:
                    out[0, :, y, x] = 1.0 if d > 6 else torch.tensor(hint.rgb) / 255
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", default=["../shared/data/eval/bsds500-val"])
    ap.add_argument("--images", type=int, default=4, help="photos per folder")
    ap.add_argument("--validation", action="store_true", help="held-out photos of training folders")
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--preset", default="fast", help="sampler preset of score priors")
    ap.add_argument("--methods", nargs="+", default=["semantic", "unet", "jgm"], help="shipped colorizers")
    ap.add_argument("--model", action="append", default=[], metavar="LABEL=DIR", help="another model (repeatable)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hints", type=int, default=0, help="simulated hints given to every colorizer")
    ap.add_argument("--out", default="docs/gallery.png")
    args = ap.parse_args()
    others = [f"{m}={shipped_model(m)}" for m in args.methods[1:]] + args.model
    cols = colorize_rows(method=args.methods[0], presets=(args.preset,), compare=others)
    paths = []
    for folder in args.data:
        found = list_images([folder])
        if args.validation:
            found = [p for p in found if is_validation(p)]
            found = found[:: max(1, len(found) // args.images)]
        paths += found[: args.images]
    rows = []
    for i, path in enumerate(paths):
        ref = load_eval_image(path, args.size)
        y = quantize(ref.mean(dim=1, keepdim=True))
        hints = simulated_user(ref, args.hints, args.seed + i) if args.hints else None
        row = [_dots(y.expand(-1, 3, -1, -1), hints or [])]
        row += [quantize(c(y, preset=p, seed=args.seed + i, hints=hints)) for c, p in cols.values()]
        rows.append([t[0].permute(1, 2, 0).cpu().numpy() for t in row + [ref]])
    titles = [f"gray input + {args.hints} hints" if args.hints else "gray input", *cols, "ground truth"]
    gallery(rows, titles, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
