"""Video colorization: flicker, PSNR and speed on clips with a known colour ground truth.

    python bench/video_bench.py --data ../shared/data/eval/kodak24 --clips 6 \
        --keyframe-every 1 4 8 16 --report bench/results/video-kodak24.json

Each clip is rendered here from still photos: ``--shots`` shots of ``--shot-frames`` frames,
each a camera move over one photo (pan left/right, pan down, zoom in, zoom out with a pan,
cycling; 2-4 px a frame at 640x480), with hard cuts between photos. Photo ``i`` of the
sorted folder goes into clip ``i // shots``. The renderer knows every frame's camera (frame
pixel ``(x, y)`` shows photo point ``s (x, y) + (tx, ty)``), which gives the ground truth
colour of every frame and the exact motion between consecutive frames.

Rows (every clip through the same settings: H.264 CRF 18, yuv420p, 24 frames/s):

* ``colour clip``: the ground-truth colour frames encoded and decoded: the flicker that
  resampling and the codec alone make;
* ``gray input``: the clip the colorizer gets (the gray ``(r + g + b) / 3`` of the colour
  frames, encoded);
* ``keyframes N``: ``chromaprior.apps.video.colorize_video`` with a keyframe every N frames;
  ``N = 1`` colorizes every frame alone (no temporal step: the per-frame baseline).

Columns: PSNR and colourfulness (Hasler-Suesstrunk) of the decoded output against the
uncompressed ground truth, per frame, averaged; flicker = mean |chroma(t+1) - chroma(t)|
(chroma = rgb - (r + g + b) / 3, 0..255) with frame t moved onto frame t+1 by the
*renderer's* camera motion (never the optical flow the method uses), pairs across a cut left
out, 16 px at the borders left out; gray error = mean |(r + g + b) / 3 of the output - that
of the decoded input| (0..255); s/frame = the wall time of ``colorize_video`` (decode,
colorize, propagate, encode, join) over the frames.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from chromaprior.methods.colorize import Colorizer
from chromaprior.training.data import list_images
from chromaprior.evaluation.metrics import colorfulness, psnr
from chromaprior.apps.video import KEYFRAME_EVERY, aligned_flicker, colorize_video

WIDTH, HEIGHT, FPS = 640, 480, 24


def camera(kind: int, t: float, photo_w: int, photo_h: int) -> tuple[float, float, float]:
    """``(s, tx, ty)`` at time ``t`` in [0, 1] of a shot: frame pixel ``(x, y)`` shows photo point
    ``(s x + tx, s y + ty)``."""
    fit = min(photo_w / WIDTH, photo_h / HEIGHT)  # the scale that just fits the photo
    if kind in (2, 3):  # zoom in / zoom out (with a drift)
        s = fit * ((0.95 - 0.3 * t) if kind == 2 else (0.65 + 0.3 * t))
        cx = photo_w / 2 + (0 if kind == 2 else 0.1 * photo_w * (t - 0.5))
        cy = photo_h / 2
        return s, cx - s * WIDTH / 2, cy - s * HEIGHT / 2
    s = fit * 0.75
    room_x, room_y = photo_w - s * WIDTH, photo_h - s * HEIGHT
    if kind == 0:  # pan left to right
        return s, room_x * (0.05 + 0.9 * t), room_y * 0.5
    if kind == 1:  # pan down and a little sideways
        return s, room_x * (0.6 - 0.2 * t), room_y * (0.05 + 0.9 * t)
    return s, room_x * (0.9 - 0.8 * t), room_y * (0.3 + 0.4 * t)  # kind 4: diagonal, right to left


def render(photo: np.ndarray, cam: tuple[float, float, float]) -> np.ndarray:
    s, tx, ty = cam
    m = np.array([[s, 0, tx], [0, s, ty]], dtype=np.float64)
    return cv2.warpAffine(photo, m, (WIDTH, HEIGHT), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


def make_clip(photos: list[Path], shot_frames: int, first_kind: int):
    """Ground-truth frames (uint8), cameras and shot starts of one clip."""
    frames, cams, starts = [], [], []
    for k, path in enumerate(photos):
        img = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        h, w = img.shape[:2]
        kind = (first_kind + k) % 5
        starts.append(len(frames))
        for i in range(shot_frames):
            cam = camera(kind, i / (shot_frames - 1), w, h)
            frames.append(render(img, cam))
            cams.append(cam)
    return frames, cams, starts


def encode(frames: list[np.ndarray], path: str, crf: int = 18) -> None:
    import av

    with av.open(path, "w") as out:
        s = out.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        s.codec_context.options = {"crf": str(crf), "preset": "medium"}
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)


def decode(path: str) -> list[np.ndarray]:
    import av

    with av.open(path) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def motion(cams, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel of frame ``t + 1`` was in frame ``t`` (the renderer's cameras)."""
    s0, x0, y0 = cams[t]
    s1, x1, y1 = cams[t + 1]
    xs = (s1 * np.arange(WIDTH, dtype=np.float64)[None, :] + x1 - x0) / s0
    ys = (s1 * np.arange(HEIGHT, dtype=np.float64)[:, None] + y1 - y0) / s0
    return np.broadcast_to(xs, (HEIGHT, WIDTH)).astype(np.float32), np.broadcast_to(ys, (HEIGHT, WIDTH)).astype(np.float32)


def score(out: list[np.ndarray], truth: list[np.ndarray], cams, starts, gray_in: list[np.ndarray] | None) -> dict:
    if len(out) != len(truth):
        raise SystemExit(f"frame count changed: {len(out)} != {len(truth)}")
    ps, cf, fl, ge = [], [], [], []
    for t, (o, g) in enumerate(zip(out, truth)):
        a = torch.from_numpy(o).permute(2, 0, 1)[None].float() / 255
        b = torch.from_numpy(g).permute(2, 0, 1)[None].float() / 255
        ps.append(float(psnr(a, b)))
        cf.append(float(colorfulness(a)))
        if t + 1 < len(out) and (t + 1) not in starts:
            xs, ys = motion(cams, t)
            fl.append(aligned_flicker(o, out[t + 1], xs, ys, margin=16))
        if gray_in is not None:
            ge.append(float(np.abs(o.astype(np.float32).mean(-1) - gray_in[t].astype(np.float32).mean(-1)).mean()))
    return {"psnr": ps, "colourfulness": cf, "flicker": fl, "gray_error": ge}


def strip(path: str, rows: list, starts: list[int], shot_frames: int, columns: int = 6, width: int = 128) -> None:
    """Rows of frames (input, per-frame, ours, truth), ``columns`` frames spread over the clip's
    first two shots, each ``width`` px wide, into a PNG."""
    from PIL import Image

    rows = [r for r in rows if r is not None]
    picks = np.linspace(0, 2 * shot_frames - 1, columns).round().astype(int)
    h = width * HEIGHT // WIDTH
    sheet = np.full((len(rows) * (h + 2), columns * (width + 2), 3), 255, np.uint8)
    for i, frames in enumerate(rows):
        for j, t in enumerate(picks):
            small = cv2.resize(frames[t], (width, h), interpolation=cv2.INTER_AREA)
            sheet[i * (h + 2):i * (h + 2) + h, j * (width + 2):j * (width + 2) + width] = small
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # 256 colours (Floyd-Steinberg): a third of the size of the full-colour PNG
    Image.fromarray(sheet).quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                    dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/eval/kodak24")
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--shots", type=int, default=4, help="photos (shots) per clip")
    ap.add_argument("--shot-frames", type=int, default=36)
    ap.add_argument("--keyframe-every", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--method", default=None, help="colorizer (default: the default one)")
    ap.add_argument("--codec", default="h264")
    ap.add_argument("--one-sided", action="store_true",
                    help="add a row for the default keyframe distance with the chroma carried from the first "
                         "keyframe of each segment only (ablation)")
    ap.add_argument("--lossless", action="store_true", help="clip 0 again with --codec ffv1: the gray error there")
    ap.add_argument("--strip", default=None, help="PNG: input / per-frame / ours / truth frames of clip 0")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep", default=None, help="folder to keep the clips in")
    ap.add_argument("--report", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    photos = list_images([args.data])
    col = Colorizer(method=args.method)
    rows: dict[str, dict] = {}
    per_clip = []
    load = []
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="video-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    for c in range(args.clips):
        chosen = photos[c * args.shots:(c + 1) * args.shots]
        if len(chosen) < args.shots:
            break
        truth, cams, starts = make_clip(chosen, args.shot_frames, first_kind=c)
        gray = [np.repeat(np.rint(f.astype(np.float32).mean(-1, keepdims=True)), 3, -1).astype(np.uint8)
                for f in truth]
        gp, cp = str(work / f"clip{c}-gray.mp4"), str(work / f"clip{c}-colour.mp4")
        if not (os.path.exists(gp) and os.path.exists(cp)):  # --keep: clips of an earlier run are reused
            encode(gray, gp)
            encode(truth, cp)
        gray_dec = decode(gp)
        results = {"colour clip": score(decode(cp), truth, cams, starts, None),
                   "gray input": score(gray_dec, truth, cams, starts, None)}
        runs = [(f"keyframes {n}", n, True, args.codec) for n in args.keyframe_every]
        if args.one_sided:
            runs.append((f"keyframes {KEYFRAME_EVERY}, one-sided", KEYFRAME_EVERY, False, args.codec))
        if args.lossless and c == 0:
            runs.append((f"keyframes {KEYFRAME_EVERY}, ffv1", KEYFRAME_EVERY, True, "ffv1"))
        decoded = {}
        for label, n, two, codec in runs:
            suffix = ".mkv" if codec == "ffv1" else ".mp4"
            op = str(work / f"clip{c}-{label.replace(' ', '').replace(',', '-')}{suffix}")
            load.append(os.getloadavg()[0])
            t0 = time.perf_counter()
            r = colorize_video(gp, op, col, keyframe_every=n, codec=codec, threads=args.threads, two_sided=two)
            dt = time.perf_counter() - t0
            decoded[label] = decode(op)
            s = score(decoded[label], truth, cams, starts, gray_dec)
            s["seconds"], s["frames"], s["keyframes"], s["cuts"] = dt, len(truth), r.keyframes, r.cuts
            if codec == "ffv1":
                s["gray_max"] = float(max(np.abs(o.astype(int).sum(-1) - g.astype(int).sum(-1)).max()
                                          for o, g in zip(decoded[label], gray_dec)) / 3)
            results[label] = s
            print(f"clip {c} {label}: {dt / len(truth):.3f} s/frame, keyframes {r.keyframes}, cuts {r.cuts} "
                  f"(true {len(starts) - 1}), load {load[-1]:.1f}", file=sys.stderr, flush=True)
        if args.strip and c == 0:
            strip(args.strip, [gray_dec, decoded.get("keyframes 1"), decoded.get(f"keyframes {KEYFRAME_EVERY}"),
                               truth], starts, args.shot_frames)
        per_clip.append({k: {m: float(np.mean(v)) if isinstance(v, list) else v for m, v in d.items()}
                         for k, d in results.items()})
        for k, d in results.items():
            acc = rows.setdefault(k, {})
            for m, v in d.items():
                if isinstance(v, list):
                    acc.setdefault(m, []).extend(v)
                else:
                    acc[m] = acc.get(m, 0) + v
    table = {}
    for k, d in rows.items():
        table[k] = {m: ((float(np.mean(v)) if v else float("nan")) if isinstance(v, list) else v)
                    for m, v in d.items()}
        if "seconds" in d:
            table[k]["s_per_frame"] = d["seconds"] / d["frames"]
    colour = table["colour clip"]["flicker"]
    print(f"{'row':28s} {'PSNR':>7s} {'colourful':>9s} {'flicker':>8s} {'gray err':>8s} {'s/frame':>8s}  "
          f"(target flicker <= {1.5 * colour + 0.5:.2f})")
    for k, d in table.items():
        print(f"{k:28s} {d['psnr']:7.2f} {d['colourfulness']:9.1f} {d['flicker']:8.2f} "
              f"{d.get('gray_error', float('nan')):8.3f} {d.get('s_per_frame', float('nan')):8.3f}")
    for k, d in table.items():
        if "gray_max" in d:
            print(f"{k}: largest |(r+g+b)/3 difference| from the decoded input over all pixels: {d['gray_max']:.3f}")
    print(f"load average during the runs: {np.mean(load):.1f} (min {np.min(load):.1f}, max {np.max(load):.1f}) "
          f"on {os.cpu_count()} cores")
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps({"args": vars(args), "table": table, "clips": per_clip,
                                                 "load": load, "photos": [p.name for p in photos]}, indent=1))


if __name__ == "__main__":
    main()
