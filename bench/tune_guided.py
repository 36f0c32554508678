"""The guided JGM against the unconditional one on the *training* validation split (never on
eval/), and its quality against the number of network evaluations (NFE).

    python bench/tune_guided.py --model runs/guided128 --images 60 --grid preview fast 1:1e-4:pc:f2 \
        --jgm --report bench/results/tune-guided-val.json --plot docs/nfe-curve-guided.png

One seeded run (image i: seed i) over held-out files of the training folders (the hash split
of ``chromaprior.training.data.is_validation``, spread over the folders as ``bench/tune_semantic.py``)
at 256 px: PSNR, SSIM, colourfulness, balanced colour accuracy, with the gray output beside
them; ``--jgm`` adds the shipped unconditional ``jgm`` with the ``fast`` preset, ``--semantic``
the shipped semantic colorizer. ``--grid`` entries are preset names or
``steps:eps[:pc][:fN]`` (pc: an ancestral predictor step per level; fN: start at level N).

The rule fixed before looking: the guided model ships if, with the ``fast`` preset (30 NFE),
its PSNR and its colour accuracy are both above the unconditional ``jgm``'s.
"""

from __future__ import annotations

import argparse

from chromaprior.methods.colorize import Colorizer
from chromaprior.training.data import is_validation, list_images
from chromaprior.evaluation.loops import evaluate_colorize, format_table, write_report
from chromaprior.methods.sampling import PRESETS, Preset


def preset_of(item: str) -> Preset | str:
    """A preset name, or ``steps:eps[:pc][:fN]``."""
    if item in PRESETS:
        return item
    steps, eps, *flags = item.split(":")
    first = next((int(f[1:]) for f in flags if f.startswith("f")), 0)
    return Preset(item, steps=int(steps), eps=float(eps), predictor="pc" in flags, first_level=first)


def validation_paths(data: list[str], images: int) -> list:
    paths = [p for p in list_images(data) if is_validation(p)]
    return paths[:: max(1, len(paths) // images)][:images]  # spread over the folders


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", nargs="+", default=[None], help="guided models (default: the shipped one)")
    ap.add_argument("--data", nargs="+", default=["../shared/data/train"])
    ap.add_argument("--images", type=int, default=60)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--grid", nargs="+", default=["fast"])
    ap.add_argument("--jgm", action="store_true", help="add the shipped jgm (fast)")
    ap.add_argument("--semantic", action="store_true", help="add the shipped semantic colorizer")
    ap.add_argument("--report", default=None)
    ap.add_argument("--plot", default=None, help="PSNR / colourfulness / colour accuracy against NFE (PNG prefix)")
    args = ap.parse_args()
    paths = validation_paths(args.data, args.images)
    rows = {}
    for model in args.model:
        col = Colorizer(model, method=None if model else "jgm-guided")
        tag = "" if len(args.model) == 1 else f" {model}"
        for item in args.grid:
            preset = preset_of(item)
            rows[f"jgm-guided{tag} ({item}, {col.nfe(preset)} NFE)"] = (col, preset)
    if args.jgm:
        rows["jgm (fast, 30 NFE)"] = (Colorizer(method="jgm"), "fast")
    if args.semantic:
        rows["semantic (1 NFE)"] = (Colorizer(method="semantic"), "fast")
    result = evaluate_colorize(paths, rows, size=args.size, seed=0)
    print(format_table(result))
    if args.report:
        write_report(result, args.report)
    if args.plot:
        from chromaprior.training.plots import plot_points

        ours = [r for r in result["rows"] if r["method"].startswith("jgm-guided")]
        title = f"jgm-guided presets, {result['images']} validation photos at {args.size} px"
        for key, label in (("psnr", "PSNR (dB)"), ("colorfulness", "colorfulness"), ("color_accuracy", "colour acc.")):
            plot_points({label: [(r["nfe"], r[key]) for r in ours if r.get(key) is not None]},
                        args.plot.replace(".png", f"-{key}.png"), title)


if __name__ == "__main__":
    main()
