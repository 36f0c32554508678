"""User colour hints: "this spot is red".

A hints file is a JSON list whose items are points
``{"x": col, "y": row, "rgb": [r, g, b], "radius": px}`` (``radius`` optional, default
:data:`DEFAULT_RADIUS`) or strokes, i.e. lists of such points (consecutive points are
joined). Coordinates are the input image's pixels, colours 0..255.

A hint fixes the *chroma* of the pixels it covers (``rgb - gray(rgb)``), never their
gray: the photo's luminance stays exact. For the score prior the hinted pixels become
extra rows of the operator (three chroma rows at each hinted pixel; with the gray row
the colour is then fully determined there), so the sampler propagates them through the
prior; for the supervised colorizers they are blended into the predicted chroma
(:func:`propagate`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from . import operators
from .filters import gaussian_blur
from .io import InputError

__all__ = [
    "Hint",
    "load_hints",
    "parse_hints",
    "rasterize",
    "chroma_matrix",
    "hint_operator",
    "propagate",
    "DEFAULT_RADIUS",
]

DEFAULT_RADIUS = 4.0


@dataclass(frozen=True)
class Hint:
    x: float
    y: float
    rgb: tuple[float, float, float]  #: 0..255
    radius: float = DEFAULT_RADIUS


def _point(item, where: str) -> Hint:
    if not isinstance(item, dict):
        raise InputError(f"{where}: a hint must be an object {{x, y, rgb[, radius]}} or a list of them")
    unknown = set(item) - {"x", "y", "rgb", "radius"}
    if unknown:
        raise InputError(f"{where}: unknown hint field(s) {sorted(unknown)}")
    try:
        x, y = float(item["x"]), float(item["y"])
        rgb = tuple(float(v) for v in item["rgb"])
        radius = float(item.get("radius", DEFAULT_RADIUS))
    except KeyError as e:
        raise InputError(f"{where}: hint without {e.args[0]!r}") from None
    except (TypeError, ValueError):
        raise InputError(f"{where}: x, y, radius must be numbers and rgb a list of three numbers") from None
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise InputError(f"{where}: rgb must be three values in 0..255, got {item['rgb']}")
    if not 0 <= radius <= 500:
        raise InputError(f"{where}: radius must be in 0..500, got {radius}")
    return Hint(x, y, rgb, radius)  # type: ignore[arg-type]


def parse_hints(data, width: int, height: int, source: str = "hints") -> list[Hint]:
    """Validate decoded JSON; strokes are densified into points one radius apart."""
    if not isinstance(data, list):
        raise InputError(f"{source}: expected a JSON list of hints")
    hints: list[Hint] = []
    for i, item in enumerate(data):
        where = f"{source}: item {i}"
        points = [_point(p, f"{where}.{j}") for j, p in enumerate(item)] if isinstance(item, list) else [_point(item, where)]
        for p in points:
            if not (0 <= p.x < width and 0 <= p.y < height):
                raise InputError(f"{where}: point ({p.x:g}, {p.y:g}) is outside the {width}x{height} image")
        if not points:
            raise InputError(f"{where}: empty stroke")
        hints.append(points[0])
        for a, b in zip(points, points[1:]):
            steps = max(1, int(((b.x - a.x) ** 2 + (b.y - a.y) ** 2) ** 0.5 / max(1.0, min(a.radius, b.radius))))
            for s in range(1, steps + 1):
                t = s / steps
                hints.append(Hint(a.x + t * (b.x - a.x), a.y + t * (b.y - a.y),
                                  tuple(u + t * (v - u) for u, v in zip(a.rgb, b.rgb)), a.radius + t * (b.radius - a.radius)))  # type: ignore[arg-type]
    return hints


def load_hints(path: str | Path, width: int, height: int) -> list[Hint]:
    """Read and validate a hints file for an image of ``width`` x ``height``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such hints file")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None
    return parse_hints(data, width, height, str(path))


def rasterize(hints: list[Hint], height: int, width: int, scale: tuple[float, float]) -> tuple[Tensor, Tensor]:
    """Hinted pixels on a grid ``height x width`` that is the image scaled by ``scale``
    ``(sy, sx)``: returns ``keep`` ``(1, 1, H, W)`` (1 where hinted) and the hinted colours
    ``(1, 3, H, W)`` in ``[0, 1]`` (later hints win where discs overlap)."""
    keep = torch.zeros(1, 1, height, width)
    colors = torch.zeros(1, 3, height, width)
    rows = torch.arange(height, dtype=torch.float32)[:, None]
    cols = torch.arange(width, dtype=torch.float32)[None, :]
    sy, sx = scale
    for h in hints:
        r = max(0.5, h.radius * min(sy, sx))  # at least the nearest pixel
        cy, cx = (h.y + 0.5) * sy - 0.5, (h.x + 0.5) * sx - 0.5
        disc = (rows - cy) ** 2 + (cols - cx) ** 2 <= r * r
        if not disc.any():  # a tiny hint still marks its nearest pixel
            disc[min(height - 1, max(0, round(cy))), min(width - 1, max(0, round(cx)))] = True
        keep[0, 0][disc] = 1
        colors[0][:, disc] = (torch.tensor(h.rgb) / 255)[:, None]
    return keep, colors


def chroma_matrix(weights: tuple[float, ...]) -> Tensor:
    """``C = I - 1 w^T`` (3 x 3): ``C x`` is the chroma of ``x`` for the gray weights ``w``
    (summing to 1), so that ``w . (C x) = 0``."""
    return torch.eye(3) - torch.ones(3, 1) * torch.tensor(weights, dtype=torch.float32)[None, :]


def hint_operator(keep: Tensor, weights: tuple[float, ...]) -> operators.Operator:
    """The chroma rows ``C x`` at the hinted pixels: ``(1, 3, H, W) -> (1, 3, H, W)``."""
    return operators.Operator(chroma_matrix(weights)[None, :, :, None, None] * keep[:, :, None])


def propagate(chroma: Tensor, keep: Tensor, hinted: Tensor, spread: float) -> Tensor:
    """Blend hinted chroma into a predicted chroma map (for the supervised colorizers):
    the correction ``hinted - chroma`` at hinted pixels is spread by normalised Gaussian
    convolution of width ``spread`` and faded out with the distance from the hints.

    Args:
        chroma: ``(1, 3, H, W)`` predicted chroma; keep ``(1, 1, H, W)``; hinted ``(1, 3, H, W)``.
    Returns:
        ``(1, 3, H, W)`` equal to ``hinted`` where ``keep`` is 1.
    """
    weight = gaussian_blur(keep, spread)
    correction = gaussian_blur(keep * (hinted - chroma), spread) / weight.clamp_min(1e-8)
    fade = (weight / weight.amax().clamp_min(1e-8)).sqrt()
    out = chroma + fade * correction
    return torch.where(keep > 0, hinted, out)
