"""Training data: folders of photos, decoded once into a small in-memory cache.

Images are read with EXIF orientation applied, converted to RGB, and downscaled once so
that their short side is ``cache_scale * size``; each sample is then a random square
crop (between ``size`` and the whole short side, so whole-frame views are included),
resized to ``size``, randomly flipped. Near-gray photos are skipped for colour priors.
A deterministic validation split is taken by file-name hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import Tensor

__all__ = ["IMAGE_SUFFIXES", "list_images", "is_near_gray", "ImageCache", "is_validation"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")


def list_images(paths: list[Path] | list[str]) -> list[Path]:
    """All image files under the given files/folders (recursive), sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
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


@dataclass
class ImageCache:
    """Decoded, downscaled training images kept in memory as uint8 ``(3, h, w)`` tensors."""

    images: list[Tensor]
    size: int
    skipped_gray: int = 0
    skipped_unreadable: int = 0

    @classmethod
    def build(
        cls,
        paths: list[Path],
        size: int,
        cache_scale: float = 1.5,
        skip_gray: bool = True,
        split: str = "train",
    ) -> "ImageCache":
        if split not in ("train", "val", "all"):
            raise ValueError(f"split must be train, val or all, got {split!r}")
        short = max(size, int(round(size * cache_scale)))
        images, gray, bad = [], 0, 0
        for p in paths:
            if split != "all" and is_validation(p) != (split == "val"):
                continue
            try:
                with Image.open(p) as im:
                    im = ImageOps.exif_transpose(im).convert("RGB")
                    w, h = im.size
                    s = short / min(w, h)
                    im = im.resize((max(short, round(w * s)), max(short, round(h * s))), Image.BICUBIC)
                    a = np.asarray(im, dtype=np.uint8)
            except (OSError, ValueError):
                bad += 1
                continue
            if skip_gray and is_near_gray(a):
                gray += 1
                continue
            images.append(torch.from_numpy(a.copy()).permute(2, 0, 1).contiguous())
        if not images:
            raise ValueError(f"no usable colour images among {len(paths)} files")
        return cls(images, size, gray, bad)

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, batch: int, generator: torch.Generator) -> Tensor:
        """A random batch ``(batch, 3, size, size)`` in ``[0, 1]``."""
        out = torch.empty(batch, 3, self.size, self.size)
        idx = torch.randint(len(self.images), (batch,), generator=generator)
        for b, i in enumerate(idx.tolist()):
            img = self.images[i]
            _, h, w = img.shape
            c = int(torch.randint(self.size, min(h, w) + 1, (1,), generator=generator))
            top = int(torch.randint(0, h - c + 1, (1,), generator=generator))
            left = int(torch.randint(0, w - c + 1, (1,), generator=generator))
            crop = img[:, top : top + c, left : left + c].float()[None] / 255
            if c != self.size:
                crop = F.interpolate(crop, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
            if torch.rand((), generator=generator) < 0.5:
                crop = crop.flip(-1)
            out[b] = crop[0].clamp(0, 1)
        return out
