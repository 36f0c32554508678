"""Quality against network evaluations (NFE) for the colorization presets, one seeded run.

    python bench/nfe_curve.py --data ../shared/data/eval/bsds500-val --size 128 --limit 20 \
        --presets preview fast paper --out docs/nfe-curve.png --report bench/results/nfe-128-first20.json

Evaluates each preset on the same images (``chromaprior evaluate``'s harness: gray
baseline, one seed per image, no selection) and draws PSNR and colorfulness against NFE.
"""

from __future__ import annotations

import argparse

from chromaprior.training.data import list_images
from chromaprior.evaluation.loops import colorize_rows, evaluate_colorize, format_table, write_report
from chromaprior.training.plots import plot_points


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/eval/bsds500-val")
    ap.add_argument("--model", default=None)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--presets", nargs="+", default=["preview", "fast", "paper"])
    ap.add_argument("--out", default="docs/nfe-curve.png")
    ap.add_argument("--report", default=None)
    args = ap.parse_args()
    rows = colorize_rows(args.model, tuple(args.presets), method=None if args.model else "jgm")
    result = evaluate_colorize(list_images([args.data]), rows, size=args.size, limit=args.limit, seed=0)
    print(format_table(result))
    if args.report:
        write_report(result, args.report)
    ours = [r for r in result["rows"] if r["method"] in rows]
    title = f"JGM presets, {result['images']} images at {args.size} px"
    plot_points({"PSNR (dB)": [(r["nfe"], r["psnr"]) for r in ours]}, args.out.replace(".png", "-psnr.png"), title)
    plot_points({"colorfulness": [(r["nfe"], r["colorfulness"]) for r in ours]},
                args.out.replace(".png", "-colorfulness.png"), title)


if __name__ == "__main__":
    main()
