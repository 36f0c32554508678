"""Speed of the steerable colorizer at 512x512: the whole command with start-up, and an edit
(a hint added) re-coloured with the photo's features kept.

    python bench/steer_speed.py --threads 2

One run of the CLI (``chromaprior colorize``, wall time with Python's start-up and the model
load) and the median of ``--edits`` re-colourings of a prepared photo with 1..N hints.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photo", default="examples/coffee-gray.jpg")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--edits", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gray = np.asarray(Image.open(args.photo).convert("L").resize((args.size, args.size)))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "g.png"
        Image.fromarray(gray).save(src)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "chromaprior.cli", "colorize", str(src), "-o", str(Path(tmp) / "c.png"),
                        "-q", "--threads", str(args.threads)], check=True)
        command = time.perf_counter() - t0
    from chromaprior.methods.colorize import Colorizer
    from chromaprior.core.hints import Hint

    col = Colorizer()
    t0 = time.perf_counter()
    photo = col.prepare(torch.from_numpy(gray.astype(np.float32) / 255))
    prepare = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    hints, times = [], []
    for _ in range(args.edits):
        hints.append(Hint(float(rng.integers(args.size)), float(rng.integers(args.size)),
                          tuple(float(v) for v in rng.integers(0, 256, 3)), 3.0))
        t0 = time.perf_counter()
        photo.colorize(hints)
        times.append(time.perf_counter() - t0)
    print(f"{args.size}x{args.size}, {args.threads} threads: command with start-up {command:.2f} s; "
          f"prepare (encoder, once per photo) {prepare:.2f} s; edit re-coloured in {statistics.median(times):.3f} s "
          f"(median of {args.edits}, 1..{args.edits} hints)")


if __name__ == "__main__":
    main()
