"""Video colorization (chromaprior.apps.video and `chromaprior colorize film.mp4`): tiny clips of 64x48."""

from __future__ import annotations

import json
from pathlib import Path
from fractions import Fraction

import numpy as np
import pytest
import torch

av = pytest.importorskip("av")
cv2 = pytest.importorskip("cv2")

from click.testing import CliRunner  # noqa: E402

from chromaprior.apps.cli import main  # noqa: E402
from chromaprior.methods.colorize import Colorizer, gamut_clamp  # noqa: E402
from chromaprior.core.errors import InputError  # noqa: E402
from chromaprior.apps.video import (  # noqa: E402
    Propagator, aligned_flicker, blend_segment, colorize_video, is_cut, quantize_keeping_gray,
)

W, H = 64, 48


def texture(seed: int = 0, h: int = 160, w: int = 200) -> np.ndarray:
    """A colourful textured picture (uint8), with detail at several scales for the flow."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    for sigma, amp in ((12, 1.0), (4, 0.6), (1.5, 0.3)):
        noise = rng.normal(size=(h, w, 3)).astype(np.float32)
        img += amp * cv2.GaussianBlur(noise, (0, 0), sigma) * sigma
    img = (img - img.min()) / (img.max() - img.min())
    return (img * 255).astype(np.uint8)


def pan(n: int = 10, seed: int = 0, step: float = 1.7, cut_at: int | None = None) -> tuple[list, list]:
    """``n`` colour frames of a camera moving ``step`` px a frame right and 0.6 down (a new
    picture from ``cut_at`` on), and per frame the camera offset."""
    frames, offsets = [], []
    pics = [texture(seed), texture(seed + 1)]
    for i in range(n):
        pic = pics[1] if cut_at is not None and i >= cut_at else pics[0]
        x, y = 10 + step * i, 8 + 0.6 * i
        m = np.array([[1, 0, x], [0, 1, y]], np.float64)
        frames.append(cv2.warpAffine(pic, m, (W, H), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP))
        offsets.append((x, y))
    return frames, offsets


def gray_of(frames: list) -> list:
    return [np.repeat(np.rint(f.astype(np.float32).mean(-1, keepdims=True)), 3, -1).astype(np.uint8) for f in frames]


def write_clip(path, frames, *, fps=25, audio=True, codec="libx264", pts=None, sar=None, rotation=None,
               options=None, fmt=None, pix="yuv420p") -> None:
    # bitexact: no random Matroska segment UID, so a damaged copy is damaged the same way every run
    with av.open(str(path), "w", format=fmt, container_options={"fflags": "+bitexact"}) as out:
        s = out.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], pix
        if options:
            s.codec_context.options = options
        if sar:
            s.codec_context.sample_aspect_ratio = sar
        if rotation:
            s.set_display_rotation(rotation)
        a = None
        if audio:
            a = out.add_stream("aac", rate=8000)
            a.layout = "mono"
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i if pts is None else pts[i]
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
        if a is not None:
            t = np.arange(int(8000 * len(frames) / fps)) / 8000
            af = av.AudioFrame.from_ndarray((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None],
                                            format="fltp", layout="mono")
            af.sample_rate, af.pts = 8000, 0
            for p in a.encode(af):
                out.mux(p)
            for p in a.encode(None):
                out.mux(p)


def read_clip(path) -> tuple[list, list, object]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames, times = [], []
        for f in c.decode(s):
            frames.append(f.to_ndarray(format="rgb24"))
            times.append(float(f.time))
        return frames, times, c


@pytest.fixture(scope="module")
def unet(tiny_unet_model) -> Colorizer:
    torch.manual_seed(0)
    return Colorizer(tiny_unet_model)


def run(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def gray_error(out: list, ref: list) -> float:
    """Mean |(r+g+b)/3 of out - that of ref| on 0..255."""
    return float(np.mean([np.abs(o.astype(np.float32).mean(-1) - r.astype(np.float32).mean(-1)).mean()
                          for o, r in zip(out, ref)]))


# ---------------------------------------------------------------------------------- pure parts
def test_quantize_keeping_gray_reproduces_the_sum_exactly():
    rng = np.random.default_rng(0)
    total = rng.integers(0, 766, (40, 50))
    chroma = torch.from_numpy(rng.normal(0, 0.3, (1, 3, 40, 50))).float()
    chroma -= chroma.mean(1, keepdim=True)
    rgb = gamut_clamp(torch.from_numpy(total / 765).float()[None, None], chroma)[0].permute(1, 2, 0).numpy()
    q = quantize_keeping_gray(rgb, total)
    assert (q.astype(int).sum(-1) == total).all()
    assert np.abs(q - rgb * 255).max() < 1.0
    assert (quantize_keeping_gray(rgb, None).astype(int).sum(-1) != total).mean() > 0.05  # plain rounding is not


def test_blend_segment_is_the_keyframes_at_the_ends_and_a_mix_between():
    flow = np.zeros((6, 8, 2), np.float32)
    ones = np.ones((6, 8), np.float32)
    a, b = np.full((6, 8, 3), 1.0, np.float32), np.full((6, 8, 3), -1.0, np.float32)
    mid = blend_segment(a, b, [flow] * 4, [flow] * 4, [ones] * 4, [ones] * 4)
    assert len(mid) == 3
    np.testing.assert_allclose([m[0, 0, 0] for m in mid], [0.5, 0.0, -0.5], atol=1e-3)


def test_blend_segment_follows_the_motion():
    """A spot of colour that moves 1 px a frame is carried with it."""
    first = np.zeros((8, 12, 3), np.float32)
    first[4, 2] = [1, -0.5, -0.5]
    last = np.zeros_like(first)
    last[4, 6] = [1, -0.5, -0.5]
    back = np.zeros((8, 12, 2), np.float32)
    back[..., 0] = -1  # every pixel was 1 px to the left in the frame before
    fwd = -back
    ones = np.ones((8, 12), np.float32)
    mid = blend_segment(first, last, [back] * 4, [fwd] * 4, [ones] * 4, [ones] * 4)
    assert [int(np.argmax(m[4, :, 0])) for m in mid] == [3, 4, 5]


def test_cut_detection_on_a_pan_and_a_cut():
    from chromaprior.apps.video import Flow, consistency

    frames, _ = pan(6, cut_at=3)
    g = [np.rint(f.astype(np.float32).mean(-1)).astype(np.uint8) for f in frames]
    flow = Flow()
    cuts = []
    for t in range(1, 6):
        back, fwd = flow(g[t], g[t - 1]), flow(g[t - 1], g[t])
        cuts.append(is_cut(g[t], g[t - 1], back, consistency(back, fwd)))
    assert cuts == [False, False, True, False, False]


def test_propagator_emits_every_frame_once_in_order_with_bounded_memory():
    seen, held = [], []

    def key(rgb, index, hints):
        return np.zeros((H, W, 3), np.float32)

    frames, _ = pan(20, cut_at=11)
    p = Propagator(key, (H, W), keyframe_every=4)
    for i, f in enumerate(frames):
        seen += [e.index for e in p.push(i, i, f)]
        held.append(len(p.segment))
    seen += [e.index for e in p.close()]
    assert seen == list(range(20))
    assert max(held) <= 5  # keyframe_every + 1 frames in flight
    assert p.cuts == 1


# ----------------------------------------------------------------------------- round trips
def test_round_trip_keeps_frames_fps_audio_and_gray(tmp_path):
    frames, _ = pan(10)
    src, dst = tmp_path / "film.mp4", tmp_path / "film-colour.mp4"
    write_clip(src, gray_of(frames))
    r = run("colorize", src, "-o", dst)
    assert r.exit_code == 0, r.output
    assert f"wrote 10 frames to {dst}" in r.output
    out, times, _ = read_clip(dst)
    inp, in_times, _ = read_clip(src)
    assert len(out) == 10 and out[0].shape == (H, W, 3)
    np.testing.assert_allclose(times, in_times, atol=1e-6)
    with av.open(str(dst)) as c, av.open(str(src)) as s:
        assert c.streams.video[0].average_rate == 25
        assert [a.codec_context.name for a in c.streams.audio] == ["aac"]
        assert sum(1 for _ in c.demux(c.streams.audio[0])) == sum(1 for _ in s.demux(s.streams.audio[0]))
    assert gray_error(out, inp) < 2.5  # H.264 4:2:0 at CRF 18
    assert np.mean([np.abs(o.astype(float) - o.mean(-1, keepdims=True)).mean() for o in out]) > 1  # coloured


@pytest.mark.parametrize("lossless", ["ffv1", "png"])
def test_lossless_outputs_keep_the_gray_exactly(tmp_path, unet, lossless):
    frames, _ = pan(6)
    src = tmp_path / "film.mp4"
    write_clip(src, gray_of(frames), audio=False)
    inp, _, _ = read_clip(src)
    if lossless == "ffv1":
        colorize_video(src, tmp_path / "out.mkv", unet, codec="ffv1", keyframe_every=3)
        out, _, _ = read_clip(tmp_path / "out.mkv")
    else:
        colorize_video(src, tmp_path / "frames", unet, keyframe_every=3)
        names = sorted(p.name for p in (tmp_path / "frames").iterdir())
        assert names == [f"{i:06d}.png" for i in range(6)]  # no work folder left behind
        out = [np.asarray(__import__("PIL.Image").Image.open(tmp_path / "frames" / n).convert("RGB")) for n in names]
    assert len(out) == 6
    for o, i in zip(out, inp):
        assert (o.astype(int).sum(-1) == i.astype(int).sum(-1)).all()


def test_variable_frame_rate_aspect_and_rotation_are_kept(tmp_path, unet):
    frames, _ = pan(8)
    pts = [0, 1, 3, 4, 8, 9, 15, 16]
    src, dst = tmp_path / "vfr.mp4", tmp_path / "out.mp4"
    write_clip(src, gray_of(frames), pts=pts, sar=Fraction(4, 3), rotation=90, audio=False)
    colorize_video(src, dst, unet, keyframe_every=3)
    _, t_in, _ = read_clip(src)
    _, t_out, _ = read_clip(dst)
    np.testing.assert_allclose(t_out, t_in, atol=1e-6)
    with av.open(str(dst)) as c:
        s = c.streams.video[0]
        assert s.sample_aspect_ratio == Fraction(4, 3)
        assert next(c.decode(s)).rotation == 90


def test_start_and_end_select_a_part(tmp_path, unet):
    frames, _ = pan(10)
    src, dst = tmp_path / "film.mkv", tmp_path / "part.mp4"
    write_clip(src, gray_of(frames))
    colorize_video(src, dst, unet, start=0.2, end=0.32)
    out, times, _ = read_clip(dst)
    assert len(out) == 3
    assert times[0] == pytest.approx(0.0, abs=1e-3)
    with av.open(str(dst)) as c:
        assert c.streams.audio  # the matching part of the soundtrack


def test_interlaced_input_is_deinterlaced_with_a_warning(tmp_path, unet):
    frames, _ = pan(6)
    src, dst = tmp_path / "tv.mkv", tmp_path / "out.mkv"
    write_clip(src, gray_of(frames), options={"x264-params": "interlaced=1"}, audio=False)
    with pytest.warns(UserWarning, match="interlaced"):
        colorize_video(src, dst, unet)
    out, _, _ = read_clip(dst)
    assert len(out) == 6


def test_audio_the_container_cannot_hold_is_reencoded_to_aac(tmp_path, unet):
    frames, _ = pan(5)
    src, dst = tmp_path / "film.mkv", tmp_path / "out.mov"  # MOV holds H.264 but not Opus
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        a = out.add_stream("libopus", rate=48000)
        a.layout = "mono"
        for i, f in enumerate(gray_of(frames)):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
        af = av.AudioFrame.from_ndarray(np.zeros((1, 9600), np.float32), format="fltp", layout="mono")
        af.sample_rate, af.pts = 48000, 0
        for p in list(a.encode(af)) + list(a.encode(None)):
            out.mux(p)
    with pytest.warns(UserWarning, match="re-encoded to AAC"):
        colorize_video(src, dst, unet)
    with av.open(str(dst)) as c:
        assert [s.codec_context.name for s in c.streams.audio] == ["aac"]
        assert sum(1 for _ in c.demux(c.streams.audio[0])) > 3
    assert len(read_clip(dst)[0]) == 5


# ------------------------------------------------------------------------------------ flicker
def test_flicker_is_lower_than_per_frame_colorization(tmp_path, unet):
    frames, offsets = pan(12, step=1.3)
    src = tmp_path / "pan.mkv"
    write_clip(src, gray_of(frames), codec="ffv1", pix="yuv444p", audio=False)

    def flicker(out):
        vals = []
        for t in range(len(out) - 1):
            (x0, y0), (x1, y1) = offsets[t], offsets[t + 1]
            xs = np.broadcast_to(np.arange(W, dtype=np.float32)[None] + (x1 - x0), (H, W))
            ys = np.broadcast_to(np.arange(H, dtype=np.float32)[:, None] + (y1 - y0), (H, W))
            vals.append(aligned_flicker(out[t], out[t + 1], xs, ys, margin=6))
        return float(np.mean(vals))

    res = {}
    for n in (1, 6):
        colorize_video(src, tmp_path / f"k{n}.mkv", unet, keyframe_every=n, codec="ffv1")
        res[n] = flicker(read_clip(tmp_path / f"k{n}.mkv")[0])
    assert res[6] < 0.6 * res[1], res


# ------------------------------------------------------------------------------------- resume
class Stop(Exception):
    pass


def test_an_interrupted_job_resumes_where_it_stopped(tmp_path, unet):
    frames, _ = pan(16)
    src, dst = tmp_path / "film.mp4", tmp_path / "out.mkv"
    write_clip(src, gray_of(frames))
    whole = tmp_path / "whole.mkv"
    colorize_video(src, whole, unet, codec="ffv1", keyframe_every=3, chunk_seconds=0.1)

    def stop_after(n):
        def progress(done, total):
            if done >= n:
                raise Stop

        return progress

    with pytest.raises(Stop):
        colorize_video(src, dst, unet, codec="ffv1", keyframe_every=3, chunk_seconds=0.1, progress=stop_after(10))
    assert not dst.exists()  # never a partial file under the final name
    work = tmp_path / ".out.mkv.parts"
    manifest = json.loads((work / "manifest.json").read_text())
    assert 0 < len(manifest["chunks"]) and not manifest["done"]
    (work / ".chunk-000099.nut.tmp").write_bytes(b"half a chunk of a killed run")
    r = colorize_video(src, dst, unet, codec="ffv1", keyframe_every=3, chunk_seconds=0.1)
    assert r.resumed_at == manifest["next"]["index"] > 0
    assert r.frames == 16 - r.resumed_at and r.total == 16
    assert not work.exists()
    out, t_out, _ = read_clip(dst)
    ref, t_ref, _ = read_clip(whole)
    assert len(out) == 16 and t_out == t_ref
    for a, b in zip(out, ref):
        assert np.array_equal(a, b)  # the same film as an uninterrupted run


def test_other_options_start_afresh(tmp_path, unet):
    frames, _ = pan(8)
    src, dst = tmp_path / "film.mp4", tmp_path / "out.mp4"
    write_clip(src, gray_of(frames), audio=False)
    with pytest.raises(Stop):
        colorize_video(src, dst, unet, chunk_seconds=0.1, keyframe_every=2,
                       progress=lambda d, t: (_ for _ in ()).throw(Stop) if d >= 5 else None)
    r = colorize_video(src, dst, unet, chunk_seconds=0.1, keyframe_every=4)
    assert r.resumed_at is None and r.frames == 8


# ------------------------------------------------------------------------------------ bad input
def test_not_a_video(tmp_path):
    src = tmp_path / "film.mp4"
    src.write_text("this is not a film")
    r = run("colorize", src, "-o", tmp_path / "o.mp4")
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1].startswith(f"chromaprior: error: {src}: not a video")


def test_missing_file(tmp_path):
    r = run("colorize", tmp_path / "nothing.mp4", "-o", tmp_path / "o.mp4")
    assert r.exit_code == 1 and "no such file" in r.output


def test_no_video_stream(tmp_path):
    src = tmp_path / "sound.mp4"
    with av.open(str(src), "w") as out:
        a = out.add_stream("aac", rate=8000)
        a.layout = "mono"
        af = av.AudioFrame.from_ndarray(np.zeros((1, 4000), np.float32), format="fltp", layout="mono")
        af.sample_rate, af.pts = 8000, 0
        for p in list(a.encode(af)) + list(a.encode(None)):
            out.mux(p)
    r = run("colorize", src, "-o", tmp_path / "o.mp4")
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1] == f"chromaprior: error: {src}: no video stream (audio)"


def test_corrupt_stream_mid_way_names_the_frame(tmp_path, unet):
    frames, _ = pan(30)
    src = tmp_path / "film.mp4"
    write_clip(src, gray_of(frames), audio=False)
    data = bytearray(src.read_bytes())
    mid = len(data) // 2
    data[mid:mid + len(data) // 10] = np.random.default_rng(0).integers(0, 256, len(data) // 10, np.uint8).tobytes()
    src.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"film.mp4: corrupt video data at frame \d+"):
        colorize_video(src, tmp_path / "o.mp4", unet)
    only(tmp_path, "film.mp4")  # before the first chunk: no work folder left


def test_a_cut_short_film_is_done_with_a_warning(tmp_path, unet):
    frames, _ = pan(30)
    src = tmp_path / "film.mkv"
    write_clip(src, gray_of(frames), audio=False)
    data = bytearray(src.read_bytes())
    mid = len(data) // 2
    data[mid:mid + len(data) // 10] = np.random.default_rng(0).integers(0, 256, len(data) // 10, np.uint8).tobytes()
    src.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=r"ends at frame \d+"):
        colorize_video(src, tmp_path / "o.mp4", unet)


def test_colour_film_needs_recolor(tmp_path, unet):
    frames, _ = pan(4)
    src = tmp_path / "colour.mp4"
    write_clip(src, frames, audio=False)
    r = run("colorize", src, "-o", tmp_path / "o.mp4", "--method", "unet")
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1].startswith(f"chromaprior: error: {src}: frame 0: already in colour")
    assert not (tmp_path / "o.mp4").exists()
    colorize_video(src, tmp_path / "o.mp4", unet, recolor=True)
    assert len(read_clip(tmp_path / "o.mp4")[0]) == 4


def test_output_checks_before_any_work(tmp_path):
    frames, _ = pan(3)
    src = tmp_path / "film.mp4"
    write_clip(src, gray_of(frames), audio=False)
    r = run("colorize", src, "-o", tmp_path / "o.mov", "--codec", "ffv1")
    assert r.exit_code == 1 and "cannot write ffv1 video into a .mov file" in r.output
    r = run("colorize", src, "-o", src)
    assert r.exit_code == 1 and "refusing to overwrite" in r.output
    r = run("colorize", src, "-o", tmp_path / "o.jpg")
    assert r.exit_code == 1 and "PNG frames" in r.output


def test_video_options_are_refused_for_photos(tmp_path, gray_png):
    r = run("colorize", gray_png, "-o", tmp_path / "o.png", "--crf", "20")
    assert r.exit_code == 1 and "--crf apply to videos" in r.output


# -------------------------------------------------------------------------------------- hints
def test_a_hint_on_a_frame_colours_its_shot_only(tmp_path, unet):
    """A static shot (frames 0-6), then a cut: a red hint at frame 2 colours frames 2.. of
    the first shot at that spot, and nothing after the cut."""
    still = texture(3)[:H, :W]
    other = texture(4)[:H, :W]
    frames = [still] * 7 + [other] * 4
    src = tmp_path / "film.mkv"
    write_clip(src, gray_of(frames), codec="ffv1", pix="yuv444p", audio=False)
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"frame": 2, "x": 30, "y": 20, "rgb": [230, 20, 20], "radius": 5}]))
    colorize_video(src, tmp_path / "plain.mkv", unet, codec="ffv1", keyframe_every=2)
    colorize_video(src, tmp_path / "hinted.mkv", unet, codec="ffv1", keyframe_every=2, hints=hints)
    plain, _, _ = read_clip(tmp_path / "plain.mkv")
    hinted, _, _ = read_clip(tmp_path / "hinted.mkv")

    def red(f):
        p = f[18:23, 28:33].astype(float)
        return float((p[..., 0] - p.mean(-1)).mean())

    for t in range(2, 7):
        assert red(hinted[t]) > red(plain[t]) + 10, t
    for t in range(7, 11):
        assert abs(red(hinted[t]) - red(plain[t])) < 1, t


def test_bad_hint_frame_is_one_line(tmp_path):
    frames, _ = pan(3)
    src = tmp_path / "film.mp4"
    write_clip(src, gray_of(frames), audio=False)
    hints = tmp_path / "h.json"
    hints.write_text(json.dumps([{"frame": "two", "x": 3, "y": 3, "rgb": [200, 0, 0]}]))
    r = run("colorize", src, "-o", tmp_path / "o.mp4", "--hints", hints, "--method", "unet")
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1].endswith('item 0: frame must be a frame number (0, 1, ...), got "two"')


def test_reference_applies_to_the_whole_film(tmp_path, unet):
    from chromaprior.core.io import Picture

    frames, _ = pan(5)
    src = tmp_path / "film.mkv"
    write_clip(src, gray_of(frames), codec="ffv1", pix="yuv444p", audio=False)
    red = np.random.default_rng(0).uniform(0, 0.5, (32, 32, 3)).astype(np.float32)  # colours of every hue ...
    red[..., 0] += 0.45  # ... mostly red
    colorize_video(src, tmp_path / "plain.mkv", unet, codec="ffv1")
    colorize_video(src, tmp_path / "ref.mkv", unet, codec="ffv1", reference=Picture(red))
    plain, _, _ = read_clip(tmp_path / "plain.mkv")
    ref, _, _ = read_clip(tmp_path / "ref.mkv")
    for p, r in zip(plain, ref):
        redness = lambda f: float((f[..., 0].astype(float) - f.mean(-1)).mean())  # noqa: E731
        assert redness(r) > redness(p) + 3


def kill_after_two_chunks(src: Path, dst: Path, model: str) -> None:
    """Colorize in another process that SIGKILLs itself once two chunks are done (no clean-up
    runs at all; no timing: the kill comes from the job's own progress)."""
    import os
    import signal
    import subprocess
    import sys

    manifest = dst.parent / f".{dst.name}.parts" / "manifest.json"
    code = (f"import json, os, signal, torch; torch.manual_seed(0)\n"
            f"from chromaprior.methods.colorize import Colorizer\nfrom chromaprior.apps.video import colorize_video\n"
            f"def progress(d, t):\n"
            f"    m = {str(manifest)!r}\n"
            f"    if os.path.exists(m) and len(json.loads(open(m).read())['chunks']) >= 2:\n"
            f"        os.kill(os.getpid(), signal.SIGKILL)\n"
            f"colorize_video({str(src)!r}, {str(dst)!r}, Colorizer({model!r}), codec='ffv1', "
            f"keyframe_every=3, chunk_seconds=0.1, threads=1, progress=progress)\n")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert len(json.loads(manifest.read_text())["chunks"]) == 2 and not dst.exists()


def test_a_killed_process_resumes(tmp_path, tiny_unet_model, unet):
    """SIGKILL in the middle, then the same call again."""
    frames, _ = pan(16)
    src, dst = tmp_path / "film.mp4", tmp_path / "out.mkv"
    write_clip(src, gray_of(frames), audio=False)
    kill_after_two_chunks(src, dst, tiny_unet_model)
    r = colorize_video(src, dst, unet, codec="ffv1", keyframe_every=3, chunk_seconds=0.1)
    assert r.resumed_at and r.total == 16 and r.frames < 16
    out, inp = read_clip(dst)[0], read_clip(src)[0]
    assert len(out) == 16 and all((o.astype(int).sum(-1) == i.astype(int).sum(-1)).all() for o, i in zip(out, inp))


# ---------------------------------------------------------------------------- issue 28: faults
def only(tmp_path, *names) -> None:
    """Nothing in ``tmp_path`` but ``names`` (no work folder, no frames folder, no temporaries)."""
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def test_h264_into_avi_is_written(tmp_path):
    frames, _ = pan(10)
    src, dst = tmp_path / "film.mp4", tmp_path / "out.avi"
    write_clip(src, gray_of(frames))
    r = run("colorize", src, "-o", dst, "--method", "unet")
    assert r.exit_code == 0, r.output
    out, times, _ = read_clip(dst)
    assert len(out) == 10
    np.testing.assert_allclose(np.diff(times), 0.04, atol=1e-6)  # no B-frames: AVI keeps no presentation times
    only(tmp_path, "film.mp4", "out.avi")


def test_variable_frame_rate_into_avi_keeps_the_frame_times(tmp_path, unet):
    frames, _ = pan(8)
    src, dst = tmp_path / "vfr.mp4", tmp_path / "out.avi"
    write_clip(src, gray_of(frames), pts=[0, 1, 3, 4, 8, 9, 15, 16], audio=False)
    colorize_video(src, dst, unet, codec="ffv1", keyframe_every=3)  # AVI's rate: the 25 fps all times are on
    np.testing.assert_allclose(read_clip(dst)[1], read_clip(src)[1], atol=1e-6)


def test_a_join_ffmpeg_refuses_is_one_line_and_not_stuck(tmp_path, unet, monkeypatch):
    import chromaprior.apps.video as video

    frames, _ = pan(6)
    src, dst = tmp_path / "film.mp4", tmp_path / "out.mkv"
    write_clip(src, gray_of(frames), audio=False)

    def refuse(*args):
        raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(video, "_writes", lambda suffix, codec: True)  # the check before any work joins too
    monkeypatch.setattr(video, "_join", refuse)
    with pytest.raises(InputError, match=r"out.mkv: FFmpeg could not join .* \(Invalid data found when processing"):
        colorize_video(src, dst, unet)
    only(tmp_path, "film.mp4")  # the next run starts afresh instead of failing at the join again
    monkeypatch.undo()
    colorize_video(src, dst, unet)
    assert len(read_clip(dst)[0]) == 6


def test_containers_that_cannot_read_back_are_refused_before_any_work(tmp_path):
    frames, _ = pan(3)
    src = tmp_path / "film.mp4"
    write_clip(src, gray_of(frames), audio=False)
    r = run("colorize", src, "-o", tmp_path / "o.ts", "--codec", "ffv1")  # MPEG-TS takes FFV1 as a data stream
    assert r.exit_code == 1 and "cannot write ffv1 video into a .ts file" in r.output


@pytest.mark.parametrize("width,height,codec", [(320, 24, "h264"), (40, 8, "ffv1"), (11, 11, "ffv1"), (1, 1, "ffv1"),
                                                (24, 320, "ffv1")])
def test_thin_films_are_colorized(tmp_path, unet, width, height, codec):
    """DIS flow segfaults on a grid with a side under 32 px: the flow is taken on it scaled up."""
    pic = texture(5, 400, 400)
    frames = gray_of([np.ascontiguousarray(pic[2 * i:2 * i + height, 3 * i:3 * i + width]) for i in range(7)])
    src, dst = tmp_path / "thin.mkv", tmp_path / ("out.mp4" if codec == "h264" else "out.mkv")
    write_clip(src, frames, codec="ffv1", pix="yuv444p", audio=False)
    r = colorize_video(src, dst, unet, codec=codec, keyframe_every=3)
    out = read_clip(dst)[0]
    assert r.total == len(out) == 7 and out[0].shape == (height, width, 3)


def test_flow_of_a_thin_grid_follows_the_motion():
    from chromaprior.apps.video import Flow

    a = np.ascontiguousarray(cv2.cvtColor(texture(1, 20, 330), cv2.COLOR_RGB2GRAY))
    flow = Flow()(a[:, 5:325], a[:, 3:323])  # 20x320: the content moves 2 px right
    assert flow.shape == (20, 320, 2)
    assert np.median(flow[4:-4, 20:-20, 0]) == pytest.approx(2, abs=0.5)


@pytest.mark.parametrize("codec,suffix", [("ffv1", ".mkv"), ("h264", ".mkv"), ("ffv1", ".avi"), ("h264", ".avi")])
def test_durations_are_right_after_the_join(tmp_path, unet, codec, suffix):
    frames, _ = pan(50, step=0.3)
    src, dst = tmp_path / "film.mp4", tmp_path / f"out{suffix}"
    write_clip(src, gray_of(frames), audio=False)
    colorize_video(src, dst, unet, codec=codec, chunk_seconds=0.5, keyframe_every=6)  # 4 chunks
    with av.open(str(dst)) as c:
        assert c.duration / 1e6 == pytest.approx(2.0, abs=2.5 / 25)  # 50 frames at 25 fps (was 2.5-5.4 s)
        assert sum(1 for _ in c.decode(video=0)) == 50
    import warnings
    from chromaprior.apps.video import VideoReader

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "the rest is unreadable" about our own output
        assert sum(1 for _ in VideoReader(dst).frames()) == 50


def test_a_damaged_chunk_is_redone_on_resume(tmp_path, tiny_unet_model, unet):
    """kill -9 after two chunks, a chunk cut short, the same call again: that chunk and those
    after it are done again."""
    frames, _ = pan(16)
    src, dst = tmp_path / "film.mp4", tmp_path / "out.mkv"
    write_clip(src, gray_of(frames), audio=False)
    kill_after_two_chunks(src, dst, tiny_unet_model)
    work = tmp_path / ".out.mkv.parts"
    manifest = json.loads((work / "manifest.json").read_text())
    second = work / manifest["chunks"][1]["file"]
    second.write_bytes(second.read_bytes()[: second.stat().st_size // 2])
    r = colorize_video(src, dst, unet, codec="ffv1", keyframe_every=3, chunk_seconds=0.1)
    assert r.resumed_at == manifest["chunks"][0]["next"]["index"] and r.total == 16
    whole = tmp_path / "whole.mkv"
    ref = colorize_video(src, whole, unet, codec="ffv1", keyframe_every=3, chunk_seconds=0.1)
    assert (r.keyframes, r.cuts) == (ref.keyframes, ref.cuts)  # counted over the whole film, not the resumed part
    out, t_out, _ = read_clip(dst)
    expect, t_ref, _ = read_clip(whole)
    assert len(out) == 16 and t_out == t_ref and all(np.array_equal(a, b) for a, b in zip(out, expect))


def test_a_damaged_png_frame_is_redone_on_resume(tmp_path, unet):
    frames, _ = pan(12)
    src, dst = tmp_path / "film.mp4", tmp_path / "frames"
    write_clip(src, gray_of(frames), audio=False)
    with pytest.raises(Stop):
        colorize_video(src, dst, unet, keyframe_every=3, chunk_seconds=0.1,
                       progress=lambda d, t: (_ for _ in ()).throw(Stop) if d >= 9 else None)
    manifest = json.loads((dst / ".chromaprior-parts" / "manifest.json").read_text())
    assert len(manifest["chunks"]) >= 2
    (dst / "000001.png").write_bytes((dst / "000001.png").read_bytes()[:100])  # in the first chunk
    r = colorize_video(src, dst, unet, keyframe_every=3, chunk_seconds=0.1)
    assert r.resumed_at is None and r.frames == 12
    from PIL import Image

    assert [np.asarray(Image.open(dst / f"{i:06d}.png")).shape for i in range(12)] == [(H, W, 3)] * 12


def test_failed_runs_leave_no_work_folders(tmp_path, unet):
    colour, _ = pan(4)
    src = tmp_path / "colour.mp4"
    write_clip(src, colour, audio=False)
    for dst in (tmp_path / "o.mp4", tmp_path / "frames", tmp_path / "new" / "films" / "o.mkv"):
        with pytest.raises(InputError, match="already in colour"):
            colorize_video(src, dst, unet)
        only(tmp_path, "colour.mp4")
        with pytest.raises(InputError, match="no frames between --start and --end"):
            colorize_video(src, dst, unet, recolor=True, start=5.0)
        only(tmp_path, "colour.mp4")

        def ctrl_c(done, total):
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            colorize_video(src, dst, unet, recolor=True, progress=ctrl_c)
        only(tmp_path, "colour.mp4")
    (tmp_path / "mine").mkdir()  # an existing frames folder stays, without the run's frames
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(KeyboardInterrupt):
        colorize_video(src, tmp_path / "mine", unet, recolor=True, keyframe_every=1, progress=ctrl_c)
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_unwritable_outputs_are_one_line_naming_them(tmp_path, monkeypatch):
    """A read-only file system (simulated: the tests cannot mount one)."""
    import os
    from types import SimpleNamespace

    frames, _ = pan(3)
    src = tmp_path / "film.mp4"
    write_clip(src, gray_of(frames), audio=False)
    rofs = tmp_path / "rofs"
    rofs.mkdir()
    access, statvfs = os.access, os.statvfs
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: not (Path(p) == rofs and mode & os.W_OK)
                        and access(p, mode, **kw))
    monkeypatch.setattr(os, "statvfs", lambda p: SimpleNamespace(f_flag=os.ST_RDONLY) if Path(p) == rofs
                        else statvfs(p))
    for dst in (rofs / "out.mp4", rofs, rofs / "frames"):
        r = run("colorize", src, "-o", dst, "--method", "unet")
        assert r.exit_code == 1, r.output
        assert r.output.strip().splitlines()[-1] == (f"chromaprior: error: {dst}: cannot write here "
                                                     "(read-only file system)")
    only(rofs)


def test_a_second_run_on_the_same_output_is_refused_while_the_first_runs(tmp_path, unet):
    frames, _ = pan(8)
    src, dst = tmp_path / "film.mp4", tmp_path / "out.mkv"
    write_clip(src, gray_of(frames), audio=False)
    refused = []

    def second_run(done, total):
        if done == 1:
            with pytest.raises(InputError, match="out.mkv: another chromaprior run is writing this output") as e:
                colorize_video(src, dst, unet, codec="ffv1")
            refused.append(str(e.value))

    r = colorize_video(src, dst, unet, codec="ffv1", progress=second_run)
    assert refused and r.total == 8 and len(read_clip(dst)[0]) == 8
    only(tmp_path, "film.mp4", "out.mkv")


def test_frames_held_per_shot_are_bounded(tmp_path, unet, monkeypatch):
    import chromaprior.apps.video as video
    from chromaprior.apps.video import held_frames

    assert held_frames(64, 48, 8) == 8
    assert held_frames(1280, 720, 1000) == 76 and held_frames(3840, 2160, 1000) == 17  # 512 MiB of frames
    frames, _ = pan(12, step=0.5)
    src = tmp_path / "film.mkv"
    write_clip(src, gray_of(frames), codec="ffv1", pix="yuv444p", audio=False)
    per_frame = 3 * W * H + video.GRID_BYTES * W * H
    monkeypatch.setattr(video, "HELD_BYTES", 4 * per_frame)  # room for 4 frames: a keyframe every 3
    with pytest.warns(UserWarning, match="a keyframe every 1000 frames would hold too many 64x48 frames; one every 3"):
        r = colorize_video(src, tmp_path / "out.mkv", unet, codec="ffv1", keyframe_every=1000)
    assert r.keyframes == 5  # frames 0, 3, 6, 9 and the last


def test_a_frame_is_composed_in_strips_the_same_as_at_once(monkeypatch):
    import chromaprior.apps.video as video
    from chromaprior.apps.video import Emitted

    rng = np.random.default_rng(0)
    rgb = np.repeat(rng.integers(0, 256, (37, 53, 1), np.uint8), 3, -1)
    chroma = rng.normal(0, 0.2, (12, 17, 3)).astype(np.float32)
    chroma -= chroma.mean(-1, keepdims=True)
    e = Emitted(0, 0, rgb, chroma)
    whole = video._compose(e, (1 / 3,) * 3, 5000.0)
    monkeypatch.setattr(video, "COMPOSE_PIXELS", 53 * 5)
    assert np.array_equal(video._compose(e, (1 / 3,) * 3, 5000.0), whole)
    assert np.array_equal(video._compose(e, (1 / 3,) * 3, 6500.0).astype(int).sum(-1), rgb.astype(int).sum(-1))


def test_a_folder_of_films_says_they_were_skipped(tmp_path, gray_png):
    import shutil

    frames, _ = pan(3)
    (tmp_path / "in").mkdir()
    write_clip(tmp_path / "in" / "a.mp4", gray_of(frames), audio=False)
    write_clip(tmp_path / "in" / "b.mkv", gray_of(frames), audio=False)
    r = run("colorize", tmp_path / "in", "-o", tmp_path / "out", "--method", "unet")
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1] == (f"chromaprior: error: {tmp_path / 'in'}: no images in this folder "
                                                 "(2 films skipped: films are colorized one at a time, each given by "
                                                 "its name)")
    shutil.copy(gray_png, tmp_path / "in" / "g.png")
    r = run("colorize", tmp_path / "in", "-o", tmp_path / "out", "--method", "unet")
    assert r.exit_code == 0 and "in: 2 films skipped" in r.output
