"""Several colourings per photo: the PSNR of one sample, of the mean of N samples, and the
diversity of the samples (mean pairwise a*b* distance), one seeded run.

    python bench/samples_eval.py --data ../shared/data/eval/bsds500-val ../shared/data/eval/kodak24 --size 256 \
        --limit 24 --samples 4 --model src/chromaprior/weights/jgm-guided-colorize --report bench/results/samples.json

Photo ``i`` of a set (name order) is colorized with seeds ``seed + i ... seed + i + N - 1`` (what
``chromaprior colorize --samples N --seed seed+i`` writes); each sample is quantised to 8 bits.
A posterior sampler's single sample has about twice the squared error of the best single
answer; the mean of its samples approaches that answer. Diversity: the mean over pixels and
over the N(N-1)/2 pairs of samples of the Euclidean a*b* distance (CIELAB units).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import torch

from chromaprior.core import operators
from chromaprior.core.color import rgb_to_lab
from chromaprior.methods.colorize import Colorizer
from chromaprior.training.data import list_images
from chromaprior.evaluation.loops import GRAY_GROUND_TRUTH, load_eval_image, quantize
from chromaprior.evaluation.metrics import colorfulness, psnr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--model", nargs="+", required=True, help="LABEL=MODEL or MODEL (sampled colorizers)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--report", default=None)
    args = ap.parse_args()
    gray_op = operators.gray()
    models = [m.split("=", 1) if "=" in m else (Path(m).name, m) for m in args.model]
    cols = {label: Colorizer(path) for label, path in models}
    rows = {label: {"single": [], "mean": [], "diversity": [], "colorfulness": []} for label in cols}
    gray_psnr = []
    for d in args.data:
        for i, path in enumerate(list_images([d])[: args.limit]):
            ref = load_eval_image(path, args.size)
            if float(colorfulness(ref)) < GRAY_GROUND_TRUTH:
                continue
            y = quantize(gray_op.forward(ref))
            gray_psnr.append(float(psnr(y.expand(-1, 3, -1, -1), ref)))
            for label, col in cols.items():
                outs = [quantize(col(y, preset=args.preset, seed=args.seed + i + k).cpu()) for k in range(args.samples)]
                r = rows[label]
                r["single"].append(float(psnr(outs[0], ref)))
                r["mean"].append(float(psnr(quantize(torch.stack(outs).mean(0)), ref)))
                r["colorfulness"].append(float(colorfulness(outs[0])))
                ab = [rgb_to_lab(o)[:, 1:] for o in outs]
                r["diversity"].append(sum(float((a - b).norm(dim=1).mean()) for a, b in itertools.combinations(ab, 2))
                                      / max(1, len(ab) * (len(ab) - 1) // 2))
            print(f"{Path(path).name}: " + ", ".join(f"{k} {v['single'][-1]:.2f}/{v['mean'][-1]:.2f}"
                                                    for k, v in rows.items()), flush=True)
    mean = lambda v: sum(v) / len(v)  # noqa: E731
    result = {"data": args.data, "size": args.size, "limit": args.limit, "samples": args.samples, "preset": args.preset,
              "seed": args.seed, "images": len(gray_psnr), "gray_psnr": mean(gray_psnr),
              "rows": [{"method": k, "psnr_single": mean(v["single"]), f"psnr_mean_of_{args.samples}": mean(v["mean"]),
                        "diversity_ab": mean(v["diversity"]), "colorfulness_single": mean(v["colorfulness"])}
                       for k, v in rows.items()]}
    print(f"{'method':<28}{'PSNR 1':>9}{'PSNR mean':>11}{'diversity':>11}{'CF':>7}   ({result['images']} images, "
          f"gray {result['gray_psnr']:.2f} dB)")
    for r in result["rows"]:
        print(f"{r['method']:<28}{r['psnr_single']:>9.2f}{r[f'psnr_mean_of_{args.samples}']:>11.2f}"
              f"{r['diversity_ab']:>11.2f}{r['colorfulness_single']:>7.1f}")
    if args.report:
        Path(args.report).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
