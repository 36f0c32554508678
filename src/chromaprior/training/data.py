"""Training data: folders of photos, decoded once into a small in-memory cache.

Images are read with :func:`chromaprior.core.io.read_image` (the reader of every input: EXIF
orientation, colour profiles, 16 bit, ``.npy``), made RGB, and downscaled once.
By default their short side becomes ``cache_scale * size`` and each sample is a random
square crop (between ``size`` and the whole short side, so whole-frame views are
included) resized to ``size``; with ``downscale=f`` they are shrunk by ``f`` and each
sample is a ``size`` crop at that scale, never resized (fine detail for restoration
priors). Crops are randomly flipped. Near-gray photos are skipped for colour priors.
A deterministic validation split is taken by file-name hash.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ..core.errors import InputError
from ..core.io import IMAGE_SUFFIXES, is_temporary, read_image

__all__ = ["list_images", "is_near_gray", "ImageCache", "is_validation", "group_weights"]


def list_images(paths: list[Path] | list[str], suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> list[Path]:
    """All image files under the given files/folders (recursive; the ``suffixes``, any case:
    by default those of :data:`chromaprior.core.io.IMAGE_SUFFIXES`), sorted; the temporary files of
    interrupted writes (:func:`chromaprior.core.io.is_temporary`) are never listed."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in suffixes
                       and not is_temporary(q))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return sorted(out)


def is_near_gray(rgb: np.ndarray, threshold: float = 4.0) -> bool:
    """True when an ``(H, W, 3)`` uint8 image has (almost) no colour: the mean absolute
    deviation of its channels from their mean is below ``threshold`` (in 0..255)."""
    a = rgb.astype(np.float32)
    return float(np.abs(a - a.mean(axis=2, keepdims=True)).mean()) < threshold


def is_validation(path: Path, fraction: float = 0.05) -> bool:
    """Deterministic split by a hash of the file name (not the folder)."""
    h = int(hashlib.sha1(path.name.encode()).hexdigest()[:8], 16)
    return (h % 10_000) < fraction * 10_000


def group_weights(paths: list[Path], roots: list[Path] | list[str]) -> Tensor:
    """Sampling weights ``(N,)`` that give each of ``roots`` (folders) the same share of a
    batch, whatever its number of images; a path under none of them counts as its own root."""
    resolved = [Path(r).resolve() for r in roots]

    def root_of(p: Path) -> Path:
        q = Path(p).resolve()
        return next((r for r in resolved if r == q or r in q.parents), q)

    groups = [root_of(p) for p in paths]
    counts: dict[Path, int] = {}
    for g in groups:
        counts[g] = counts.get(g, 0) + 1
    return torch.tensor([1.0 / counts[g] for g in groups], dtype=torch.float64)


@dataclass
class ImageCache:
    """Decoded, downscaled training images kept in memory as uint8 ``(3, h, w)`` tensors."""

    images: list[Tensor]
    size: int
    skipped_gray: int = 0
    skipped_unreadable: int = 0
    fixed_scale: bool = False  #: crops of exactly ``size``, never resized
    #: relative sampling weight of each image (None: uniform); see :func:`group_weights`
    weights: Tensor | None = None

    @classmethod
    def build(
        cls,
        paths: list[Path],
        size: int,
        cache_scale: float = 1.5,
        skip_gray: bool = True,
        split: str = "train",
        downscale: float = 0.0,
        workers: int = 0,
        roots: list[Path] | list[str] | None = None,
    ) -> "ImageCache":
        """Decode ``paths`` (those of ``split``) with ``workers`` threads (0: up to 8);
        with ``roots``, batches draw every root's images equally often (:func:`group_weights`)."""
        if split not in ("train", "val", "all"):
            raise InputError(f"split must be train, val or all, got {split!r}")
        short = max(size, int(round(size * cache_scale)))

        def decode(p: Path) -> np.ndarray | None:
            """``(h, w, 3)`` uint8, shrunk; None when unreadable (an alpha channel is dropped)."""
            try:
                pixels = read_image(p).pixels
            except (OSError, ValueError):  # InputError is a ValueError
                return None
            if pixels.ndim == 2:
                pixels = np.repeat(pixels[..., None], 3, axis=2)
            im = Image.fromarray(np.rint(pixels * 255).astype(np.uint8))
            w, h = im.size
            s = short / min(w, h) if downscale <= 0 else 1 / downscale
            if s * min(w, h) < size:
                s = size / min(w, h)
            if s != 1:
                im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BICUBIC)
            return np.asarray(im, dtype=np.uint8)

        chosen = [p for p in paths if split == "all" or is_validation(p) == (split == "val")]
        images, sources, gray, bad = [], [], 0, 0
        # PIL releases the GIL while decoding and resizing: threads decode in parallel,
        # and map keeps the file order, so the cache does not depend on the thread count
        with ThreadPoolExecutor(max(1, workers or min(8, os.cpu_count() or 1))) as pool:
            for p, a in zip(chosen, pool.map(decode, chosen)):
                if a is None:
                    bad += 1
                elif skip_gray and is_near_gray(a):
                    gray += 1
                else:
                    images.append(torch.from_numpy(a.copy()).permute(2, 0, 1).contiguous())
                    sources.append(p)
        if not images:
            raise InputError(f"no usable colour images among {len(paths)} files")
        weights = group_weights(sources, roots) if roots else None
        return cls(images, size, gray, bad, fixed_scale=downscale > 0, weights=weights)

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, batch: int, generator: torch.Generator) -> Tensor:
        """A random batch ``(batch, 3, size, size)`` in ``[0, 1]``."""
        out = torch.empty(batch, 3, self.size, self.size)
        if self.weights is None:
            idx = torch.randint(len(self.images), (batch,), generator=generator)
        else:
            idx = torch.multinomial(self.weights, batch, replacement=True, generator=generator)
        for b, i in enumerate(idx.tolist()):
            img = self.images[i]
            _, h, w = img.shape
            c = self.size if self.fixed_scale else int(torch.randint(self.size, min(h, w) + 1, (1,), generator=generator))
            top = int(torch.randint(0, h - c + 1, (1,), generator=generator))
            left = int(torch.randint(0, w - c + 1, (1,), generator=generator))
            crop = img[:, top : top + c, left : left + c].float()[None] / 255
            if c != self.size:
                crop = F.interpolate(crop, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
            if torch.rand((), generator=generator) < 0.5:
                crop = crop.flip(-1)
            out[b] = crop[0].clamp(0, 1)
        return out
