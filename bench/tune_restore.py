"""Choose the restoration sampler (start level x preset) on the *training* validation split.

    python bench/tune_restore.py --model runs/hgm-ps64 --images 16 --size 192

For demosaicking (RGGB) and inpainting (80 % missing) prints one seeded run of the
classical baselines and of the prior started at each level of ``--levels`` from the
classical fill, for each preset of ``--presets``. Choose ``START_LEVEL`` (restore.py) from
these tables, then report it on eval/ once.
"""

from __future__ import annotations

import argparse

from chromaprior.data import is_validation, list_images
from chromaprior.evaluation import evaluate_demosaick, evaluate_inpaint, format_table
from chromaprior.restore import Restorer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", nargs="+", default=["../shared/data/train"])
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--levels", type=int, nargs="+", default=[0, 4, 6, 8])
    ap.add_argument("--presets", nargs="+", default=["preview", "fast"])
    ap.add_argument("--tasks", nargs="+", default=["demosaick", "inpaint"])
    args = ap.parse_args()
    paths = [p for p in list_images(args.data) if is_validation(p)][: args.images]
    rows = {}
    for level in args.levels:
        r = Restorer(args.model, start_level=level)
        for preset in args.presets:
            rows[f"start {level} {preset} ({r.nfe(preset)} NFE)"] = (r, preset)
    if "demosaick" in args.tasks:
        print(format_table(evaluate_demosaick(paths, rows, size=args.size)))
    if "inpaint" in args.tasks:
        print(format_table(evaluate_inpaint(paths, rows, missing="0.8", size=args.size)))


if __name__ == "__main__":
    main()
