"""Gallery PNG for the README: gray input | ours (one seeded run per preset) | ground truth.

    python bench/gallery.py --data ../shared/data/eval/bsds500-val --images 6 --size 160 \
        --preset fast --methods unet cgan --out docs/gallery.png

Images are the first N of the folder in sorted order (not picked by quality); each is
colorized once with seed = its index, as in `chromaprior evaluate`.
"""

from __future__ import annotations

import argparse

from chromaprior.colorize import Colorizer
from chromaprior.data import list_images
from chromaprior.evaluation import load_eval_image, quantize
from chromaprior.plots import gallery


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/eval/bsds500-val")
    ap.add_argument("--model", default=None)
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--preset", nargs="+", default=["fast"])
    ap.add_argument("--methods", nargs="*", default=[], help="shipped supervised colorizers to add (unet, cgan)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="docs/gallery.png")
    args = ap.parse_args()
    col = Colorizer(args.model, method=None if args.model else "jgm")
    others = [Colorizer(method=m) for m in args.methods]
    rows = []
    for i, path in enumerate(list_images([args.data])[: args.images]):
        ref = load_eval_image(path, args.size)
        y = quantize(col.luminance(ref))
        row = [y.expand(-1, 3, -1, -1)]
        row += [quantize(col(y, preset=p, seed=args.seed + i)) for p in args.preset]
        row += [quantize(o(y)) for o in others]
        row.append(ref)
        rows.append([t[0].permute(1, 2, 0).cpu().numpy() for t in row])
    titles = ["gray input"] + [f"JGM {p} ({col.nfe(p)} NFE)" for p in args.preset] + args.methods + ["ground truth"]
    gallery(rows, titles, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
