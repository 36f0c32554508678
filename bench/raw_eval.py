"""The camera-raw path on linearised mosaics of eval photos, beside LibRaw's own demosaickers.

Each ground-truth photo (8-bit sRGB) is linearised (inverse sRGB curve), given made-up camera
channel gains (R x0.5, B x0.7: a white balance to undo), sampled through an RGGB filter and
stored as a 14-bit CFA DNG (black level 512, white level 16383, AsShotNeutral = the gains,
ColorMatrix1 = XYZ -> linear sRGB, so that the camera colour matrix is the identity and only
demosaicking differs). Then:

* ``chromaprior``: :func:`chromaprior.apps.raw.demosaick_raw` (black level, white balance, sRGB
  curve, the learned demosaicker, colour matrix, sRGB), as ``chromaprior demosaick x.dng``;
* LibRaw (rawpy ``postprocess``): AHD, DHT, AAHD, VNG, PPG and bilinear, camera white balance,
  sRGB output with the sRGB curve (``gamma=(2.4, 12.92)``), no auto-brightening, 16 bit.

CPSNR against the ground truth after quantising to 8 bits, whole images and with 8 pixels
cropped at each side (LibRaw's interpolations leave a few border pixels rough).

    python bench/raw_eval.py --data ../shared/data/eval/kodak24 [--limit N] [--report out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from chromaprior.training.data import list_images  # noqa: E402
from chromaprior.methods.learned import LearnedDemosaicker  # noqa: E402
from chromaprior.evaluation.loops import load_eval_image  # noqa: E402
from chromaprior.apps.raw import XYZ_RGB, demosaick_raw, srgb_decode  # noqa: E402
from chromaprior.evaluation.dng import bayer_colours, write_dng  # noqa: E402

BLACK, WHITE = 512, 16383
GAINS = np.array([0.5, 1.0, 0.7])
LIBRAW = ["AHD", "DHT", "AAHD", "VNG", "PPG", "LINEAR"]


def cpsnr(a: np.ndarray, b: np.ndarray, border: int = 0) -> float:
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    mse = float(np.mean((np.round(np.clip(a, 0, 1) * 255) / 255 - b) ** 2))
    return 10 * np.log10(1 / max(mse, 1e-12))


def main(argv: list[str] | None = None) -> int:
    import rawpy

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default=None, help="learned-demosaick model (default: the shipped one)")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--report", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    d = LearnedDemosaicker(args.model)
    paths = list_images([args.data])[: args.limit or None]
    names = ["chromaprior (learned)"] + [f"LibRaw {a}" for a in LIBRAW]
    scores = {n: {"full": [], "border8": [], "seconds": []} for n in names}
    matrix = np.linalg.inv(XYZ_RGB)  # XYZ -> camera = linear sRGB: the colour matrix is the identity
    with tempfile.TemporaryDirectory() as tmp:
        for p in paths:
            ref = load_eval_image(p, None)[0].permute(1, 2, 0).numpy().astype(np.float64)
            h, w = ref.shape[:2]
            lin = srgb_decode(ref).astype(np.float64) * GAINS
            c = bayer_colours("RGGB", h, w)
            raw = np.round(BLACK + np.take_along_axis(lin, c[..., None], 2)[..., 0] * (WHITE - BLACK))
            dng = Path(tmp) / (p.stem + ".dng")
            write_dng(dng, raw, black=BLACK, white=WHITE, neutral=tuple(GAINS), matrix=tuple(matrix.ravel()))
            t0 = time.perf_counter()
            ours = demosaick_raw(dng, d).pixels
            row = scores["chromaprior (learned)"]
            row["seconds"].append(time.perf_counter() - t0)
            row["full"].append(cpsnr(ours, ref))
            row["border8"].append(cpsnr(ours, ref, 8))
            for alg in LIBRAW:
                t0 = time.perf_counter()
                with rawpy.imread(str(dng)) as r:
                    out = r.postprocess(demosaic_algorithm=getattr(rawpy.DemosaicAlgorithm, alg), use_camera_wb=True,
                                        no_auto_bright=True, output_bps=16, gamma=(2.4, 12.92), user_flip=0,
                                        output_color=rawpy.ColorSpace.sRGB) / 65535
                row = scores[f"LibRaw {alg}"]
                row["seconds"].append(time.perf_counter() - t0)
                row["full"].append(cpsnr(out, ref))
                row["border8"].append(cpsnr(out, ref, 8))
            print(p.name, " ".join(f"{n.split()[-1]} {scores[n]['full'][-1]:.2f}" for n in names), flush=True)
    print(f"\nraw path on linearised RGGB DNGs of {args.data} ({len(paths)} photos), CPSNR (8-bit)")
    print(f"{'method':<26}{'whole':>8}{'border 8':>10}{'s/img':>8}")
    result = {"data": args.data, "images": len(paths), "names": [p.name for p in paths], "rows": {}}
    for n in names:
        s = scores[n]
        result["rows"][n] = {"cpsnr": float(np.mean(s["full"])), "cpsnr_border8": float(np.mean(s["border8"])),
                             "seconds_per_image": float(np.mean(s["seconds"])), "per_image": s["full"]}
        print(f"{n:<26}{np.mean(s['full']):8.2f}{np.mean(s['border8']):10.2f}{np.mean(s['seconds']):8.2f}")
    if args.report:
        args.report.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
