"""Packs of training photos for a machine with little upload room (the GPU recipe,
``bench/pack_photos.py``): each root's training-split colour photos, shrunk to a short side
and re-encoded as JPEG, in the same layout and names, within a byte budget."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from ..core.io import read_image
from .data import is_near_gray, is_validation, list_images

__all__ = ["pack", "pack_one", "folder_bytes", "caps_for_budget"]


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
