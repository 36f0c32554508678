"""Small PNG figures drawn with Pillow (no plotting dependency): loss curves, galleries."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..core.io import atomic_write

__all__ = ["plot_loss", "plot_points", "gallery"]


def plot_loss(log_path: str | Path, png_path: str | Path, width: int = 640, height: int = 360) -> None:
    """Plot ``loss`` against ``step`` from a JSON-lines training log (log-scale loss axis)."""
    rows = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("loss", 0) > 0]
    if len(rows) < 2:
        return
    steps = np.array([r["step"] for r in rows], dtype=float)
    loss = np.log10([r["loss"] for r in rows])
    im = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(im)
    left, right, top, bottom = 60, width - 20, 20, height - 40
    d.rectangle([left, top, right, bottom], outline="black")
    lo, hi = float(loss.min()), float(loss.max())
    hi = hi if hi > lo else lo + 1e-3
    s0, s1 = float(steps.min()), float(steps.max())
    xs = left + (steps - s0) / max(s1 - s0, 1) * (right - left)
    ys = bottom - (loss - lo) / (hi - lo) * (bottom - top)
    d.line(list(zip(xs.tolist(), ys.tolist())), fill=(200, 40, 40), width=2)
    d.text((left, bottom + 8), f"step {int(s0)}", fill="black")
    d.text((right - 90, bottom + 8), f"step {int(s1)}", fill="black")
    d.text((4, top), f"{10 ** hi:.3g}", fill="black")
    d.text((4, bottom - 10), f"{10 ** lo:.3g}", fill="black")
    d.text((left + 8, top + 6), "DSM loss (log scale)", fill="black")
    atomic_write(png_path, lambda f: im.save(f, format="PNG"))


def plot_points(series: dict[str, list[tuple[float, float]]], png_path: str | Path, title: str,
                log_x: bool = True, width: int = 480, height: int = 320) -> None:
    """Labelled marker-and-line series ``{name: [(x, y), ...]}`` (log-scale x by default)."""
    colors = [(200, 40, 40), (40, 90, 200), (40, 150, 60), (150, 80, 180)]
    pts = [p for v in series.values() for p in v]
    xs = np.log10([p[0] for p in pts]) if log_x else np.array([p[0] for p in pts], float)
    ys = np.array([p[1] for p in pts], float)
    im = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(im)
    left, right, top, bottom = 60, width - 20, 28, height - 40
    d.rectangle([left, top, right, bottom], outline="black")
    x0, x1 = float(xs.min()), float(xs.max()) + 1e-9
    y0, y1 = float(ys.min()), float(ys.max()) + 1e-9
    pad = 0.08 * (y1 - y0)
    y0, y1 = y0 - pad, y1 + pad

    def at(x: float, y: float) -> tuple[float, float]:
        xv = np.log10(x) if log_x else x
        return left + (xv - x0) / (x1 - x0) * (right - left - 10) + 5, bottom - (y - y0) / (y1 - y0) * (bottom - top)

    for n, (name, values) in enumerate(series.items()):
        c = colors[n % len(colors)]
        xy = [at(x, y) for x, y in values]
        if len(xy) > 1:
            d.line(xy, fill=c, width=2)
        for (x, y), (px, py) in zip(values, xy):
            d.ellipse([px - 3, py - 3, px + 3, py + 3], fill=c)
            d.text((px + 4, py - 12), f"{x:g}", fill=c)
        d.text((right - 130, bottom - 20 - 14 * n), name, fill=c)
    d.text((left, 6), title, fill="black")
    d.text((left, bottom + 8), "NFE (log scale)" if log_x else "", fill="black")
    d.text((4, top), f"{y1:.3g}", fill="black")
    d.text((4, bottom - 10), f"{y0:.3g}", fill="black")
    atomic_write(png_path, lambda f: im.save(f, format="PNG"))


def gallery(rows: list[list[np.ndarray]], titles: list[str], png_path: str | Path, pad: int = 4) -> None:
    """Write a grid of equally sized ``(H, W, 3)`` images in ``[0, 1]`` with column titles."""
    h, w = rows[0][0].shape[:2]
    cols = len(rows[0])
    head = 16
    im = Image.new("RGB", (cols * (w + pad) + pad, head + len(rows) * (h + pad) + pad), "white")
    d = ImageDraw.Draw(im)
    for c, title in enumerate(titles):
        d.text((pad + c * (w + pad), 2), title, fill="black")
    for r, row in enumerate(rows):
        for c, a in enumerate(row):
            tile = Image.fromarray(np.clip(np.rint(a * 255), 0, 255).astype(np.uint8))
            im.paste(tile, (pad + c * (w + pad), head + pad + r * (h + pad)))
    atomic_write(png_path, lambda f: im.save(f, format="PNG"))
