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
import math
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
    "simulated_user",
    "hint_files",
    "DEFAULT_RADIUS",
    "MAX_HINT_POINTS",
    "MAX_HINT_BYTES",
]

DEFAULT_RADIUS = 4.0
#: Most points a hints list may give, and most after strokes are joined (one point per
#: radius along each segment): more is an error, not minutes of work.
MAX_HINT_POINTS = 2_000
MAX_JOINED_POINTS = 20_000
#: Largest hints file / form field (bytes) and JSON nesting accepted.
MAX_HINT_BYTES = 1_000_000
_MAX_DEPTH = 4  # list > stroke > point > rgb


def _number(value, name: str, where: str) -> float:
    """A JSON number (not a string, a boolean or NaN/infinity)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
        raise InputError(f"{where}: {name} must be a number, got {json.dumps(value)[:40]}")
    return float(value)


def _depth(data, limit: int) -> int:
    """Nesting depth of decoded JSON, stopping past ``limit``."""
    stack, deepest = [(data, 1)], 0
    while stack:
        item, d = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, d)
            if deepest > limit:
                return deepest
            stack.extend((v, d + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def loads_hints(text: str | bytes, source: str = "hints"):
    """Decode hints JSON with bounds on size and nesting (one-line :class:`InputError`)."""
    if len(text) > MAX_HINT_BYTES:
        raise InputError(f"{source}: {len(text):,} bytes, more than the {MAX_HINT_BYTES:,} accepted for hints")
    try:
        data = json.loads(text)
    except RecursionError:
        raise InputError(f"{source}: JSON nested too deeply for hints (a list of points or strokes)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{source}: hints are not valid JSON ({e})") from None
    if _depth(data, _MAX_DEPTH) > _MAX_DEPTH:
        raise InputError(f"{source}: JSON nested too deeply for hints (a list of points or strokes)")
    return data


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
    for key in ("x", "y", "rgb"):
        if key not in item:
            raise InputError(f"{where}: hint without {key!r}")
    x, y = _number(item["x"], "x", where), _number(item["y"], "y", where)
    radius = _number(item.get("radius", DEFAULT_RADIUS), "radius", where)
    if not isinstance(item["rgb"], list):
        raise InputError(f"{where}: rgb must be a list of three numbers, got {json.dumps(item['rgb'])[:40]}")
    rgb = tuple(_number(v, "rgb", where) for v in item["rgb"])
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise InputError(f"{where}: rgb must be three values in 0..255, got {item['rgb']}")
    if not 0 <= radius <= 500:
        raise InputError(f"{where}: radius must be in 0..500, got {radius}")
    return Hint(x, y, rgb, radius)  # type: ignore[arg-type]


def parse_hints(data, width: int, height: int, source: str = "hints") -> list[Hint]:
    """Validate decoded JSON; strokes are densified into points one radius apart."""
    if not isinstance(data, list):
        raise InputError(f"{source}: expected a JSON list of hints")
    given = sum(len(item) if isinstance(item, list) else 1 for item in data)
    if given > MAX_HINT_POINTS:
        raise InputError(f"{source}: {given:,} hint points, more than the {MAX_HINT_POINTS:,} accepted")
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
            if len(hints) + steps > MAX_JOINED_POINTS:
                raise InputError(f"{where}: the strokes join into more than {MAX_JOINED_POINTS:,} points "
                                 "(one per radius along each stroke); use fewer or wider strokes")
            for s in range(1, steps + 1):
                t = s / steps
                hints.append(Hint(a.x + t * (b.x - a.x), a.y + t * (b.y - a.y),
                                  tuple(u + t * (v - u) for u, v in zip(a.rgb, b.rgb)), a.radius + t * (b.radius - a.radius)))  # type: ignore[arg-type]
    return hints


def load_hints(path: str | Path, width: int, height: int) -> list[Hint]:
    """Read and validate a hints file for an image of ``width`` x ``height``."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such hints file")
    if not path.is_file():
        raise InputError(f"{path}: the hints file is not a regular file")
    if path.stat().st_size > MAX_HINT_BYTES:
        raise InputError(f"{path}: {path.stat().st_size:,} bytes, more than the {MAX_HINT_BYTES:,} accepted for hints")
    try:
        text = path.read_text()
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: hints are not valid JSON text ({e})") from None
    return parse_hints(loads_hints(text, str(path)), width, height, str(path))


def rasterize(hints: list[Hint], height: int, width: int, scale: tuple[float, float],
              rows: tuple[int, int] | None = None) -> tuple[Tensor, Tensor]:
    """Hinted pixels on a grid ``height x width`` that is the image scaled by ``scale``
    ``(sy, sx)``: returns ``keep`` ``(1, 1, H, W)`` (1 where hinted) and the hinted colours
    ``(1, 3, H, W)`` in ``[0, 1]`` (later hints win where discs overlap). ``rows`` ``(top,
    bottom)``: only those rows of the grid (``H = bottom - top``), the same pixels as the
    whole grid's."""
    top = rows[0] if rows else 0
    if rows:
        height = rows[1] - rows[0]
    keep = torch.zeros(1, 1, height, width)
    colors = torch.zeros(1, 3, height, width)
    sy, sx = scale
    for h in hints:
        r = max(0.5, h.radius * min(sy, sx))  # at least the nearest pixel
        cy, cx = (h.y + 0.5) * sy - 0.5 - top, (h.x + 0.5) * sx - 0.5
        # the disc's bounding box only (the same pixels as a test over the whole grid)
        r0, r1 = max(0, math.ceil(cy - r)), min(height, math.floor(cy + r) + 1)
        c0, c1 = max(0, math.ceil(cx - r)), min(width, math.floor(cx + r) + 1)
        ys = torch.arange(r0, max(r0, r1), dtype=torch.float32)[:, None]
        xs = torch.arange(c0, max(c0, c1), dtype=torch.float32)[None, :]
        disc = (ys - cy) ** 2 + (xs - cx) ** 2 <= r * r
        if not disc.any():  # a tiny hint still marks its nearest pixel (of the whole grid)
            if rows and not rows[0] <= max(0, round(cy + top)) < rows[1]:
                continue  # that pixel is in another strip
            r0, c0 = min(height - 1, max(0, round(cy))), min(width - 1, max(0, round(cx)))
            r1, c1 = r0 + 1, c0 + 1
            disc = torch.ones(1, 1, dtype=torch.bool)
        keep[0, 0, r0:r1, c0:c1][disc] = 1
        colors[0, :, r0:r1, c0:c1][:, disc] = (torch.tensor(h.rgb) / 255)[:, None]
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


def simulated_user(rgb: Tensor, count: int, seed: int, patch: int = 5, radius: float = 2.5) -> list[Hint]:
    """The evaluation's simulated user: ``count`` spots drawn uniformly (``seed``) so that a
    ``patch x patch`` patch fits inside the ``(1, 3, H, W)`` ground truth in ``[0, 1]``, each a
    hint of the rounded mean colour of the patch there with ``radius``. The spots of a smaller
    ``count`` are the first ones of a larger (the same seed)."""
    _, _, height, width = rgb.shape
    if height < patch or width < patch:
        return []
    half = patch // 2
    gen = torch.Generator().manual_seed(seed)
    hints = []
    for _ in range(count):
        y = int(torch.randint(half, height - (patch - half) + 1, (), generator=gen))
        x = int(torch.randint(half, width - (patch - half) + 1, (), generator=gen))
        mean = rgb[0, :, y - half:y - half + patch, x - half:x - half + patch].mean(dim=(1, 2)) * 255
        hints.append(Hint(float(x), float(y), tuple(float(v) for v in torch.round(mean).tolist()), radius))  # type: ignore[arg-type]
    return hints


def hint_files(inputs: list[Path], sources: list[Path], folder: str | Path) -> tuple[dict[Path, Path | None], list[Path]]:
    """Pair the photos of a run with the hints files of ``folder``: ``folder/NAME.json``, NAME
    being a photo's path relative to the input folder (of ``inputs``) it was found in, or its
    file name for a photo given by itself, without the suffix. Returns ``({photo: its hints
    file or None}, [hints files that no photo has])``."""
    folder = Path(folder)
    dirs = [Path(i) for i in inputs if Path(i).is_dir()]
    paired: dict[Path, Path | None] = {}
    for src in sources:
        root = next((d for d in dirs if d.resolve() in src.resolve().parents), None)
        name = src.relative_to(root) if root is not None else Path(src.name)
        candidate = folder / name.with_suffix(".json")
        paired[src] = candidate if candidate.is_file() else None
    used = {p.resolve() for p in paired.values() if p is not None}
    unused = sorted(p for p in folder.rglob("*.json") if p.resolve() not in used)
    return paired, unused
