"""How often the steerable colorizer's top suggestions contain the truth's colour.

    python bench/suggest_eval.py --data ../shared/data/eval/bsds500-val ../shared/data/eval/kodak24 \
        --size 256 --spots 10 --top 6 --report bench/results/suggest-eval.json

One seeded run: per photo (short side resized to ``--size``, centre crop), ``--spots`` spots drawn
uniformly among the clearly coloured pixels of the ground truth (C*ab >= 15); at each, the
``--top`` suggestions of ``chromaprior suggest`` (no hints) are a hit when one of them is within
15 a*b* units of the truth's a*b* at that pixel. Also with ``--hints K`` simulated hints placed
(the evaluation's simulated user) before asking.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from chromaprior.core.color import rgb_to_lab
from chromaprior.methods.colorize import Colorizer
from chromaprior.training.data import list_images
from chromaprior.evaluation.loops import load_eval_image
from chromaprior.core.hints import simulated_user


def spots(lab: torch.Tensor, count: int, seed: int) -> list[tuple[int, int]]:
    chroma = lab[0, 1:].norm(dim=0)
    ys, xs = torch.nonzero(chroma >= 15, as_tuple=True)
    if len(ys) == 0:
        return []
    pick = torch.randperm(len(ys), generator=torch.Generator().manual_seed(seed))[:count]
    return [(int(xs[i]), int(ys[i])) for i in pick]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--model", default=None)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--spots", type=int, default=10)
    ap.add_argument("--top", type=int, default=6)
    ap.add_argument("--hints", type=int, nargs="+", default=[0])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--report", default=None)
    args = ap.parse_args()
    col = Colorizer(args.model, method=None if args.model else "steerable")
    result = {"size": args.size, "spots": args.spots, "top": args.top, "sets": {}}
    for folder in args.data:
        rows = {}
        for k in args.hints:
            hits = total = 0
            t0 = time.perf_counter()
            for i, path in enumerate(list_images([folder])[: args.limit]):
                ref = load_eval_image(path, args.size)
                lab = rgb_to_lab(ref)
                photo = col.prepare(ref.mean(1)[0])
                hints = simulated_user(ref, k, i) if k else None
                for x, y in spots(lab, args.spots, i):
                    sug = photo.suggest(x, y, args.top, hints)
                    ab = rgb_to_lab(torch.tensor([s["rgb"] for s in sug], dtype=torch.float32).view(-1, 3, 1, 1) / 255)
                    hits += int(((ab[:, 1:, 0, 0] - lab[0, 1:, y, x]).norm(dim=1) <= 15).any())
                    total += 1
            rows[f"{k} hints"] = {"top_hit_rate": hits / max(total, 1), "spots": total,
                                  "seconds": round(time.perf_counter() - t0, 1)}
            print(folder, k, rows[f"{k} hints"], flush=True)
        result["sets"][folder] = rows
    if args.report:
        with open(args.report, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
