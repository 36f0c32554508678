"""Benchmark harness: one seeded run, trivial baselines beside ours, NFE and seconds.

Each evaluation image is resized (short side) and centre-cropped to ``size x size`` (or
kept whole, ``size=None``, the standard for demosaicking), degraded by the task's
operator, restored, quantised to 8 bits as a saved file would be, and scored against
the ground truth. No sample is ever chosen by comparing it with the ground truth.

Baselines: the gray image for colorization; bilinear, Malvar 2004 and Menon 2007 for
demosaicking; biharmonic and Telea for inpainting (:mod:`chromaprior.methods.baselines`).
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.errors import InputError
from ..core import operators
from ..methods.colorize import Colorizer
from ..core.hints import simulated_user
from ..methods.hgm import Restorer
from ..core.io import atomic_write, read_image
from .metrics import (HUE_SECTORS, balanced_color_accuracy, colorfulness, frechet_distance, hue_sector_counts, psnr,
                      ssim)

__all__ = [
    "load_eval_image",
    "quantize",
    "MethodScores",
    "evaluate_colorize",
    "GRAY_GROUND_TRUTH",
    "evaluate_demosaick",
    "evaluate_inpaint",
    "missing_mask",
    "MASKS",
    "format_table",
    "write_report",
]


def load_eval_image(path: Path, size: int | None) -> Tensor:
    """``(1, 3, size, size)`` in ``[0, 1]``: short side resized to ``size``, centre crop;
    ``size=None``: the whole image."""
    pic = read_image(path)
    a = pic.pixels if pic.is_color else np.repeat(pic.pixels[..., None], 3, axis=2)
    x = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float()
    if size is None:
        return quantize(x)
    h, w = x.shape[-2:]
    s = size / min(h, w)
    nh, nw = max(size, round(h * s)), max(size, round(w * s))
    x = F.interpolate(x, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
    top, left = (nh - size) // 2, (nw - size) // 2
    return quantize(x[..., top : top + size, left : left + size])


def quantize(x: Tensor) -> Tensor:
    """Round to 8 bits, as writing a PNG would."""
    return torch.round(x.clamp(0, 1) * 255) / 255


@dataclass
class MethodScores:
    name: str
    nfe: int = 0
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    colorfulness: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    features: list[Tensor] = field(default_factory=list)
    #: colour accuracy counts (:func:`hue_sector_counts`) pooled over the images; ``None``
    #: when not measured (restoration tasks)
    hits: Tensor | None = None
    totals: Tensor | None = None

    def add(self, out: Tensor, ref: Tensor, seconds: float, features: Callable[[Tensor], Tensor] | None = None,
            border: int = 0, accuracy: bool = False) -> None:
        if features is not None:
            self.features.append(features(out))
        if border:
            out, ref = out[..., border:-border, border:-border], ref[..., border:-border, border:-border]
        self.psnr.append(float(psnr(out, ref)))
        self.ssim.append(float(ssim(out, ref)))
        self.colorfulness.append(float(colorfulness(out)))
        self.seconds.append(seconds)
        if accuracy:
            hits, totals = (c.sum(0) for c in hue_sector_counts(out, ref))
            self.hits = hits if self.hits is None else self.hits + hits
            self.totals = totals if self.totals is None else self.totals + totals

    @classmethod
    def pooled(cls, parts: list["MethodScores"]) -> "MethodScores":
        """One row's scores over several image sets (lists joined, counts summed)."""
        out = cls(parts[0].name, nfe=parts[0].nfe)
        for p in parts:
            for key in ("psnr", "ssim", "colorfulness", "seconds", "features"):
                getattr(out, key).extend(getattr(p, key))
            if p.hits is not None:
                out.hits = p.hits if out.hits is None else out.hits + p.hits
                out.totals = p.totals if out.totals is None else out.totals + p.totals
        return out

    def summary(self, reference_features: list[Tensor] | None = None,
                reference_colorfulness: list[float] | None = None) -> dict:
        extra = {}
        if reference_features and len(self.features) >= 2:
            extra["fid"] = frechet_distance(torch.cat(self.features), torch.cat(reference_features))
        row = extra | {
            "method": self.name,
            "psnr": _mean(self.psnr),
            "ssim": _mean(self.ssim),
            "colorfulness": _mean(self.colorfulness),
        }
        if reference_colorfulness is not None:
            row["colorfulness_gap"] = (abs(_mean(self.colorfulness) - _mean(reference_colorfulness))
                                       if self.colorfulness and reference_colorfulness else None)
        if self.hits is not None:
            acc, shares = balanced_color_accuracy(self.hits, self.totals)
            row["color_accuracy"] = _finite(acc)
            row["color_accuracy_sectors"] = {k: _finite(float(v)) for k, v in zip(HUE_SECTORS, shares)}
        return row | {"nfe": self.nfe, "seconds_per_image": _mean(self.seconds), "images": len(self.psnr),
                      "psnr_per_image": [round(v, 4) for v in self.psnr]}


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _finite(v: float) -> float | None:
    """NaN (a left-out sector, no clearly coloured pixel) -> ``None`` (JSON null)."""
    return None if v != v else v


#: ground truths whose Hasler-Suesstrunk colourfulness is under this are gray photos and
#: are left out of the colorization scores (the gray baseline would score them 200 dB)
GRAY_GROUND_TRUTH = 2.0


def _hinted(name: str, count: int, counts: tuple[int, ...]) -> str:
    """A row's label with its number of simulated hints (none when only 0 is asked for)."""
    return name if counts == (0,) else f"{name}, {count} hint{'' if count == 1 else 's'}"


def _colorize_set(paths, colorizers, *, size, seed, features, observe, progress, done, total, hint_counts=(0,)):
    """Score one image set: ``(gray row, rows, gt features, gt colourfulness, gray gt names, gt sector totals)``;
    each colorizer gets one row per count of ``hint_counts`` (:func:`chromaprior.hints.simulated_user`)."""
    gray_row = MethodScores("gray (baseline)")
    rows = {(name, k): MethodScores(_hinted(name, k, hint_counts), nfe=col.nfe(preset))
            for name, (col, preset) in colorizers.items() for k in hint_counts}
    gt_color, gt_features, gray_names = [], [], []
    for i, path in enumerate(paths):
        ref = load_eval_image(path, size)
        cf = float(colorfulness(ref))
        if cf < GRAY_GROUND_TRUTH:
            gray_names.append(Path(path).name)
        else:
            gt_color.append(cf)
            if features is not None:
                gt_features.append(features(ref))
            y = quantize(observe.forward(ref))
            for (name, k), row in rows.items():
                col, preset = colorizers[name]
                hints = simulated_user(ref, k, seed + i) if k else None
                t0 = time.perf_counter()
                out = col(y, preset=preset, seed=seed + i, hints=hints)
                row.add(quantize(out.cpu()), ref, time.perf_counter() - t0, features, accuracy=True)
            gray_row.add(y.expand(-1, 3, -1, -1), ref, 0.0, features, accuracy=True)
        done += 1
        if progress:
            progress(done, total)
    return [gray_row, *rows.values()], gt_features, gt_color, gray_names


def _colorize_result(data: str, rows, gt_features, gt_color, gray_names, features, **info) -> dict:
    totals = rows[0].totals if rows[0].totals is not None else torch.zeros(6, dtype=torch.long)
    fid = bool(gt_features) and len(gt_features) >= 2
    return {
        "task": "colorize",
        "data": data,
        **info,
        "images": len(gt_color),
        "gray_ground_truths_left_out": len(gray_names),
        "gray_ground_truth_files": gray_names,
        "ground_truth_colorfulness": _mean(gt_color),
        "ground_truth_sector_pixels": {k: int(v) for k, v in zip(HUE_SECTORS, totals)},
        "fid_network": getattr(features, "name", type(features).__name__) if features is not None else None,
        "fid_images": len(gt_features) if fid else 0,
        "rows": [r.summary(gt_features, gt_color) for r in rows],
    }


def evaluate_colorize(
    paths: list[Path] | dict[str, list[Path]],
    colorizers: dict[str, tuple[Colorizer, str]],
    *,
    size: int = 128,
    seed: int = 0,
    limit: int | None = None,
    features: Callable[[Tensor], Tensor] | None = None,
    observe: operators.Operator | None = None,
    progress: Callable[[int, int], None] | None = None,
    hint_counts: tuple[int, ...] = (0,),
) -> dict:
    """Colorization benchmark.

    Every row has PSNR, SSIM, colourfulness, the colourfulness gap ``|mean CF(out) - mean
    CF(GT)|``, the balanced colour accuracy and its six hue-sector shares (counts pooled
    over the set, :func:`chromaprior.evaluation.metrics.balanced_color_accuracy`; ``None`` for a
    sector left out) and, with ``features``, the FID against the ground truths. Gray
    ground truths (colourfulness under :data:`GRAY_GROUND_TRUTH`) are left out and counted.

    Args:
        paths: colour ground-truth images, or ``{set name: images}`` for several sets: each
            set is scored on its own (``result["sets"]``, as a run on that set alone would
            be) and all are pooled in ``result["rows"]`` (FID over the union).
        colorizers: ``{row name: (colorizer, preset name)}``.
        size: evaluation size (square).
        seed: the one seed (image ``i`` of a set uses ``seed + i``).
        limit: evaluate only the first ``limit`` images of each set (sorted by name).
        features: a FID feature network (images in ``[0, 1]`` -> ``(B, D)``): adds a ``fid``
            column (against the ground truths, when at least 2 images are scored).
        observe: the operator that makes the gray inputs from the ground truth (default:
            the mean, JGM's); a colorizer assuming another one is then "blind".
        hint_counts: numbers of hints given by the simulated user
            (:func:`chromaprior.hints.simulated_user`, seeded per image): one row per
            colorizer and count (labelled ``NAME, K hints`` unless only 0 is asked for).
    Returns:
        ``{"rows": [...], "ground_truth_colorfulness": ..., "images": n, ...}``.
    """
    sets = {str(Path(paths[0]).parent) if paths else "": list(paths)} if not isinstance(paths, dict) else paths
    sets = {name: list(p)[:limit] for name, p in sets.items()}
    if not sets or not all(sets.values()):
        raise InputError("no images to evaluate")
    observe = observe or operators.gray()
    total, done = sum(map(len, sets.values())), 0
    hint_counts = tuple(hint_counts) or (0,)
    info = {"size": size, "seed": seed} | ({"hints": list(hint_counts)} if hint_counts != (0,) else {})
    parts = []
    for name, set_paths in sets.items():
        part = _colorize_set(set_paths, colorizers, size=size, seed=seed, features=features, observe=observe,
                             progress=progress, done=done, total=total, hint_counts=hint_counts)
        done += len(set_paths)
        parts.append((name, part))
    if len(parts) == 1:
        return _colorize_result(parts[0][0], *parts[0][1], features, **info)
    pooled_rows = [MethodScores.pooled(list(rs)) for rs in zip(*(p[0] for _, p in parts))]
    joined = [sum((list(p[k]) for _, p in parts), []) for k in (1, 2, 3)]
    result = _colorize_result(" + ".join(n for n, _ in parts), pooled_rows, *joined, features, **info)
    result["sets"] = [_colorize_result(n, *p, features, **info) for n, p in parts]
    return result


#: ``--missing`` choices of the inpainting benchmark
MASKS = ("0.5", "0.8", "block")


def missing_mask(height: int, width: int, kind: str, generator: torch.Generator) -> Tensor:
    """``(1, 1, H, W)`` bool, true = missing: a random fraction of pixels (``"0.5"``,
    ``"0.8"``) or a centred block of half the height and width (``"block"``)."""
    if kind == "block":
        m = torch.zeros(1, 1, height, width, dtype=torch.bool)
        m[..., height // 4 : height // 4 + height // 2, width // 4 : width // 4 + width // 2] = True
        return m
    if kind not in MASKS:
        raise InputError(f"unknown mask {kind!r}; choose one of {', '.join(MASKS)}")
    return torch.rand(1, 1, height, width, generator=generator) < float(kind)


def _evaluate_restoration(
    task: str,
    paths: list[Path],
    methods: dict[str, tuple[int, Callable[[Tensor, object, int], Tensor]]],
    degrade: Callable[[Tensor, int], tuple[Tensor, object]],
    *,
    size: int | None,
    seed: int,
    limit: int | None,
    border: int,
    progress: Callable[[int, int], None] | None,
    reference: str | None = None,
    **info,
) -> dict:
    """Shared loop: ``degrade(ref, i) -> (y, aux)``; each method ``(nfe, f(y, aux, seed))``;
    with ``reference`` (a row name) the result has per-image ``margins`` against that row."""
    paths = list(paths)[:limit]
    if not paths:
        raise InputError("no images to evaluate")
    rows = {name: MethodScores(name, nfe=nfe) for name, (nfe, _) in methods.items()}
    for i, path in enumerate(paths):
        ref = load_eval_image(path, size)
        if border and 2 * border >= min(ref.shape[-2:]):
            raise InputError(f"border {border} leaves nothing of a {tuple(ref.shape[-2:])} image")
        y, aux = degrade(ref, seed + i)
        for name, (_, fn) in methods.items():
            t0 = time.perf_counter()
            out = fn(y, aux, seed + i)
            rows[name].add(quantize(out.cpu()), ref, time.perf_counter() - t0, border=border)
        if progress:
            progress(i + 1, len(paths))
    result = {
        "task": task,
        "data": str(Path(paths[0]).parent),
        "size": size or "full",
        "seed": seed,
        "images": len(paths),
        "border": border,
        **info,
        "image_names": [Path(p).name for p in paths],
        "rows": [r.summary() for r in rows.values()],
    }
    if reference in rows:
        result["margin_reference"] = reference
        result["margins"] = margins(result, reference)
    return result


def margins(result: dict, reference: str) -> dict:
    """Per-image PSNR differences of every row against the ``reference`` row:
    ``{row: {"mean": dB, "min": dB, "min_image": name, "below": count}}``."""
    rows = {r["method"]: r["psnr_per_image"] for r in result["rows"]}
    names = result.get("image_names") or [str(i) for i in range(result["images"])]
    out = {}
    for name, values in rows.items():
        if name == reference:
            continue
        d = np.asarray(values) - np.asarray(rows[reference])
        i = int(np.argmin(d))
        out[name] = {"mean": float(d.mean()), "min": float(d[i]), "min_image": names[i], "below": int((d < 0).sum())}
    return out


def evaluate_demosaick(
    paths: list[Path],
    restorers: dict[str, tuple[Restorer, str]],
    *,
    pattern: str = "RGGB",
    size: int | None = None,
    border: int = 0,
    seed: int = 0,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Demosaicking benchmark: CPSNR/SSIM (``border`` pixels cropped on each side) of
    bilinear, Malvar 2004, Menon 2007 and ``restorers`` (``{row: (demosaicker, preset)}``: an
    HGM :class:`Restorer` or a :class:`~chromaprior.methods.learned.LearnedDemosaicker`, which
    ignores the preset), with every row's per-image margin over Menon 2007 (``margins``)."""
    from ..methods.baselines import DEMOSAICKERS

    methods = {name: (0, lambda y, p, s, f=f: f(y, p)) for name, f in DEMOSAICKERS.items()}
    for name, (r, preset) in restorers.items():
        methods[name] = (r.nfe(preset), lambda y, p, s, r=r, preset=preset: r.demosaick(y, p, preset, s))
    cfa = lambda ref, _: (operators.bayer(pattern, *ref.shape[-2:]).forward(ref), pattern)  # noqa: E731
    return _evaluate_restoration("demosaick", paths, methods, cfa, size=size, seed=seed, limit=limit, border=border,
                                 progress=progress, reference="Menon2007", pattern=pattern)


def evaluate_inpaint(
    paths: list[Path],
    restorers: dict[str, tuple[Restorer, str]],
    *,
    missing: str = "0.8",
    size: int | None = None,
    seed: int = 0,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Inpainting benchmark: PSNR/SSIM of biharmonic, Telea and ``restorers`` (HGM
    :class:`Restorer` or :class:`~chromaprior.methods.learned.LearnedInpainter`) on images with a
    seeded random mask (``missing_mask``; image ``i`` uses ``seed + i``), with every row's
    per-image margin over biharmonic (``margins``)."""
    from ..methods.baselines import INPAINTERS

    methods = {name: (0, lambda y, m, s, f=f: f(y, m)) for name, f in INPAINTERS.items()}
    for name, (r, preset) in restorers.items():
        methods[name] = (r.nfe(preset), lambda y, m, s, r=r, preset=preset: r.inpaint(y, m, preset, s))

    def holes(ref: Tensor, s: int) -> tuple[Tensor, Tensor]:
        m = missing_mask(*ref.shape[-2:], missing, torch.Generator().manual_seed(s))
        return ref * ~m, m

    return _evaluate_restoration("inpaint", paths, methods, holes, size=size, seed=seed, limit=limit, border=0,
                                 progress=progress, reference="biharmonic", missing=missing)


def _num(v, spec: str, width: int) -> str:
    return f"{'-':>{width}}" if v is None else f"{v:>{width}{spec}}"


def format_table(result: dict) -> str:
    """A plain-text table of an evaluation result (with ``sets``: one table per set, then
    the pooled one)."""
    if "sets" in result:
        pooled = {k: v for k, v in result.items() if k != "sets"}
        return "\n\n".join([*map(format_table, result["sets"]), "pooled: " + format_table(pooled)])
    color = result["task"] == "colorize"
    fid = any("fid" in r for r in result["rows"])
    acc = any("color_accuracy" in r for r in result["rows"])
    wide = max([28] + [len(r["method"]) + 2 for r in result["rows"]])
    head = (
        f"{'method':<{wide}}{'PSNR' if color else 'CPSNR':>8}{'SSIM':>8}"
        + (f"{'colorful':>10}{'CF gap':>8}" if color else "")
        + (f"{'acc':>7}" + "".join(f"{k:>7}" for k in HUE_SECTORS) if acc else "")
        + (f"{'FID':>9}" if fid else "")
        + f"{'NFE':>7}{'s/img':>8}"
    )
    extra = "".join(f" {k}={result[k]}" for k in ("pattern", "missing", "border") if k in result)
    if color:
        extra += f" gray_ground_truths_left_out={result.get('gray_ground_truths_left_out', 0)}"
    lines = [
        f"task={result['task']} data={result['data']} size={result['size']} images={result['images']} "
        f"seed={result['seed']}{extra}",
        head,
        "-" * len(head),
    ]
    for r in result["rows"]:
        sectors = r.get("color_accuracy_sectors", {})
        lines.append(
            f"{r['method']:<{wide}}" + _num(r["psnr"], ".2f", 8) + _num(r["ssim"], ".4f", 8)
            + (_num(r["colorfulness"], ".1f", 10) + _num(r.get("colorfulness_gap"), ".1f", 8) if color else "")
            + (_num(r.get("color_accuracy"), ".3f", 7) + "".join(_num(sectors.get(k), ".3f", 7) for k in HUE_SECTORS)
               if acc else "")
            + (_num(r.get("fid"), ".2f", 9) if fid else "")
            + f"{r['nfe']:>7d}" + _num(r["seconds_per_image"], ".2f", 8)
        )
    if color:
        lines.append(f"{'ground truth':<{wide}}{'':>8}{'':>8}" + _num(result["ground_truth_colorfulness"], ".1f", 10))
        notes = []
        if acc:
            pixels = result.get("ground_truth_sector_pixels", {})
            n = sum(pixels.values()) or 1
            notes.append("clearly coloured GT pixels (C*ab > 15) by hue sector: "
                         + " ".join(f"{k} {100 * v / n:.1f}%" for k, v in pixels.items())
                         + "; accuracy = share coloured (C*ab > 6) within 30 deg of the GT hue, sectors under 0.5% left out")
        if fid:
            notes.append(f"FID over {result.get('fid_images', result['images'])} images, network: "
                         f"{result.get('fid_network')}")
        if result.get("gray_ground_truths_left_out"):
            notes.append(f"left out (gray ground truth, colourfulness < {GRAY_GROUND_TRUTH:g}): "
                         + ", ".join(result["gray_ground_truth_files"]))
        lines += notes
    if result.get("margins"):
        ref = result.get("margin_reference", "Menon2007")
        metric = "CPSNR" if result["task"] == "demosaick" else "PSNR"
        lines.append(f"per-image {metric} margin over {ref} (dB): mean, minimum (image), images below")
        for name, m in result["margins"].items():
            lines.append(f"  {name:<{wide - 2}}{m['mean']:+8.2f}{m['min']:+8.2f} ({m['min_image']}), "
                         f"{m['below']} of {result['images']} below")
    return "\n".join(lines)


def write_report(result: dict, path: str | Path) -> None:
    """JSON (``.json``) or CSV (``.csv``, the pooled rows; per-sector shares as
    ``color_accuracy_<sector>`` columns) report."""
    path = Path(path)
    if path.suffix == ".csv":
        flat = []
        for r in result["rows"]:
            row = {k: v for k, v in r.items() if k not in ("color_accuracy_sectors", "psnr_per_image")}
            row |= {f"color_accuracy_{k}": v for k, v in r.get("color_accuracy_sectors", {}).items()}
            flat.append(row)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(flat[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat)
        text = buf.getvalue()
    else:
        text = json.dumps(result, indent=2) + "\n"
    atomic_write(path, lambda f: Path(f).write_text(text))


# ------------------------------------------------------------------ the rows of an evaluation
def _labelled(compare: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    """``LABEL=MODEL`` items as ``(label, model)``."""
    out = []
    for item in compare:
        label, sep, path = item.partition("=")
        if not sep:
            raise InputError(f"--compare takes LABEL=MODEL, got {item!r}")
        out.append((label, path))
    return out


def colorize_rows(model: str | Path | None = None, presets: tuple = ("fast",), *, gray: str = "mean",
                  compare=(), all_methods: bool = False, variants: bool = False, method: str | None = None,
                  device: str | torch.device = "cpu") -> dict[str, tuple[Colorizer, object]]:
    """The rows of a colorization table: ``label -> (colorizer, preset)``, labelled
    ``NAME (PRESET, N NFE)`` (supervised: ``NAME (1 NFE)``).

    ``model`` (or the shipped colorizer of ``method``, or the default one) with each of
    ``presets`` (names or :class:`chromaprior.methods.sampling.Preset` objects, labelled by their
    name; supervised: one row), each ``LABEL=MODEL`` of ``compare``, with ``all_methods``
    every other shipped colorizer (:func:`chromaprior.models.registry.colorize_methods`), and with
    ``variants`` the JGM paper's ablations (no gradient consistency, blind BT.601)."""
    from ..models.registry import colorize_methods, resolve_model_path, shipped_model
    from ..methods.sampling import get_preset

    presets = tuple(presets) or ("fast",)
    col = Colorizer(model, device=device, gray=gray, method=method)
    name = col.card.get("method", "jgm")

    def rows_of(label: str, c: Colorizer) -> dict:
        if c.supervised:
            return {f"{label} (1 NFE)": (c, presets[0])}
        return {f"{label} ({getattr(p, 'name', p)}, {c.nfe(p)} NFE)": (c, p) for p in presets}

    rows = rows_of(name, col)
    labelled = _labelled(compare)
    if all_methods:
        own = resolve_model_path(model) if model is not None or method is None else shipped_model(method)
        for m in colorize_methods():
            folder = shipped_model(m)
            if folder.exists() and folder != own:
                labelled.append((f"shipped {m}", str(folder)))
    for label, path in labelled:
        rows.update(rows_of(label, Colorizer(path, device=device, gray=gray)))
    if variants:
        if col.supervised:
            raise InputError("--variants are ablations of the score prior; use a jgm model")
        p = presets[0]
        preset = get_preset(p) if isinstance(p, str) else p
        rows[f"{name} no gradient DC ({preset.name})"] = (col, replace(preset, gradient_dc=False))
        rows[f"{name} blind, BT.601 ({preset.name})"] = (Colorizer(model, device=device, gray="bt601", method=method), p)
    return rows


def restore_rows(model: str | Path | None = None, presets: tuple[str, ...] = ("fast",), *, compare=(),
                 first_stage: str | None = None, device: str | torch.device = "cpu",
                 task: str = "inpaint") -> dict[str, tuple[Restorer, str]]:
    """The rows of a demosaicking or inpainting table: ``label -> (restorer, preset)``: ``model``
    with each preset, each ``LABEL=MODEL`` of ``compare``, and with ``first_stage`` the model
    started from that prior (HGM's progressive strategy) or classical method.

    Models may be learned networks too (one row each, 1 NFE: a learned demosaicker for
    ``task="demosaick"``, a learned inpainter for ``"inpaint"``); without ``model`` the main row
    is the task's shipped learned network; ``first_stage`` then starts the HGM prior (``model``
    if it is one, else the shipped one)."""
    from ..methods.learned import load_demosaicker, load_inpainter

    presets = tuple(presets) or ("fast",)
    loader = load_demosaicker if task == "demosaick" else load_inpainter
    load = lambda m: loader(m, device=device)  # noqa: E731

    def rows_of(label: str, r) -> dict:
        if not r.sampled:
            return {f"{label} (1 NFE)": (r, presets[0])}
        return {f"{label} ({p}, {r.nfe(p)} NFE)": (r, p) for p in presets}

    main = load(model)
    name = main.card.get("method", "hgm")
    rows = rows_of(name, main)
    for label, path in _labelled(compare):
        rows.update(rows_of(label, load(path)))
    if first_stage:
        hgm = model if getattr(main, "method", None) != "learned" else None
        prog = Restorer(hgm, device=device, first_stage=first_stage)
        name = prog.card.get("method", "hgm")
        label = f"{name} from {first_stage}" if prog.classical else f"{name} progressive"
        rows.update({f"{label} ({p}, {prog.nfe(p)} NFE)": (prog, p) for p in presets})
    return rows


def quality_key(task: str, data, size: int | None, *, pattern: str = "RGGB", border: int = 0, missing: str = "0.8",
                limit: int | None = None) -> str:
    """The key under which :func:`evaluate` results are recorded in a model card's ``quality``."""
    key = f"{task}/{'+'.join(Path(d).name for d in data)}/{size or 'full'}" + ("px" if size else "")
    if task == "demosaick":
        key += f"/{pattern.upper()}" + (f"/border{border}" if border else "")
    elif task == "inpaint":
        key += f"/missing{missing}"
    return key + (f"/first{limit}" if limit else "")


def evaluate(task: str = "colorize", data=(), *, model: str | Path | None = None, method: str | None = None,
             presets: tuple[str, ...] = ("fast",), size: int | None = None, gray: str = "mean", variants: bool = False,
             compare=(), all_methods: bool = False, pattern: str = "RGGB", border: int = 0, missing: str = "0.8",
             first_stage: str | None = None, seed: int = 0, limit: int | None = None, fid_weights: str | None = None,
             fid: bool = True, record: bool = False, device: str | torch.device = "cpu",
             progress: Callable[[int, int], None] | None = None, hints: tuple[int, ...] = (0,)) -> dict:
    """Benchmark a model on folders of held-out colour images beside the classical baselines:
    what ``chromaprior evaluate`` prints (:func:`format_table`) and records.

    ``task``: ``colorize`` (several ``data`` folders are scored each and pooled; ``size``
    default 128), ``demosaick`` or ``inpaint`` (one folder, whole images by default). The
    rows are :func:`colorize_rows` / :func:`restore_rows`; ``record`` stores the result in
    the model card under :func:`quality_key`; ``hints``: counts of simulated hints, one row each
    (:func:`evaluate_colorize`)."""
    from ..training.data import list_images

    data = [str(d) for d in ([data] if isinstance(data, (str, Path)) else data)]
    if not data:
        raise InputError("no --data folder given")
    if task not in ("colorize", "demosaick", "inpaint"):
        raise InputError(f"unknown task {task!r}; choose colorize, demosaick or inpaint")
    if len(data) > 1 and task != "colorize":
        raise InputError("several --data folders are for --task colorize")
    if task != "colorize" and (variants or fid_weights or all_methods or tuple(hints) != (0,)):
        raise InputError("--variants, --all-methods, --fid-weights and --hints belong to --task colorize")
    sets = {d: list_images([d]) for d in data}
    for d, found in sets.items():
        if not found:
            raise InputError(f"{d}: no images in this folder")
    if task == "colorize":
        from .metrics import FeatureNet, default_feature_net

        size = size or 128
        rows = colorize_rows(model, presets, gray=gray, compare=compare, all_methods=all_methods, variants=variants,
                             method=method, device=device)
        features = None if not fid else FeatureNet(fid_weights, device=device) if fid_weights else default_feature_net(device)
        result = evaluate_colorize(sets, rows, size=size, seed=seed, limit=limit, features=features, progress=progress,
                                   hint_counts=hints)
    else:
        rows = restore_rows(model, presets, compare=compare, first_stage=first_stage, device=device, task=task)
        paths = sets[data[0]]
        if task == "demosaick":
            result = evaluate_demosaick(paths, rows, pattern=pattern.upper(), size=size, border=border, seed=seed,
                                        limit=limit, progress=progress)
        else:
            result = evaluate_inpaint(paths, rows, missing=missing, size=size, seed=seed, limit=limit,
                                      progress=progress)
    if record:
        from ..models.checkpoint import record_quality
        from ..models.registry import resolve_model_path, shipped_model

        if model is None and method is not None:
            model = shipped_model(method)
        key = quality_key(task, data, size, pattern=pattern, border=border, missing=missing, limit=limit)
        kept = {k: v for k, v in result.items() if k not in ("task", "data", "size")}
        record_quality(resolve_model_path(model, "colorize" if task == "colorize" else "restore"), key, kept)
    return result
