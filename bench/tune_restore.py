"""Choose the restoration sampler (start level x preset) on the *training* validation split.

    python bench/tune_restore.py --model runs/hgm-ps64 --images 16 --size 192

For demosaicking (RGGB) and inpainting (80 % missing) prints one seeded run of the
classical baselines and of the prior started at each level of ``--levels`` from the
classical fill, for each preset of ``--presets``. Choose ``START_LEVEL`` (restore.py) from
these tables, then report it on eval/ once.
"""

from __future__ import annotations

import argparse

from chromaprior.training.data import is_validation, list_images
from chromaprior.evaluation.loops import evaluate_demosaick, evaluate_inpaint, format_table
from chromaprior.methods.hgm import Restorer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", nargs="+", default=["../shared/data/train"])
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--levels", type=int, nargs="+", default=[0, 4, 6, 8])
    ap.add_argument("--presets", nargs="+", default=["preview", "fast"])
    ap.add_argument("--tasks", nargs="+", default=["demosaick", "inpaint"])
    ap.add_argument("--first-stage", nargs="+", default=[None],
                    help="start from these classical methods / priors ('fill': the built-in fill, the default)")
    args = ap.parse_args()
    paths = [p for p in list_images(args.data) if is_validation(p)][: args.images]
    stages = [None if f in (None, "fill") else f for f in args.first_stage]
    for task in args.tasks:
        rows = {}
        for first in stages:
            for level in args.levels:
                try:
                    r = Restorer(args.model, start_level=level, first_stage=first)
                except ValueError:
                    continue
                if r.classical and (r.classical in ("biharmonic", "Telea")) != (task == "inpaint"):
                    continue
                for preset in args.presets:
                    rows[f"{first or 'fill'} +{level} {preset} ({r.nfe(preset)})"] = (r, preset)
        run = evaluate_demosaick if task == "demosaick" else evaluate_inpaint
        extra = {} if task == "demosaick" else {"missing": "0.8"}
        print(format_table(run(paths, rows, size=args.size, **extra)))


if __name__ == "__main__":
    main()
