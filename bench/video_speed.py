"""Speed of video colorization at 640x480: wall and CPU time per frame, and where the CPU goes.

    python bench/video_speed.py --data ../shared/data/eval/kodak24 --frames 48 --threads 1 2

A short clip (a pan over the first photo, ``--frames`` frames, H.264 CRF 18 as in
``bench/video_bench.py``) is colorized with the default settings (the default colorizer, a
keyframe every 8 frames, H.264 output), once per ``--threads``, without ``nice``. Reported:
frames per second of wall time (start-up of Python and the model excluded: one
``colorize_video`` call, decode to join), CPU seconds per frame of this process (all its
threads: x264's too), the load average and the runnable tasks of ``/proc/loadavg`` around
each run (others' work on the same 2 cores slows the wall time, not the CPU time), and the
CPU time of each stage (cProfile with a CPU clock).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from chromaprior.methods.colorize import Colorizer
from chromaprior.training.data import list_images
from chromaprior.apps.video import colorize_video

from video_bench import encode, make_clip

STAGES = {  # (file part, function name) -> label
    ("video.py", "frames"): "decode (PyAV) + RGB",
    ("video.py", "key"): "keyframes: colorizer (photo path)",
    ("video.py", "__call__"): "optical flow (DIS, 2 a frame)",
    ("video.py", "consistency"): "flow consistency",
    ("video.py", "is_cut"): "cut test",
    ("video.py", "blend_segment"): "carry + blend chroma",
    ("video.py", "compose"): "compose (upsample, clamp, 8-bit)",
    ("video.py", "write"): "encode (x264 medium)",
    ("video.py", "_join"): "join chunks + audio",
}


def runnable() -> int:
    with open("/proc/loadavg") as f:
        return int(f.read().split()[3].split("/")[0]) - 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/eval/kodak24")
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    photo = list_images([args.data])[:1]
    truth, _, _ = make_clip(photo, args.frames, first_kind=0)
    gray = [np.repeat(np.rint(f.astype(np.float32).mean(-1, keepdims=True)), 3, -1).astype(np.uint8) for f in truth]
    work = Path(tempfile.mkdtemp(prefix="video-speed-"))
    src = str(work / "gray.mp4")
    encode(gray, src)
    col = Colorizer()
    col(torch.rand(64, 64))  # warm-up
    for threads in args.threads:
        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
        before = (os.getloadavg()[0], runnable())
        prof = cProfile.Profile(time.process_time)
        wall, cpu = time.perf_counter(), time.process_time()
        prof.enable()
        colorize_video(src, work / f"out{threads}.mp4", col, threads=threads)
        prof.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        after = (os.getloadavg()[0], runnable())
        print(f"threads {threads}: {args.frames / wall:.2f} frames/s wall, {cpu / args.frames * 1000:.0f} ms CPU a frame "
              f"({args.frames / cpu:.1f} frames per CPU-second); load average {before[0]:.1f} -> {after[0]:.1f}, "
              f"runnable tasks of others {before[1]} -> {after[1]} (2 cores)")
        stats = pstats.Stats(prof).stats
        for (file, name), label in STAGES.items():
            total = sum(v[3] for (f, _l, n), v in stats.items() if f.endswith(file) and n == name)
            if total:
                print(f"    {label:36s} {total / args.frames * 1000:6.1f} ms a frame")


if __name__ == "__main__":
    main()
