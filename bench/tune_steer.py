"""Choose the steerable colorizer's checkpoint, hinted read-out and edge-aware finishing on the
*training* validation split (never on eval/).

    python bench/tune_steer.py --model runs/steerable --images 100 --hints 0,1,5,20 \
        --edge 0:0.001 4:0.001 8:0.0001 --spread 0:0.03 0.001:0.03 --vividness 0.6 \
        --report bench/results/tune-steer.json

One seeded run over the held-out files of the training folders (the hash split of
``chromaprior.data.is_validation``) at 256 px with the simulated user of ``chromaprior
evaluate --hints``: PSNR, SSIM, colourfulness, balanced colour accuracy per hint count,
with the gray output beside them.
"""

from __future__ import annotations

import argparse

from chromaprior.methods.colorize import Colorizer
from chromaprior.training.data import is_validation, list_images
from chromaprior.evaluation.loops import evaluate_colorize, format_table, write_report


class Setting:
    """A steerable colorizer with a given finishing and hinted read-out, as ``evaluate_colorize`` expects."""

    def __init__(self, col: Colorizer, radius: int, eps: float, vividness: float | None, decay: float, sigma: float):
        self.col, self.radius, self.eps, self.vividness = col, radius, eps, vividness
        self.decay, self.sigma = decay, sigma

    def nfe(self, preset) -> int:
        return 1

    def __call__(self, gray, hints=None, **kwargs):
        cfg = self.col.net.config
        cfg.edge_radius, cfg.edge_eps = self.radius, self.eps
        cfg.spread_decay, cfg.spread_sigma = self.decay, self.sigma
        vivid = self.vividness if hints else None  # the automatic path keeps the semantic read-out
        return self.col(gray, hints=hints, vividness=vivid, **kwargs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", nargs="+", default=[None])
    ap.add_argument("--data", nargs="+", default=["../shared/data/train"])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--hints", default="0,1,5,20")
    ap.add_argument("--edge", nargs="+", default=["0:0.001"], help="RADIUS:EPS of the guided-filter finishing")
    ap.add_argument("--vividness", type=float, nargs="+", default=[None])
    ap.add_argument("--spread", nargs="+", default=["0:0.03"], help="DECAY:SIGMA of the edge-aware spreading of hints")
    ap.add_argument("--report", default=None)
    args = ap.parse_args()
    paths = [p for p in list_images(args.data) if is_validation(p)]
    paths = paths[:: max(1, len(paths) // args.images)][: args.images]  # spread over the folders
    rows = {}
    for model in args.model:
        col = Colorizer(model, method=None if model else "steerable")
        for edge in args.edge:
            r, eps = edge.split(":")
            for v in args.vividness:
                for spread in args.spread:
                    lam, sigma = spread.split(":")
                    label = f"{model or 'shipped'} r{r} eps{eps} spread {spread}" + (f" v{v:g}" if v is not None else "")
                    rows[label] = (Setting(col, int(r), float(eps), v, float(lam), float(sigma)), "fast")
    counts = tuple(int(k) for k in args.hints.split(","))
    result = evaluate_colorize(paths, rows, size=args.size, seed=0, hint_counts=counts)
    print(format_table(result))
    if args.report:
        write_report(result, args.report)


if __name__ == "__main__":
    main()
