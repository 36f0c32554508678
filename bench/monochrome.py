"""How well `is_monochrome` tells colour photos from gray or toned ones.

    python bench/monochrome.py --data ../shared/data/train/bsds500 --data ../shared/data/train/imagenet-sample

For every colour photo (near-gray sources skipped, as in training) it reports whether the
rule calls the photo monochrome (a colour photo wrongly accepted by `colorize`) and whether
it calls a toned copy monochrome (a sepia-like print: the photo's gray times a random tint
of +-20 % per channel plus an offset, saved as JPEG at a random quality 40..95; a toned
scan wrongly refused). Fixed seed; photos shrunk to 512 px.
"""

from __future__ import annotations

import argparse
import io

import numpy as np
from PIL import Image

from chromaprior.training.data import is_near_gray, list_images
from chromaprior.core.io import is_monochrome


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    colour_accepted, toned_accepted, n = [], [], 0
    for path in list_images(args.data):
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((512, 512))
            a = np.asarray(im)
        if is_near_gray(a):
            continue
        n += 1
        if is_monochrome(a / 255.0):
            colour_accepted.append(path.name)
        tint = rng.uniform(0.8, 1.2, 3)
        toned = np.clip(a.mean(axis=2, keepdims=True) / 255.0 * tint + rng.uniform(-0.03, 0.03, 3), 0, 1)
        buf = io.BytesIO()
        Image.fromarray(np.rint(toned * 255).astype(np.uint8)).save(buf, "JPEG", quality=int(rng.integers(40, 96)))
        if is_monochrome(np.asarray(Image.open(buf).convert("RGB")) / 255.0):
            toned_accepted.append(path.name)
    print(f"colour photos: {n}; called monochrome: {len(colour_accepted)} ({100 * len(colour_accepted) / n:.1f} %)")
    print(f"toned copies called monochrome: {len(toned_accepted)} ({100 * len(toned_accepted) / n:.1f} %)")
    print("colour photos called monochrome:", " ".join(colour_accepted))


if __name__ == "__main__":
    main()
