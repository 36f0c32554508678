"""Video colorization without flicker: keyframes colorized, chroma carried along the optical flow.

Colorizing every frame of a film alone makes its colours flicker: the colorizer answers each
frame a little differently. :func:`colorize_video` does this instead:

1. **Gray.** Every frame is decoded to 8-bit RGB; its gray ``y = w . rgb`` (the colorizer's
   gray operator, the mean of r, g and b unless ``--gray bt601``) is the frame's own and is
   never changed, as for photos.
2. **Keyframes.** A frame is a keyframe when it starts a shot (a scene cut, detected on the
   gray: :func:`is_cut`), when ``keyframe_every`` frames have passed since the last one,
   when it ends a shot or the film, and when a hint names it. Keyframes are colorized like
   photos, by :func:`chromaprior.apps.api.colorize_picture` (colour rule, hints, reference,
   vividness: everything the photo path does), and their chroma ``c = rgb - w . rgb`` is kept
   on the *flow grid* (short side :data:`FLOW_SIZE`).
3. **Propagation.** Between two keyframes ``k0 < k1`` of one shot, the chroma of ``k0`` is
   carried forward frame by frame along the optical flow (OpenCV DIS on the grid's gray) and
   that of ``k1`` backward. Each carried copy has a confidence: 1 at its keyframe, multiplied
   at every step by the forward-backward consistency of the flow and set to 0 where the motion
   leaves the frame. Frame ``t`` gets ``(a c0 + b c1) / (a + b)`` with
   ``a = (k1 - t) conf0``, ``b = (t - k0) conf1`` (:func:`blend_segment`): colours move with
   the content, content that enters the picture takes the colour of the keyframe that sees
   it, and the difference between two keyframes' colours is spread evenly over the frames
   between them instead of jumping at the keyframe.
4. **Output.** The frame's chroma is upsampled (bilinear, as :func:`chromaprior.core.tiles.finish`
   does for photos) and added to the frame's own full-resolution gray, brought into the RGB
   cube by shrinking chroma only (:func:`chromaprior.methods.colorize.gamut_clamp`; then
   :func:`chromaprior.core.color.white_balance` for a colour temperature), and rounded to 8 bits so
   that ``r + g + b`` equals the input's (:func:`quantize_keeping_gray`): a lossless output
   (FFV1, PNG frames) reproduces the input's gray exactly.

At most ``keyframe_every + 1`` decoded frames are held, whatever the film's length, and at most
:data:`HELD_BYTES` of them (:func:`held_frames` shortens the keyframe distance for large
frames or a large ``keyframe_every``); a frame is composed in strips. The work
is written in chunks of whole segments (about :data:`CHUNK_SECONDS` each), each encoded into
its own file and written atomically in a work folder next to the output
(``.NAME.parts/``, with a manifest); at the end the chunks' packets and the source's audio
are joined (no re-encoding) into a temporary file that replaces the output in one step. An
interrupted job finds the work folder and restarts after its last complete chunk; the final
name never holds a partial file. A resume decodes every chunk it keeps (a damaged one is done
again, with those after it); a lock file in the work folder refuses a second run writing the
same output; a run that fails before its first chunk leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from ..core.errors import InputError, MissingExtra
from ..core.io import Picture, atomic_write

__all__ = [
    "VIDEO_SUFFIXES",
    "FLOW_SIZE",
    "KEYFRAME_EVERY",
    "is_video_path",
    "grid_size",
    "Flow",
    "warp",
    "consistency",
    "is_cut",
    "blend_segment",
    "quantize_keeping_gray",
    "chroma_of",
    "aligned_flicker",
    "Propagator",
    "VideoReader",
    "load_video_hints",
    "colorize_video",
    "check_video",
    "held_frames",
    "VideoResult",
]

#: Input/output names taken for films (anything else goes to the photo path).
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".m2v", ".ts", ".mts",
                  ".m2ts", ".wmv", ".flv", ".ogv", ".3gp", ".dv", ".mxf", ".nut", ".vob", ".y4m")
#: Short side of the grid on which the flow is estimated and the chroma carried.
FLOW_SIZE = 240
#: Smallest side OpenCV's DIS flow takes (smaller grids are scaled up for the flow alone).
FLOW_MIN = 32
#: Default distance between periodic keyframes (frames); chosen in docs/video.md.
KEYFRAME_EVERY = 8
#: A chunk (one file of the work folder) holds whole segments, about this many seconds.
CHUNK_SECONDS = 10.0
#: The lock file in the work folder, held while a run writes the output.
LOCK_NAME = "lock"
#: A frame is composed (chroma added to its gray, clamped, rounded) in strips of about this
#: many pixels.
COMPOSE_PIXELS = 1 << 20
#: The frames held between two keyframes take at most this many bytes (:func:`held_frames`):
#: 512 MiB, a keyframe at least every 17 frames at 3840x2160, every 76 at 1280x720.
HELD_BYTES = 512 << 20
#: Bytes a held frame takes per flow-grid pixel: the grid gray (1), two flows (16), two
#: consistencies (8) and, while a segment is blended, the carried chroma and weight (16).
GRID_BYTES = 41
#: Scene-cut rule (:func:`is_cut`), on the 0..255 gray of the flow grid.
CUT_RESIDUAL = 16.0
CUT_CONSISTENT = 0.3
#: Codecs of the ``codec`` option: name -> (FFmpeg encoder, pixel format).
CODECS = {"h264": ("libx264", "yuv420p"), "ffv1": ("ffv1", "bgr0")}
#: Container of the chunk files, per codec: one that keeps the encoder's timestamps as they are
#: (MOV keeps H.264's negative start DTS; FFV1 has no B-frames).
CHUNK_FORMATS = {"h264": "mov", "ffv1": "nut"}
#: Containers that keep a frame's decode time only (no reordering): H.264 for them is
#: encoded without B-frames.
DTS_ONLY_SUFFIXES = (".avi",)
#: Output formats (FFmpeg muxer names) that store H.264 with start codes (Annex B) and do not
#: convert the chunks' MP4 packing themselves (MPEG-TS does): the join converts it.
ANNEX_B_FORMATS = ("avi", "mpeg", "vob")


def _cv2():
    try:
        import cv2
    except ImportError:
        raise MissingExtra("video needs OpenCV and PyAV: pip install 'chromaprior[video]'") from None
    return cv2


def _av():
    try:
        import av
    except ImportError:
        raise MissingExtra("video needs PyAV and OpenCV: pip install 'chromaprior[video]'") from None
    return av


def is_video_path(path: str | Path) -> bool:
    """True for a name with a film suffix (:data:`VIDEO_SUFFIXES`)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


# ----------------------------------------------------------------------------- pure functions
def grid_size(height: int, width: int, short: int = FLOW_SIZE) -> tuple[int, int]:
    """``(h, w)`` of the flow grid: the frame scaled to a short side of ``short`` (never up)."""
    s = min(1.0, short / min(height, width))
    return max(8, round(height * s)), max(8, round(width * s))


class Flow:
    """Dense optical flow between two grid grays (OpenCV DIS, ``preset`` fast).

    ``flow(a, b)`` for ``(h, w)`` uint8 images returns ``(h, w, 2)`` float32: pixel ``(x, y)`` of
    ``a`` is at ``(x + f[..., 0], y + f[..., 1])`` in ``b``."""

    def __init__(self, preset: str = "fast"):
        cv2 = _cv2()
        presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                   "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
        self.dis = cv2.DISOpticalFlow_create(presets[preset])

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        h, w = a.shape
        if min(h, w) >= FLOW_MIN:
            return self.dis.calc(a, b, None)
        # DIS crashes on images with a side under 32 px (a segfault on wide ones, an error at
        # 11x11 and below): the flow of the images scaled up to that, scaled back
        cv2 = _cv2()
        s = FLOW_MIN / min(h, w)
        size = (max(FLOW_MIN, round(w * s)), max(FLOW_MIN, round(h * s)))
        big = self.dis.calc(cv2.resize(a, size, interpolation=cv2.INTER_LINEAR),
                            cv2.resize(b, size, interpolation=cv2.INTER_LINEAR), None)
        flow = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
        flow[..., 0] *= w / size[0]
        flow[..., 1] *= h / size[1]
        return flow


def _maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = flow.shape[:2]
    xs = np.arange(w, dtype=np.float32)[None, :] + flow[..., 0]
    ys = np.arange(h, dtype=np.float32)[:, None] + flow[..., 1]
    return xs, ys


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` (of the frame the flow points into) sampled at ``x + flow(x)``: brings it onto
    the flow's own frame. ``(h, w[, c])`` float32 or uint8; bilinear, edges replicated."""
    cv2 = _cv2()
    xs, ys = _maps(flow)
    return cv2.remap(image, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def inside(flow: np.ndarray) -> np.ndarray:
    """``(h, w)`` float32: 1 where ``x + flow(x)`` lies inside the frame."""
    h, w = flow.shape[:2]
    xs, ys = _maps(flow)
    return ((xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)).astype(np.float32)


def consistency(flow_ab: np.ndarray, flow_ba: np.ndarray) -> np.ndarray:
    """``(h, w)`` float32 in {0, 1} for the pixels of ``a``: 1 where going to ``b`` and back
    returns near the start and the target is inside the frame (Sundaram et al.'s test:
    ``|f_ab + f_ba(x + f_ab)|^2 <= 0.01 (|f_ab|^2 + |f_ba(x + f_ab)|^2) + 0.5``, pixels)."""
    cv2 = _cv2()
    h, w = flow_ab.shape[:2]
    xs, ys = _maps(flow_ab)
    bx, by = cv2.split(cv2.remap(flow_ba, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
    ax, ay = flow_ab[..., 0], flow_ab[..., 1]
    err = (ax + bx) ** 2 + (ay + by) ** 2
    bound = 0.01 * (ax * ax + ay * ay + bx * bx + by * by) + 0.5
    ok = (err <= bound) & (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)
    return ok.astype(np.float32)


def is_cut(gray: np.ndarray, previous: np.ndarray, back: np.ndarray, conf: np.ndarray) -> bool:
    """Scene cut between ``previous`` and ``gray`` (grid grays, uint8): after following the flow
    ``back`` (``gray`` -> ``previous``) the mean absolute gray difference over the pixels whose
    flow is consistent is above :data:`CUT_RESIDUAL` (0..255), or fewer than
    :data:`CUT_CONSISTENT` of the pixels have a consistent flow. Within a shot the flow
    explains the change; across a cut it cannot. Measured on clips rendered from training photos
    (``bench/video_bench.py`` renderer, bsds500 and imagenet-sample): within shots a
    consistent share of 0.62-1 and residuals up to 6.5, across cuts shares under 0.08 and
    residuals of 27-101."""
    share = float(conf.mean())
    if share < CUT_CONSISTENT:
        return True
    residual = np.abs(gray.astype(np.float32) - warp(previous.astype(np.float32), back))
    return float((residual * conf).sum() / conf.sum()) > CUT_RESIDUAL


def blend_segment(first: np.ndarray, last: np.ndarray, backs: Sequence[np.ndarray], forwards: Sequence[np.ndarray],
                  conf_backs: Sequence[np.ndarray], conf_forwards: Sequence[np.ndarray], eps: float = 1e-3,
                  two_sided: bool = True) -> list[np.ndarray]:
    """Chroma of the frames strictly between two keyframes of one shot.

    Args:
        first, last: ``(h, w, 3)`` float32 chroma of the keyframes ``k0`` and ``k1 = k0 + n``.
        backs: ``n`` flows; ``backs[i]`` goes from frame ``k0 + i + 1`` to the frame before it.
        forwards: ``n`` flows; ``forwards[i]`` goes from frame ``k0 + i`` to the frame after it.
        conf_backs, conf_forwards: their consistencies (:func:`consistency`).
    Returns:
        ``n - 1`` chroma maps for frames ``k0 + 1 .. k1 - 1``: the keyframes' chroma carried
        along the flow from both sides, weighted by the distance to each keyframe times the
        carried confidence (with ``eps`` so that a pixel seen by neither still gets the
        distance-weighted mean). ``two_sided=False`` (an ablation) carries ``first`` alone,
        falling back to ``last`` only where nothing of ``first`` arrives.
    """
    n = len(backs)
    if n <= 1:
        return []
    fwd_c, fwd_w = [], []
    c, w = first, np.ones(first.shape[:2], np.float32)
    for i in range(n - 1):  # frames k0+1 .. k1-1
        c = warp(c, backs[i])
        w = warp(w, backs[i]) * conf_backs[i]
        fwd_c.append(c)
        fwd_w.append(w)
    out: list[np.ndarray] = [None] * (n - 1)  # type: ignore[list-item]
    c, w = last, np.ones(last.shape[:2], np.float32)
    for i in range(n - 1, 0, -1):  # frame k0+i from k0+i+1
        c = warp(c, forwards[i])
        w = warp(w, forwards[i]) * conf_forwards[i]
        if two_sided:
            a = (n - i) / n * (fwd_w[i - 1] + eps)
            b = i / n * (w + eps)
        else:
            a = fwd_w[i - 1] + eps
            b = eps * w
        out[i - 1] = (a[..., None] * fwd_c[i - 1] + b[..., None] * c) / (a + b)[..., None]
    return out


def chroma_of(rgb: np.ndarray, weights: Sequence[float] = (1 / 3, 1 / 3, 1 / 3)) -> np.ndarray:
    """``rgb - w . rgb`` for ``(..., 3)`` arrays (float32)."""
    rgb = np.asarray(rgb, dtype=np.float32)
    return rgb - np.tensordot(rgb, np.asarray(weights, np.float32), axes=([-1], [0]))[..., None]


def quantize_keeping_gray(rgb: np.ndarray, total: np.ndarray | None, planar: bool = False) -> np.ndarray:
    """``(H, W, 3)`` (or with ``planar`` ``(3, H, W)``) float in ``[0, 1]`` -> ``(H, W, 3)`` uint8.

    With ``total`` (``(H, W)`` integers, the input's ``r + g + b``), channels are rounded so that
    the output's ``r + g + b`` equals it wherever the float colour had that sum: the gray
    survives 8-bit rounding exactly (a plain rounding is off by 1/765 to 1/255 in about a sixth
    of the pixels). Largest remainders: every channel is rounded down, then the ``k`` channels
    with the largest fractions are rounded up, ``k = total - sum of the rounded-down values``
    (0..3); each channel stays within 1 of its float value (and the gray within 1/765 of it
    when the float colour's sum is not ``total``)."""
    v = np.asarray(rgb, dtype=np.float32)
    v = np.clip(v if planar else np.moveaxis(v, -1, 0), 0, 1) * np.float32(255)
    if total is None:
        return np.ascontiguousarray(np.moveaxis(np.rint(v).astype(np.uint8), 0, -1))
    low = np.floor(v)
    f0, f1, f2 = v - low
    k = np.clip(np.asarray(total, np.float32) - (low[0] + low[1] + low[2]), 0, 3)
    # rank of each channel's fraction (0 = largest; ties go to the lower channel)
    ranks = ((f1 > f0).astype(np.float32) + (f2 > f0), (f0 >= f1).astype(np.float32) + (f2 > f1),
             (f0 >= f2).astype(np.float32) + (f1 >= f2))
    out = np.empty(v.shape[1:] + (3,), np.uint8)
    for c in range(3):
        out[..., c] = np.minimum(low[c] + (ranks[c] < k), 255)
    return out


def aligned_flicker(a: np.ndarray, b: np.ndarray, xs: np.ndarray, ys: np.ndarray, margin: int = 16) -> float:
    """Mean absolute chroma difference (0..255) between consecutive frames ``a`` then ``b``
    (``(H, W, 3)`` uint8 or float 0..255), ``a`` brought onto ``b`` by a *known* mapping:
    pixel ``(x, y)`` of ``b`` shows what pixel ``(xs, ys)`` of ``a`` showed. Pixels that map
    outside ``a`` or lie within ``margin`` of either frame's border are left out. Chroma is
    ``rgb - (r + g + b) / 3``."""
    cv2 = _cv2()
    h, w = b.shape[:2]
    ca = chroma_of(np.asarray(a, np.float32))
    cb = chroma_of(np.asarray(b, np.float32))
    moved = cv2.remap(ca, xs.astype(np.float32), ys.astype(np.float32), cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT)
    ok = (xs >= margin) & (xs <= w - 1 - margin) & (ys >= margin) & (ys <= h - 1 - margin)
    ok[:margin], ok[-margin:], ok[:, :margin], ok[:, -margin:] = False, False, False, False
    if not ok.any():
        return float("nan")
    return float(np.abs(moved - cb)[ok].mean())


# ------------------------------------------------------------------------------ the propagator
@dataclass
class _Frame:
    index: int
    pts: int
    rgb: np.ndarray  #: (H, W, 3) uint8
    small: np.ndarray  #: (h, w) uint8 grid gray
    back: np.ndarray | None = None  #: flow to the previous frame (None: first of a shot)
    fwd: np.ndarray | None = None  #: flow from the previous frame to this one
    conf_back: np.ndarray | None = None
    conf_fwd: np.ndarray | None = None
    chroma: np.ndarray | None = None  #: keyframes: (h, w, 3) float32 grid chroma
    hints: list = field(default_factory=list)  #: the hints this keyframe was colorized with


@dataclass
class Emitted:
    """A finished frame: its index, pts, RGB uint8 and grid chroma."""

    index: int
    pts: int
    rgb: np.ndarray
    chroma: np.ndarray
    key: bool = False  #: a keyframe (colorized as a photo)


class Propagator:
    """The streaming core of :func:`colorize_video`: frames in, frames with chroma out, in order.

    Args:
        colorize: ``(rgb uint8 (H, W, 3), frame index, hints) -> (h, w, 3)`` grid chroma of a
            keyframe (the colorizer, through the photo path).
        grid: ``(h, w)`` of the flow grid.
        keyframe_every: periodic keyframe distance; 1 colorizes every frame (no flow at all).
        hints: ``{frame index: [Hint, ...]}`` in full-resolution pixels.
        weights: the gray weights.

    :meth:`push` takes one decoded frame and returns the frames that became final (a whole
    segment at a time); :meth:`close` returns the rest. After a return, :attr:`next_start`
    is ``(index, pts, hints)`` of the keyframe that begins the frames still held (a resume
    starts there), or None when nothing is held.
    """

    def __init__(self, colorize: Callable[[np.ndarray, int, list], np.ndarray], grid: tuple[int, int],
                 keyframe_every: int = KEYFRAME_EVERY, hints: dict[int, list] | None = None,
                 weights: Sequence[float] = (1 / 3, 1 / 3, 1 / 3), flow: Flow | None = None,
                 active_hints: list | None = None, two_sided: bool = True):
        self.colorize = colorize
        self.grid = grid
        self.every = max(1, int(keyframe_every))
        self.hints = dict(hints or {})
        self.weights = np.asarray(weights, np.float32)
        self.mean = bool(np.allclose(self.weights, 1 / 3))
        self.flow = flow if flow is not None or self.every == 1 else Flow()
        self.segment: list[_Frame] = []
        self.active: list = list(active_hints or [])  #: hints tracked through the current shot
        self.cuts = 0
        self.keyframes = 0
        self.two_sided = two_sided

    # -- helpers
    def _small(self, rgb: np.ndarray) -> np.ndarray:
        cv2 = _cv2()
        if self.mean:
            gray = rgb.sum(-1, dtype=np.uint16).astype(np.float32) * np.float32(1 / 3)
        else:
            gray = np.tensordot(rgb.astype(np.float32), self.weights, axes=([-1], [0]))
        h, w = self.grid
        if gray.shape != (h, w):
            gray = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA)
        return np.clip(np.rint(gray), 0, 255).astype(np.uint8)

    def _key(self, f: _Frame) -> None:
        f.hints = self._merge_hints(f.index)
        f.chroma = self.colorize(f.rgb, f.index, f.hints)
        self.keyframes += 1

    def _merge_hints(self, index: int) -> list:
        new = self.hints.pop(index, None)
        if new:
            self.active = self.active + list(new)
        return list(self.active)

    def _track(self, f: _Frame) -> None:
        """Move the shot's hints along the flow into frame ``f`` (dropping those that leave it)."""
        if not self.active or f.fwd is None:
            return
        from ..core.hints import Hint

        h, w = self.grid
        H, W = f.rgb.shape[:2]
        sy, sx = h / H, w / W
        kept = []
        for hint in self.active:
            gx = min(w - 1, max(0, int(round((hint.x + 0.5) * sx - 0.5))))
            gy = min(h - 1, max(0, int(round((hint.y + 0.5) * sy - 0.5))))
            dx, dy = f.fwd[gy, gx]  # f.fwd: previous frame -> f, at the previous frame's pixels
            x, y = hint.x + dx / sx, hint.y + dy / sy
            if 0 <= x < W and 0 <= y < H:
                kept.append(Hint(x, y, hint.rgb, hint.radius))
        self.active = kept

    @property
    def next_start(self):
        if not self.segment:
            return None
        k = self.segment[0]
        return k.index, k.pts, list(k.hints)

    def _finish(self, seg: list[_Frame], with_last: bool) -> list[Emitted]:
        """The frames of ``seg`` (a keyframe, its followers, and a closing keyframe) with their
        chroma: the closing keyframe too when ``with_last`` (it ends a shot or the film),
        otherwise it begins the next segment."""
        chain = seg[1:]
        inner = blend_segment(seg[0].chroma, seg[-1].chroma, [f.back for f in chain], [f.fwd for f in chain],
                              [f.conf_back for f in chain], [f.conf_fwd for f in chain],
                              two_sided=self.two_sided) if len(seg) > 2 else []
        out = [Emitted(seg[0].index, seg[0].pts, seg[0].rgb, seg[0].chroma, True)]
        out += [Emitted(f.index, f.pts, f.rgb, c) for f, c in zip(seg[1:-1], inner)]
        if with_last and len(seg) > 1:
            out.append(Emitted(seg[-1].index, seg[-1].pts, seg[-1].rgb, seg[-1].chroma, True))
        return out

    # -- the stream
    def push(self, index: int, pts: int, rgb: np.ndarray) -> list[Emitted]:
        """Take the next decoded frame (``(H, W, 3)`` uint8); return the frames now final."""
        f = _Frame(index, pts, rgb, self._small(rgb) if self.every > 1 else None)
        if not self.segment:  # the very first frame (or the first after a resume)
            self._key(f)
            self.segment = [f]
            return []
        prev = self.segment[-1]
        if self.every == 1:  # per-frame colorization: every frame a keyframe, no flow
            self.active = []  # nothing carries a hint to the next frame
            self._key(f)
            self.segment = [f]
            return [Emitted(prev.index, prev.pts, prev.rgb, prev.chroma, True)]
        f.back = self.flow(f.small, prev.small)
        f.fwd = self.flow(prev.small, f.small)
        f.conf_back = consistency(f.back, f.fwd)
        if is_cut(f.small, prev.small, f.back, f.conf_back):
            self.cuts += 1
            if prev.chroma is None:  # the shot's last frame closes its segment
                self._key(prev)
            done = self._finish(self.segment, with_last=True)
            self.active = []  # hints live until the end of their shot
            f.back = f.fwd = f.conf_back = None
            self._key(f)
            self.segment = [f]
            return done
        f.conf_fwd = consistency(f.fwd, f.back)
        self._track(f)
        self.segment.append(f)
        if len(self.segment) - 1 >= self.every or f.index in self.hints:
            self._key(f)
            done = self._finish(self.segment, with_last=False)
            self.segment = [f]
            return done
        return []

    def close(self) -> list[Emitted]:
        """The end of the film: the frames still held (the last one becomes a keyframe)."""
        if not self.segment:
            return []
        if self.segment[-1].chroma is None:
            self._key(self.segment[-1])
        done = self._finish(self.segment, with_last=True)
        self.segment = []
        return done


# ------------------------------------------------------------------------------------ reading
@dataclass
class VideoInfo:
    """What the output keeps of the input's video stream."""

    width: int
    height: int
    time_base: Fraction
    rate: Fraction  #: average frame rate (for the encoder's rate control; timestamps are kept)
    frames: int | None  #: expected frame count (of the part asked for), when known
    sar: Fraction | None
    rotation: int
    interlaced: bool
    colorspace: int
    color_range: int
    color_primaries: int
    color_trc: int
    audio: int  #: number of audio streams
    announced: int = 0  #: the frame count the container states (0: none)
    duration: float | None = None  #: seconds, as the stream (or else the container) states
    stream_duration: bool = False  #: the duration is the video stream's own
    t0: float = 0.0  #: the video stream's start time (seconds); --start and --end count from it
    base_rate: Fraction | None = None  #: the rate every frame time is a multiple of (FFmpeg's r_frame_rate)


def _open(path: Path):
    from ..core.io import _regular_file

    av = _av()
    _regular_file(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as e:
        raise InputError(f"{path}: not a video that FFmpeg can read ({_why(e)})") from None
    return container


def _why(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return str(text).splitlines()[0] if str(text).strip() else type(e).__name__


def _video_stream(container, path: Path):
    streams = [s for s in container.streams.video if not (s.disposition & 0x400)]  # not a cover picture
    if not streams:
        raise InputError(f"{path}: no video stream (" + (", ".join(s.type for s in container.streams) or "empty")
                         + ")")
    return streams[0]


class VideoReader:
    """Decoded frames of a film's first video stream, as ``(index, pts, rgb)`` with ``rgb``
    ``(H, W, 3)`` uint8; the part from ``start`` to ``end`` seconds, deinterlaced when the
    source is interlaced (FFmpeg's ``bwdif``, one frame per frame, with a warning).

    Raises :class:`InputError` naming the file: not a video, no video stream, corrupt data
    (naming the frame)."""

    def __init__(self, path: str | Path, start: float | None = None, end: float | None = None):
        self.path = Path(path)
        self.start, self.end = start, end
        if start is not None and end is not None and end <= start:
            raise InputError(f"{self.path}: --end ({end:g} s) must be after --start ({start:g} s)")
        with _open(self.path) as c:
            s = _video_stream(c, self.path)
            cc = s.codec_context
            rate = s.average_rate or s.guessed_rate or s.base_rate or Fraction(25)
            tb = s.time_base or Fraction(1, 90000)
            duration = float(s.duration * tb) if s.duration else (c.duration / 1e6 if c.duration else None)
            first = None
            try:
                for frame in c.decode(s):
                    first = frame
                    break
            except _av().FFmpegError as e:
                raise InputError(f"{self.path}: corrupt video data at frame 0 ({_why(e)})") from None
            if first is None:
                raise InputError(f"{self.path}: the video stream has no frames")
            order = getattr(cc, "field_order", 0)
            interlaced = bool(first.interlaced_frame) or (order in (2, 3, 4, 5) if isinstance(order, int)
                                                          else str(order).lower() in ("tt", "bb", "tb", "bt"))
            frames = s.frames or (round(duration * rate) if duration else None)
            if frames and (start or end):
                lo = start or 0.0
                hi = min(end, duration) if (end and duration) else (end or duration)
                frames = max(0, round((hi - lo) * rate)) if hi else None
            self.info = VideoInfo(
                width=first.width, height=first.height, time_base=Fraction(tb), rate=Fraction(rate),
                frames=frames or None, sar=Fraction(s.sample_aspect_ratio) if s.sample_aspect_ratio else None,
                rotation=int(first.rotation or 0), interlaced=interlaced, colorspace=int(first.colorspace or 2),
                color_range=int(first.color_range or 0), color_primaries=int(first.color_primaries or 2),
                color_trc=int(first.color_trc or 2), audio=len(c.streams.audio), announced=int(s.frames or 0),
                duration=duration, stream_duration=bool(s.duration),
                t0=float(s.start_time * tb) if s.start_time else 0.0,
                base_rate=Fraction(s.base_rate) if s.base_rate else None)

    def _deinterlacer(self, stream):
        av = _av()
        graph = av.filter.Graph()
        buf = graph.add_buffer(template=stream)
        node = graph.add("bwdif", "mode=send_frame:parity=auto:deint=all")
        sink = graph.add("buffersink")
        buf.link_to(node)
        node.link_to(sink)
        graph.configure()
        return graph

    def frames(self, resume_pts: int | None = None, first_index: int = 0) -> Iterator[tuple[int, int, np.ndarray]]:
        """The frames of the part, or from the frame with ``resume_pts`` (numbered from
        ``first_index``)."""
        av = _av()
        info = self.info
        with _open(self.path) as c:
            s = _video_stream(c, self.path)
            s.thread_type = "AUTO"
            tb = info.time_base
            seek_to = None
            if resume_pts is not None:
                seek_to = resume_pts
            elif self.start:
                seek_to = int((self.start + info.t0) / tb)
            if seek_to is not None:
                try:
                    c.seek(seek_to, stream=s, backward=True)
                except av.FFmpegError:
                    c.seek(0, stream=s)
            graph = self._deinterlacer(s) if info.interlaced else None
            if info.interlaced:
                warnings.warn(f"{self.path}: interlaced video; deinterlaced (bwdif, one frame per frame)")
            index = first_index
            started = resume_pts is None and not self.start
            if not started and self.start and resume_pts is None:
                index = None  # numbered from the time of the first frame kept
            last_pts = None

            def decoded():
                packets = c.demux(s)
                while True:
                    try:
                        packet = next(packets)
                    except StopIteration:
                        break
                    except av.FFmpegError as e:
                        raise InputError(f"{self.path}: corrupt video data after frame "
                                         f"{'?' if index is None else index} ({_why(e)})") from None
                    try:
                        out = packet.decode()
                    except av.FFmpegError as e:
                        raise InputError(f"{self.path}: corrupt video data at frame "
                                         f"{'?' if index is None else index} ({_why(e)})") from None
                    for frame in out:
                        if graph is None:
                            yield frame
                            continue
                        graph.push(frame)
                        yield from _drain(graph)
                if graph is not None:
                    graph.push(None)
                    yield from _drain(graph)

            corrupt_warned = False
            for frame in decoded():
                pts = frame.pts if frame.pts is not None else (
                    (last_pts + max(1, round(1 / (info.rate * tb)))) if last_pts is not None else 0)
                if last_pts is not None and pts <= last_pts:
                    pts = last_pts + 1
                t = float(pts * tb) - info.t0
                if not started:
                    if resume_pts is not None:
                        if pts < resume_pts:
                            continue
                    elif t < self.start - 0.5 * float(1 / info.rate):
                        continue
                    started = True
                    if index is None:
                        index = round(t * info.rate)
                if self.end is not None and t >= self.end - 1e-9:
                    break
                if frame.is_corrupt and not corrupt_warned:
                    warnings.warn(f"{self.path}: frame {index} is damaged (decoded with FFmpeg's error "
                                  "concealment)")
                    corrupt_warned = True
                rgb = frame.to_ndarray(format="rgb24", src_color_range=frame.color_range or None) \
                    if frame.color_range == 2 else frame.to_ndarray(format="rgb24")
                last_pts = pts
                yield index, pts, rgb
                index += 1
            else:
                whole = self.end is None and index is not None
                if whole and info.announced and index < info.announced:
                    warnings.warn(f"{self.path}: the video ends at frame {index} but the file announces "
                                  f"{info.announced} frames; the rest is unreadable (corrupt or cut short)")
                elif whole and info.duration and last_pts is not None:
                    # a stream's own duration is exact; a container's may include a longer soundtrack
                    slack = 3 / float(info.rate) + (0 if info.stream_duration else 0.1 * info.duration)
                    if float(last_pts * tb) < info.duration - slack:
                        warnings.warn(f"{self.path}: the video ends at frame {index} ({float(last_pts * tb):.2f} s) "
                                      f"but the file lasts {info.duration:.2f} s; the rest is unreadable (corrupt or "
                                      "cut short)")


def _drain(graph):
    av = _av()
    while True:
        try:
            yield graph.pull()
        except (av.BlockingIOError, av.EOFError):
            return
        except av.FFmpegError as e:  # pragma: no cover - bwdif on a broken frame
            raise InputError(f"deinterlacing failed ({_why(e)})") from None


# ------------------------------------------------------------------------------------ writing
def _output_kind(dst: Path) -> str:
    """``video`` (a film file) or ``frames`` (a folder of PNGs: an existing folder, or a name
    without a suffix)."""
    if dst.is_dir() or not dst.suffix:
        return "frames"
    if not is_video_path(dst):
        raise InputError(f"{dst}: a film is written as a video ({', '.join(VIDEO_SUFFIXES[:6])}, ...) "
                         "or into a folder of PNG frames (a name without a suffix)")
    return "video"


def _holds(suffix: str, add) -> bool:
    """Whether FFmpeg writes a ``suffix`` file with the stream that ``add(container)`` adds (the
    header is written into a throw-away file: the muxer's own verdict)."""
    import tempfile

    av = _av()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with av.open(str(Path(tmp) / f"probe{suffix}"), "w") as out:
                add(out)
                out.start_encoding()
        except (av.FFmpegError, ValueError):
            return False
    return True


def _check_video_output(dst: Path, codec: str, src: Path) -> None:
    """Refuse before any work: an output that is the input, a folder we cannot write, a
    container that cannot hold the codec."""
    if dst.resolve() == src.resolve():
        raise InputError(f"{dst}: refusing to overwrite the input file")
    _check_writable(dst, dst.parent)
    if not _writes(dst.suffix.lower(), codec):
        raise InputError(f"{dst}: FFmpeg cannot write {codec} video into a {dst.suffix} file; use .mkv or .mp4")


def _check_writable(dst: Path, folder: Path) -> None:
    """``dst`` can be written: ``folder`` (its folder; for PNG frames, itself) exists or can be
    made, and is writable (one line naming ``dst`` otherwise: a read-only file system too)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{dst}: cannot write here ({folder} is not a folder)")
    if not os.access(folder, os.W_OK | os.X_OK):
        why = "read-only file system" if os.statvfs(folder).f_flag & os.ST_RDONLY else "permission denied"
        raise InputError(f"{dst}: cannot write here ({why})")


def _writes(suffix: str, codec: str) -> bool:
    """Whether five ``codec`` frames go the whole way into a ``suffix`` file and back: a chunk,
    the join, decoding (a muxer's header alone takes streams it cannot store, e.g. FFV1 in
    MPEG-TS, written as a data stream; MPEG-TS needs more than two frames to be read back)."""
    import tempfile

    av = _av()
    info = VideoInfo(64, 48, Fraction(1, 25), Fraction(25), None, None, 0, False, 2, 0, 2, 2, 0)
    with tempfile.TemporaryDirectory() as tmp:
        chunk, out = Path(tmp) / "chunk", Path(tmp) / f"probe{suffix}"
        try:
            writer = _ChunkWriter(str(chunk), info, codec, 30, 1, suffix)
            for i in range(5):
                writer.write(np.zeros((48, 64, 3), np.uint8), i)
            writer.close()
            _join([chunk], out, None, info, None, None)
            with av.open(str(out)) as c:
                return sum(1 for _ in c.decode(video=0)) == 5
        except (av.FFmpegError, ValueError, IndexError):
            return False


class _ChunkWriter:
    """One chunk of the film: a file of encoded video packets (timestamps as the input's), for
    an output file of ``suffix``."""

    def __init__(self, path: str, info: VideoInfo, codec: str, crf: int, threads: int, suffix: str):
        av = _av()
        self.container = av.open(path, "w", format=CHUNK_FORMATS[codec])
        encoder, pix = CODECS[codec]
        if codec == "h264" and (info.width % 2 or info.height % 2):
            pix = "yuv444p"  # 4:2:0 needs even sides
        self.pix = pix
        s = self.container.add_stream(encoder, rate=info.rate)
        s.width, s.height, s.pix_fmt = info.width, info.height, pix
        s.time_base = info.time_base
        cc = s.codec_context
        cc.time_base = info.time_base
        cc.thread_count = max(1, threads)
        cc.flags |= av.codec.context.Flags.global_header
        if info.sar:
            cc.sample_aspect_ratio = info.sar
        if codec == "h264":
            cc.options = {"crf": str(crf), "preset": "medium"}
            if suffix in DTS_ONLY_SUFFIXES:  # frames stored in presentation order
                cc.options = {**cc.options, "bf": "0"}
            self.space = info.colorspace if info.colorspace in (1, 4, 5, 6, 7, 9) else None
            cc.colorspace, cc.color_range = info.colorspace, 1  # limited range, as converted
            cc.color_primaries, cc.color_trc = info.color_primaries, info.color_trc
        else:
            cc.options = {"level": "3", "slicecrc": "1"}
            self.space = None
            cc.colorspace = 0  # RGB
        self.stream = s
        self.tb = info.time_base

    def write(self, rgb: np.ndarray, pts: int) -> None:
        av = _av()
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        if self.pix == "bgr0":
            frame = frame.reformat(format="bgr0")
        else:
            frame = frame.reformat(format=self.pix, dst_colorspace=self.space, dst_color_range=1)
        frame.pts = pts
        frame.time_base = self.tb
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()


def _audio_plan(source, dst: Path) -> list[tuple[object, str]]:
    """For every audio stream of the source: ``copy`` when the output container takes its
    codec as it is, else the codec to re-encode it to (AAC, or the container's default
    audio codec when it cannot hold AAC either), or ``drop``."""
    suffix = dst.suffix.lower()
    plan = []
    for a in source.streams.audio:
        if _holds(suffix, lambda out: out.add_stream_from_template(a)):
            plan.append((a, "copy"))
            continue
        rate = a.codec_context.sample_rate or 48000
        choice = "drop"
        for codec in _reencode_choices(suffix):
            if _holds(suffix, lambda out, c=codec: out.add_stream(c, rate=rate)):
                choice = codec
                break
        plan.append((a, choice))
    return plan


def _reencode_choices(suffix: str) -> list[str]:
    """AAC first, then the container's default audio codec."""
    import tempfile

    av = _av()
    choices = ["aac"]
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with av.open(str(Path(tmp) / f"probe{suffix}"), "w") as out:
                default = out.default_audio_codec
        except av.FFmpegError:
            default = None
    if default and default != "none" and default not in choices:
        choices.append(default)
    return choices


def _audio_packets(src: Path, plan, out_streams, start: float | None, end: float | None):
    """``(seconds, packet)`` of the source's audio (copied, or re-encoded) from ``start`` to
    ``end`` (the source's own timestamps, seconds), shifted by ``start``."""
    av = _av()
    if not plan:
        return
    with _open(src) as c:
        streams = [next(s for s in c.streams if s.index == a.index) for a, _ in plan]
        by_index = {s.index: (s, how, o) for s, (_, how), o in zip(streams, plan, out_streams)}
        if start:
            c.seek(int(start * av.time_base))
        resamplers = {}
        next_pts = {}
        for packet in c.demux(streams):
            s, how, o = by_index[packet.stream.index]
            if packet.pts is None:
                continue
            t = float(packet.pts * s.time_base)
            if start and t < start - 1e-6:
                continue
            if end is not None and t >= end:
                continue
            if how == "copy":
                shift = int(round((start or 0) / s.time_base))
                packet.pts -= shift
                if packet.dts is not None:
                    packet.dts -= shift
                packet.stream = o
                yield t - (start or 0), packet
                continue
            if s.index not in resamplers:
                resamplers[s.index] = av.AudioResampler(format=o.codec_context.format, layout=o.codec_context.layout,
                                                       rate=o.codec_context.sample_rate)
                next_pts[s.index] = int(round((t - (start or 0)) * o.codec_context.sample_rate))
            try:
                frames = packet.decode()
            except av.FFmpegError:
                continue
            for frame in frames:
                for r in resamplers[s.index].resample(frame):
                    r.pts = next_pts[s.index]
                    next_pts[s.index] += r.samples
                    for p in o.encode(r):
                        yield float(p.pts * o.time_base) if p.pts is not None else t, p
        for s, (_, how), o in zip(streams, plan, out_streams):
            if how != "copy":
                if s.index in resamplers:
                    for r in resamplers[s.index].resample(None):
                        r.pts = next_pts[s.index]
                        next_pts[s.index] += r.samples
                        for p in o.encode(r):
                            yield float(p.pts * o.time_base), p
                for p in o.encode(None):
                    yield float(p.pts * o.time_base) if p.pts is not None else 1e18, p


def _chunk_packets(part: Path, annex_b: bool):
    """``(packet, time base)`` of a chunk's video; with ``annex_b`` its H.264 converted from
    MP4 packing to start codes (``h264_mp4toannexb``, with the chunk's own SPS and PPS)."""
    av = _av()
    with av.open(str(part)) as c:
        vs = c.streams.video[0]
        bsf = av.bitstream.BitStreamFilterContext("h264_mp4toannexb", vs) if annex_b else None
        for packet in c.demux(vs):
            if packet.pts is None and packet.dts is None:
                continue  # the demuxer's end-of-stream marker
            for p in bsf.filter(packet) if bsf else [packet]:
                yield p, vs.time_base
        for p in bsf.filter(None) if bsf else []:
            yield p, vs.time_base


def _join(parts: list[Path], dst: Path, src: Path | None, info: VideoInfo, start: float | None,
          end: float | None) -> None:
    """Mux the chunks' video packets and the source's audio (none without ``src``) into
    ``dst``, atomically."""
    import heapq

    av = _av()

    def video_packets(stream_out, annex_b: bool):
        """The chunks' packets in the output stream's time base (timestamps and durations),
        with the decode timestamps made strictly increasing across chunk joins (each chunk's
        encoder starts its DTS a few frames before its first PTS; with a variable frame rate
        that can overlap the previous chunk's last DTS). Presentation timestamps are never
        changed."""
        tb = stream_out.time_base
        last = None
        for part in parts:
            for packet, ptb in _chunk_packets(part, annex_b):
                pts = None if packet.pts is None else int(round(packet.pts * ptb / tb))
                dts = pts if packet.dts is None else int(round(packet.dts * ptb / tb))
                if last is not None and dts <= last:
                    dts = last + 1
                if pts is not None and dts > pts:  # pragma: no cover - only for absurd time bases
                    raise InputError(f"{dst}: cannot join the chunks' timestamps ({dts} > {pts})")
                last = dts
                duration = int(round(packet.duration * ptb / tb)) if packet.duration else 0
                packet.time_base = tb
                packet.pts, packet.dts, packet.duration = pts, dts, duration
                packet.stream = stream_out
                yield float(dts * tb), packet

    def mux_all(tmp: str) -> None:
        with av.open(str(parts[0])) as first, (_open(src) if src else nullcontext()) as source, \
                av.open(tmp, "w") as out:
            template = first.streams.video[0]
            ov = out.add_stream_from_template(template)
            annex_b = template.codec_context.name == "h264" and out.format.name in ANNEX_B_FORMATS
            if annex_b:  # the stream's parameters (extradata) as the filter gives them
                av.bitstream.BitStreamFilterContext("h264_mp4toannexb", template, ov)
            # AVI counts frames at one rate (its muxer fills the gaps with empty frames, in a
            # fine time base thousands): the rate all frame times are multiples of
            ov.time_base = 1 / (info.base_rate or info.rate) if out.format.name == "avi" else template.time_base
            if info.rotation:
                ov.set_display_rotation(info.rotation)
            plan = []
            outs = []
            for a, how in _audio_plan(source, dst) if source else []:
                name = a.codec_context.name
                if how == "drop":
                    warnings.warn(f"{dst}: a {dst.suffix} file can hold neither the {name} soundtrack nor AAC; "
                                  "the soundtrack was left out")
                    continue
                plan.append((a, how))
                if how == "copy":
                    outs.append(out.add_stream_from_template(a))
                else:
                    warnings.warn(f"{dst}: a {dst.suffix} file cannot hold the {name} soundtrack as it is; "
                                  f"re-encoded to {how.upper()}")
                    o = out.add_stream(how, rate=a.codec_context.sample_rate or 48000)
                    o.layout = a.codec_context.layout.name if a.codec_context.layout else "stereo"
                    outs.append(o)
            out.start_encoding()  # the muxer fixes its time bases here
            for _, packet in heapq.merge(video_packets(ov, annex_b), _audio_packets(src, plan, outs, start, end),
                                         key=lambda tp: tp[0]):
                out.mux(packet)

    atomic_write(dst, mux_all)


def _compose(e: Emitted, weights: Sequence[float], temperature: float) -> np.ndarray:
    """The frame's gray + its chroma upsampled (bilinear, as :func:`chromaprior.tiles.finish`,
    with OpenCV: 8x faster than torch here), gamut clamp and white balance of the photo path,
    8-bit with the gray kept: in strips of about :data:`COMPOSE_PIXELS` (all per pixel, so the
    same as at once, with temporaries bounded at any frame size)."""
    import torch

    from ..core.color import white_balance
    from ..core.color import gamut_clamp

    cv2 = _cv2()
    height, width = e.rgb.shape[:2]
    up = e.chroma
    if up.shape[:2] != (height, width):
        up = cv2.resize(up, (width, height), interpolation=cv2.INTER_LINEAR)
    mean_gray = all(abs(w - 1 / 3) < 1e-6 for w in weights)
    out = np.empty((height, width, 3), np.uint8)
    step = max(1, COMPOSE_PIXELS // width)
    for top in range(0, height, step):
        rows = slice(top, top + step)
        r, g, b = e.rgb[rows, :, 0], e.rgb[rows, :, 1], e.rgb[rows, :, 2]
        if mean_gray:
            total = r.astype(np.uint16) + g + b
            gray = total.astype(np.float32) * np.float32(1 / 765)
        else:
            total = None
            gray = (r * np.float32(weights[0]) + g * np.float32(weights[1]) + b * np.float32(weights[2])) / 255
        rgb = gamut_clamp(torch.from_numpy(gray)[None, None], torch.from_numpy(up[rows]).permute(2, 0, 1)[None])
        rgb = white_balance(rgb, temperature)[0].numpy()
        out[rows] = quantize_keeping_gray(rgb, total if temperature == 6500 else None, planar=True)
    return out


def _join_chunks(manifest: dict, work: Path, dst: Path, src: Path, info: VideoInfo, start: float | None,
                 end: float | None) -> None:
    """:func:`_join` of the done job; when FFmpeg refuses the join, the work folder is removed
    (the same join would fail on every rerun) and the error is one line. A system error
    (disk full) keeps it: a rerun after it is fixed goes straight to the join."""
    av = _av()
    try:
        _join([work / ch["file"] for ch in manifest["chunks"]], dst, src, info, start, end)
    except av.FFmpegError as e:
        if isinstance(e, OSError):
            raise InputError(f"{dst}: cannot write ({_why(e)})") from None
        shutil.rmtree(work, ignore_errors=True)
        raise InputError(f"{dst}: FFmpeg could not join the finished chunks into a {dst.suffix} file ({_why(e)}); "
                         "the work was removed, try .mkv") from None


def held_frames(width: int, height: int, keyframe_every: int, grid: tuple[int, int] | None = None) -> int:
    """The periodic keyframe distance used for ``width x height`` frames: ``keyframe_every``,
    or less so that the frames held between two keyframes (each its RGB, 3 bytes a pixel,
    and its flow-grid data and blending maps, :data:`GRID_BYTES` a grid pixel) stay within
    :data:`HELD_BYTES`."""
    gh, gw = grid or grid_size(height, width)
    per_frame = 3 * width * height + GRID_BYTES * gh * gw
    return max(1, min(int(keyframe_every), HELD_BYTES // per_frame - 1))


# ---------------------------------------------------------------------------------- the driver
def check_video(src: str | Path, dst: str | Path, *, codec: str = "h264", crf: int = 18, start: float | None = None,
                end: float | None = None, max_pixels: int | None = None) -> VideoReader:
    """Everything that can be refused before any work (one-line :class:`InputError` naming the
    file): the output (a film suffix or a folder, not the input, a container that holds the
    codec, a folder we can write), the options, and the input (a film with a video stream
    whose first frame decodes). Returns its :class:`VideoReader`."""
    src, dst = Path(src), Path(dst)
    if codec not in CODECS:
        raise InputError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    if not (0 <= crf <= 51):
        raise InputError(f"--crf must be in 0..51, got {crf}")
    if _output_kind(dst) == "video":
        _check_video_output(dst, codec, src)
    else:
        _check_writable(dst, dst)
    reader = VideoReader(src, start, end)
    info = reader.info
    if max_pixels and info.width * info.height > max_pixels:
        raise InputError(f"{src}: {info.width}x{info.height} frames, more than --max-pixels {max_pixels:,}")
    return reader


def load_video_hints(path: str | Path, width: int, height: int) -> dict[int, list]:
    """A hints file for a film: the photo format (:mod:`chromaprior.core.hints`) where every point
    (or a stroke's first point) may name its ``"frame"`` (default 0: the first frame). Returns
    ``{frame: [Hint, ...]}``."""
    from ..core.hints import MAX_HINT_BYTES, loads_hints, parse_hints

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such hints file")
    if path.stat().st_size > MAX_HINT_BYTES:
        raise InputError(f"{path}: {path.stat().st_size:,} bytes, more than the {MAX_HINT_BYTES:,} accepted for hints")
    try:
        data = loads_hints(path.read_text(), str(path))
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: hints are not valid JSON text ({e})") from None
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of hints")
    groups: dict[int, list] = {}
    for i, item in enumerate(data):
        points = item if isinstance(item, list) else [item]
        frame = 0
        for j, p in enumerate(points):
            if isinstance(p, dict) and "frame" in p:
                p = dict(p)
                value = p.pop("frame")
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise InputError(f"{path}: item {i}: frame must be a frame number (0, 1, ...), got "
                                     f"{json.dumps(value)[:40]}")
                if j == 0:
                    frame = value
                points[j] = p
        groups.setdefault(frame, []).append(points if isinstance(item, list) else points[0])
    return {f: parse_hints(items, width, height, f"{path} (frame {f})") for f, items in sorted(groups.items())}


@dataclass
class VideoResult:
    """What :func:`colorize_video` did."""

    output: Path
    frames: int = 0  #: frames written by this run
    total: int = 0  #: frames in the output
    keyframes: int = 0
    cuts: int = 0
    seconds: float = 0.0
    resumed_at: int | None = None  #: the frame a resumed job restarted at


def _fingerprint(src: Path, settings: dict) -> str:
    st = src.stat()
    ident = {"source": str(src.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, **settings}
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()


def _hint_list(hints) -> list:
    return [[h.x, h.y, *h.rgb, h.radius] for h in hints]


def _hints_from(rows) -> list:
    from ..core.hints import Hint

    return [Hint(r[0], r[1], (r[2], r[3], r[4]), r[5]) for r in rows]


def _make_folders(work: Path, dst: Path) -> list[Path]:
    """Make the work folder (and the output's folders above it); returns the folders this call
    made, outermost first (removed again when the run fails before any chunk)."""
    made, p = [], work
    while not p.exists() and p != p.parent:
        made.insert(0, p)
        p = p.parent
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{dst}: cannot write here ({e.strerror or e})") from None
    return made


def _lock(work: Path, dst: Path):
    """The open lock file of the work folder, locked (``flock``: the system releases it when
    the process ends, even killed); a second run writing the same output is refused."""
    handle = open(work / LOCK_NAME, "a+")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise InputError(f"{dst}: another chromaprior run is writing this output now; wait for it to end or "
                         "choose another name") from None
    return handle


def _clear(work: Path) -> None:
    """Empty the work folder (all but its lock file)."""
    for p in work.iterdir():
        if p.name != LOCK_NAME:
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def _chunk_whole(work: Path, dst: Path, kind: str, chunk: dict) -> bool:
    """Whether a chunk of an earlier run is all there: its file decodes to its frame count
    (video), or its PNG frames are there and read (frames)."""
    av = _av()
    try:
        if kind == "frames":
            from PIL import Image

            for i in range(chunk["first"], chunk["first"] + chunk["frames"]):
                with Image.open(dst / f"{i:06d}.png") as im:
                    im.load()
            return True
        with av.open(str(work / chunk["file"])) as c:
            c.streams.video[0].thread_type = "AUTO"
            return sum(1 for _ in c.decode(video=0)) == chunk["frames"]
    except (av.FFmpegError, OSError, ValueError, IndexError, SyntaxError):  # PIL: SyntaxError for a broken PNG
        return False


def _resume_manifest(work: Path, dst: Path, kind: str, fingerprint: str) -> dict:
    """The manifest of the work folder when it is this job's (same input and settings), with
    the chunks that are whole up to the first that is not; otherwise a new one (and the
    folder emptied)."""
    manifest = None
    try:
        manifest = json.loads((work / "manifest.json").read_text())
    except (OSError, ValueError):
        pass
    if not isinstance(manifest, dict) or manifest.get("fingerprint") != fingerprint:
        _clear(work)
        return {"fingerprint": fingerprint, "chunks": [], "next": None, "done": False}
    chunks = []
    for ch in manifest["chunks"]:
        if not _chunk_whole(work, dst, kind, ch):
            break
        chunks.append(ch)
    if len(chunks) < len(manifest["chunks"]):
        manifest["done"] = False
        manifest["next"] = chunks[-1]["next"] if chunks else None
        manifest["chunks"] = chunks
    return manifest


def _discard(created: list[Path], work: Path, frames: list[Path]) -> None:
    """Undo a run that failed before any chunk was done: its PNG ``frames``, the work folder,
    and the folders it ``created`` (when nothing else is in them)."""
    for f in frames:
        f.unlink(missing_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            pass


def colorize_video(src: str | Path, dst: str | Path, colorizer, *, keyframe_every: int = KEYFRAME_EVERY,
                   codec: str = "h264", crf: int = 18, start: float | None = None, end: float | None = None,
                   recolor: bool = False, hints: str | Path | dict | None = None, reference=None,
                   temperature: float = 6500.0, progress: Callable[[int, int | None], None] | None = None,
                   chunk_seconds: float = CHUNK_SECONDS, threads: int | None = None, flow_preset: str = "fast",
                   max_pixels: int | None = None, two_sided: bool = True, **options) -> VideoResult:
    """Colorize a film ``src`` into ``dst`` (a video file, or a folder of PNG frames) without
    flicker (the algorithm: this module's docstring).

    Args:
        src: a film FFmpeg can read (gray, or toned; with ``recolor`` a colour film).
        dst: a video file (``.mp4``, ``.mkv``, ...) or a folder (an existing one, or a name
            without a suffix) for PNG frames ``NNNNNN.png`` named by frame number.
        colorizer: a :class:`chromaprior.methods.colorize.Colorizer`.
        keyframe_every: periodic keyframe distance (1: every frame colorized alone).
        codec: ``h264`` (CRF ``crf``, 4:2:0) or ``ffv1`` (lossless RGB; ``.mkv``).
        start, end: the part to do, in seconds.
        hints: a hints file (points may name a ``frame``) or ``{frame: [Hint]}``.
        reference: a colour photo (:class:`Picture` or ``(1, 3, h, w)``) for every keyframe.
        temperature: colour temperature of the result (kelvin).
        progress: ``progress(frames done, frames expected or None)`` after every frame.
        two_sided: carry the chroma from both keyframes of a segment (False: an ablation,
            from the first only).
        options: for :meth:`Colorizer.__call__` (preset, seed, work_size, vividness).
    Returns:
        a :class:`VideoResult`. An interrupted run is resumed by calling again with the same
        arguments; other arguments start afresh.
    """
    import torch

    from .api import colorize_picture, palette_of

    cv2 = _cv2()
    src, dst = Path(src), Path(dst)
    t0 = time.perf_counter()
    reader = check_video(src, dst, codec=codec, crf=crf, start=start, end=end, max_pixels=max_pixels)
    kind = _output_kind(dst)
    info = reader.info
    if isinstance(reference, Picture):
        reference = palette_of(reference)
    if hints is not None and not isinstance(hints, dict):
        hints = load_video_hints(hints, info.width, info.height)
    hints = dict(hints or {})
    threads = threads or torch.get_num_threads()
    cv2.setNumThreads(threads)
    grid = grid_size(info.height, info.width)
    every = held_frames(info.width, info.height, keyframe_every, grid)
    if every < keyframe_every:
        warnings.warn(f"{src}: a keyframe every {keyframe_every} frames would hold too many {info.width}x{info.height} "
                      f"frames; one every {every} (at most {HELD_BYTES >> 20} MiB of frames held)")
    weights = tuple(colorizer.weights)

    if kind == "video" and codec == "h264" and (info.width % 2 or info.height % 2):
        warnings.warn(f"{src}: {info.width}x{info.height} has an odd side: encoded as 4:4:4 H.264 (4:2:0 needs even "
                      "sides; a few players cannot play 4:4:4)")
    settings = {
        "keyframe_every": keyframe_every, "codec": codec, "crf": crf, "start": start, "end": end, "recolor": recolor,
        "hints": {f: _hint_list(h) for f, h in hints.items()}, "temperature": temperature, "options": options,
        "flow": flow_preset, "grid": grid, "two_sided": two_sided, "chunk_seconds": chunk_seconds, "kind": kind,
        "reference": hashlib.sha256(reference.numpy().tobytes()).hexdigest() if reference is not None else None,
        "model": json.dumps(colorizer.card, sort_keys=True, default=str), "weights": weights,
        "net": hashlib.sha256(b"".join(p.detach().cpu().numpy().tobytes()
                                       for p in list(colorizer.net.parameters())[-4:])).hexdigest(),
        "version": 2,
    }
    work = (dst / ".chromaprior-parts") if kind == "frames" else dst.parent / f".{dst.name}.parts"
    created = _make_folders(work, dst)
    lock = _lock(work, dst)
    manifest_path = work / "manifest.json"
    first_pngs: list[Path] = []  #: PNG frames written before the first chunk was done
    manifest = {"chunks": []}
    try:
        manifest = _resume_manifest(work, dst, kind, _fingerprint(src, settings))

        def save_manifest() -> None:
            atomic_write(manifest_path, lambda tmp: Path(tmp).write_text(json.dumps(manifest)))

        result = VideoResult(dst)
        done_before = sum(ch["frames"] for ch in manifest["chunks"])
        if not manifest["done"]:
            nxt = manifest["next"]
            if manifest["chunks"] and nxt is None:
                manifest["done"] = True  # pragma: no cover - the last chunk ended the film
        if not manifest["done"]:
            nxt = manifest["next"]
            resume_pts = nxt["pts"] if nxt else None
            first_index = nxt["index"] if nxt else 0
            result.resumed_at = first_index if nxt else None
            active = _hints_from(nxt["hints"]) if nxt else []
            pending = {f: h for f, h in hints.items() if not nxt or f > first_index}

            def key(rgb: np.ndarray, index: int, key_hints: list) -> np.ndarray:
                gray = (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
                pic = Picture(rgb[..., 0].astype(np.float32) / 255 if gray else rgb.astype(np.float32) / 255)
                out = colorize_picture(pic, colorizer, recolor=recolor, name=f"{src}: frame {index}",
                                       hints=key_hints or None, reference=reference, temperature=6500.0, **options)
                px = out.pixels  # to the grid first: the chroma is linear, a full-size one is 12 bytes a pixel
                if px.shape[:2] != grid:
                    px = cv2.resize(px, (grid[1], grid[0]), interpolation=cv2.INTER_AREA)
                return chroma_of(px, weights)

            prop = Propagator(key, grid, every, hints=pending, weights=weights,
                              flow=Flow(flow_preset) if every > 1 else None, active_hints=active,
                              two_sided=two_sided)
            chunk_limit = max(1, int(round(chunk_seconds * float(info.rate))))
            shift = int(round((start + info.t0) / info.time_base)) if start else 0
            writer = None
            chunk_tmp = None
            chunk = None
            cuts_closed = 0

            def open_chunk(e: Emitted) -> None:
                nonlocal writer, chunk_tmp, chunk
                chunk = {"file": f"chunk-{len(manifest['chunks']):06d}.{CHUNK_FORMATS[codec]}", "first": e.index,
                         "frames": 0, "keyframes": 0}
                if kind == "video":
                    chunk_tmp = work / f".{chunk['file']}.tmp"
                    writer = _ChunkWriter(str(chunk_tmp), info, codec, crf, threads, dst.suffix.lower())

            def close_chunk(nxt_start) -> None:
                nonlocal writer, chunk, cuts_closed
                chunk["cuts"], cuts_closed = prop.cuts - cuts_closed, prop.cuts
                if writer is not None:
                    writer.close()
                    os.replace(chunk_tmp, work / chunk["file"])  # whole, or not there
                    writer = None
                chunk["next"] = None if nxt_start is None else {
                    "index": nxt_start[0], "pts": int(nxt_start[1]), "hints": _hint_list(nxt_start[2])}
                manifest["chunks"].append(chunk)
                manifest["next"] = chunk["next"]
                save_manifest()
                chunk = None

            def emit(batch: list[Emitted]) -> bool:
                """Write the frames of ``batch``, each dropped once written (a batch's frames are
                not all held until its end); whether there were any."""
                emitted = bool(batch)
                while batch:
                    e = batch.pop(0)
                    if chunk is None:
                        open_chunk(e)
                    rgb = _compose(e, weights, temperature)
                    if kind == "video":
                        writer.write(rgb, e.pts - shift)  # --start: the part begins at 0, as its soundtrack
                    else:
                        from PIL import Image

                        png = dst / f"{e.index:06d}.png"
                        atomic_write(png, lambda tmp, a=rgb: Image.fromarray(a).save(tmp, format="PNG",
                                                                                      compress_level=3))
                        if not manifest["chunks"]:
                            first_pngs.append(png)
                    chunk["frames"] += 1
                    chunk["keyframes"] += e.key
                    result.frames += 1
                    if progress:
                        progress(done_before + result.frames, info.frames)
                return emitted

            try:
                for index, pts, rgb in reader.frames(resume_pts, first_index):
                    if emit(prop.push(index, pts, rgb)) and chunk is not None and chunk["frames"] >= chunk_limit:
                        close_chunk(prop.next_start)
                emit(prop.close())
                if chunk is not None:
                    close_chunk(None)
            except BaseException:
                if writer is not None:  # an unfinished chunk is never kept
                    try:
                        writer.container.close()
                    except Exception:  # noqa: BLE001
                        pass
                    Path(chunk_tmp).unlink(missing_ok=True)
                raise
            if not manifest["chunks"]:
                raise InputError(f"{src}: no frames between --start and --end")
            if prop.hints:
                warnings.warn(f"{src}: hints for frame(s) {', '.join(map(str, sorted(prop.hints)))} were not used "
                              "(outside the frames done)")
            manifest["done"] = True
            save_manifest()
        result.total = sum(ch["frames"] for ch in manifest["chunks"])
        result.keyframes = sum(ch["keyframes"] for ch in manifest["chunks"])
        result.cuts = sum(ch["cuts"] for ch in manifest["chunks"])
        if kind == "video":
            _join_chunks(manifest, work, dst, src, info, None if start is None else start + info.t0,
                         None if end is None else end + info.t0)
        elif info.audio:
            warnings.warn(f"{dst}: a folder of frames holds no audio; the soundtrack was not kept")
        shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        if not manifest["chunks"]:  # nothing to resume: undo what this run made
            _discard(created, work, first_pngs)
        raise
    finally:
        lock.close()
    result.seconds = time.perf_counter() - t0
    return result
