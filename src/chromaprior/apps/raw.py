"""Camera raw files (DNG, CR2, NEF, ARW, ... whatever LibRaw reads) through ``rawpy``.

``chromaprior demosaick photo.dng -o photo.png`` (or ``.tif``) runs, in this order:

1. **black level**: each photosite minus the black level of its colour
   (``black_level_per_channel``), divided by ``white_level`` minus it: linear values with
   0 = black and 1 = the sensor's saturation;
2. **white balance**: each site times the camera's as-shot multiplier of its colour
   (``camera_whitebalance``; the daylight multipliers when the file has none), normalised
   so that the smallest is 1, as LibRaw does; clipped to ``[0, 1]`` (LibRaw's default
   highlight clipping);
3. **tone curve**: the sRGB transfer function. The network was trained on sRGB-encoded
   photos, so it is given the white-balanced camera values encoded the same way (the
   primaries are still the camera's: demosaicking interpolates each channel from its
   neighbours, and the encoding is what sets the scale of its errors);
4. **demosaicking** with the given demosaicker (the learned one by default), at the file's
   Bayer pattern (from ``raw_colors_visible``);
5. **back to linear** (the inverse sRGB curve) and the **camera colour matrix** to linear
   sRGB as LibRaw gives it: its ``rgb_cam`` matrix (``color_matrix`` when the file embeds
   one, as DNGs do; else computed from ``rgb_xyz_matrix`` the way LibRaw's
   ``cam_xyz_coeff`` does), clipped to ``[0, 1]``;
6. **sRGB encoding**, the file's orientation, and a 16-bit PNG or TIFF.

Non-Bayer sensors (X-Trans, Foveon, four-colour CMYG, linear DNGs) and sizes are refused in
one line. ``rawpy`` is the ``raw`` extra (``pip install 'chromaprior[raw]'``).
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.errors import InputError, MissingExtra
from ..core.io import MAX_PIXELS, Picture, atomic_write

__all__ = ["RAW_SUFFIXES", "is_raw", "RawShot", "read_raw_mosaic", "demosaick_raw", "finish_raw", "rgb_cam_from_xyz",
           "srgb_encode", "srgb_decode", "write_tiff16", "XYZ_RGB"]

#: file name endings handed to LibRaw
RAW_SUFFIXES = (".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2", ".raf",
                ".pef", ".srw", ".raw", ".rwl", ".3fr", ".fff", ".iiq", ".erf", ".kdc", ".dcr", ".mrw", ".mos",
                ".x3f")
#: TIFF tags: a DNG's WhiteLevel and the SubIFDs
WHITE_LEVEL, SUB_IFDS = 50717, 330
#: linear sRGB (D65) -> XYZ, the matrix LibRaw uses (``xyz_rgb``)
XYZ_RGB = np.array([[0.412453, 0.357580, 0.180423],
                    [0.212671, 0.715160, 0.072169],
                    [0.019334, 0.119193, 0.950227]])


def is_raw(path: str | Path) -> bool:
    """True for the file endings of camera raw files (:data:`RAW_SUFFIXES`)."""
    return Path(path).suffix.lower() in RAW_SUFFIXES


def _rawpy():
    try:
        import rawpy
    except ImportError:
        raise MissingExtra("camera raw files need rawpy: pip install 'chromaprior[raw]'") from None
    return rawpy


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer function (IEC 61966-2-1) of values in ``[0, 1]``."""
    x = np.clip(linear, 0, 1)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """Its inverse: sRGB-encoded ``[0, 1]`` -> linear."""
    x = np.clip(encoded, 0, 1)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)


def rgb_cam_from_xyz(cam_xyz: np.ndarray) -> np.ndarray:
    """LibRaw's ``cam_xyz_coeff``: camera-from-XYZ ``(3, 3)`` -> the ``(3, 3)`` matrix from
    white-balanced camera RGB to linear sRGB (rows of camera-from-sRGB normalised to sum 1,
    then the pseudo-inverse)."""
    cam_rgb = np.asarray(cam_xyz, dtype=np.float64)[:3, :3] @ XYZ_RGB
    num = cam_rgb.sum(axis=1, keepdims=True)
    cam_rgb = np.where(np.abs(num) > 1e-5, cam_rgb / np.where(np.abs(num) > 1e-5, num, 1), cam_rgb)
    return np.linalg.pinv(cam_rgb)


@dataclass
class RawShot:
    """A raw file's mosaic in the network's domain and what is needed to finish it.

    Attributes:
        mosaic: ``(H, W)`` float32: black-subtracted, white-balanced, clipped to ``[0, 1]``
            and sRGB-encoded (steps 1-3 of the module's order).
        pattern: Bayer pattern from the top-left visible pixel (e.g. ``RGGB``).
        black, white: black levels ``(4,)`` by colour index and the white level.
        multipliers: white-balance multipliers ``(3,)`` (R, G, B) applied.
        rgb_cam: ``(3, 3)`` camera -> linear sRGB.
        flip: LibRaw's orientation code (0, 3: 180, 5: 90 CCW, 6: 90 CW).
    """

    mosaic: np.ndarray
    pattern: str
    black: np.ndarray
    white: float
    multipliers: np.ndarray
    rgb_cam: np.ndarray
    flip: int = 0


def read_raw_mosaic(path: str | Path, max_pixels: int = MAX_PIXELS) -> RawShot:
    """Read a camera raw file into a :class:`RawShot` (one-line :class:`InputError` for
    what cannot be demosaicked here)."""
    rawpy = _rawpy()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file")
    try:
        raw = rawpy.imread(str(path))
    except Exception as e:  # rawpy's LibRawError family
        raise InputError(f"{path}: not a raw file LibRaw can read ({_why(e)})") from None
    with raw:
        try:
            desc = raw.color_desc.decode("ascii", "replace")
            if raw.raw_type != rawpy.RawType.Flat:
                raise InputError(f"{path}: not a colour-filter-array raw (a linear or multi-layer one, e.g. a "
                                 "demosaicked DNG or Foveon); nothing to demosaick")
            pat = np.asarray(raw.raw_pattern)
            if pat.shape != (2, 2):
                raise InputError(f"{path}: a {pat.shape[0]}x{pat.shape[1]} colour filter (X-Trans or similar) is not "
                                 "supported; only 2x2 Bayer sensors")
            if raw.num_colors != 3 or sorted(desc[:4]) != ["B", "G", "G", "R"]:
                raise InputError(f"{path}: a {desc!r} colour filter is not supported; only RGB Bayer sensors")
            colors = np.asarray(raw.raw_colors_visible)
            mosaic = np.asarray(raw.raw_image_visible)
            if mosaic.ndim != 2 or min(mosaic.shape) < 2:
                raise InputError(f"{path}: an empty or one-line raw image {mosaic.shape}")
            if mosaic.size > max_pixels:
                raise InputError(f"{path}: {mosaic.size / 1e6:.1f} MP is above the limit of {max_pixels / 1e6:.1f} MP")
            index = [desc[c] for c in colors[:2, :2].ravel()]
            pattern = "".join(index)
            if sorted(pattern) != ["B", "G", "G", "R"]:
                raise InputError(f"{path}: the colour filter {pattern!r} is not a Bayer pattern")
            black = np.asarray(raw.black_level_per_channel, dtype=np.float64)
            white = float(raw.white_level)
            if path.suffix.lower() == ".dng" and 0 in _tiff_values(path, WHITE_LEVEL):
                white = float(mosaic.max())  # LibRaw takes a WhiteLevel of 0 for the 16-bit maximum
                warnings.warn(f"{path}: the file's white level is 0; the data's maximum {white:g} used instead")
            wb = np.asarray(raw.camera_whitebalance, dtype=np.float64)
            flip = int(raw.sizes.flip)
            cmatrix = np.asarray(raw.color_matrix, dtype=np.float64)[:3, :3]
            cam_xyz = np.asarray(raw.rgb_xyz_matrix, dtype=np.float64)[:3, :3]
            daylight = np.asarray(raw.daylight_whitebalance, dtype=np.float64)
            # per-colour-index tables (index 3 is the second green of RGBG)
            channel = np.array(["RGB".index(desc[c]) for c in range(4)])
            site_black = black[colors]
            scale = white - site_black
            if (scale <= 0).any():
                raise InputError(f"{path}: white level {white:g} is not above the black level")
            lin = (mosaic.astype(np.float32) - site_black.astype(np.float32)) / scale.astype(np.float32)
        except InputError:
            raise
        except Exception as e:  # an odd file LibRaw opened but cannot unpack
            raise InputError(f"{path}: cannot unpack this raw file ({_why(e)})") from None
    rgb_wb = np.zeros(3)
    for c in range(4):
        if c < len(wb) and wb[c] > 0 and rgb_wb[channel[c]] == 0:
            rgb_wb[channel[c]] = wb[c]
    if not (rgb_wb > 0).all():
        rgb_wb = np.array([daylight[c] for c in range(3)]) if (daylight[:3] > 0).all() else np.ones(3)
        warnings.warn(f"{path}: no camera white balance in the file; "
                      + ("daylight multipliers used" if (daylight[:3] > 0).all() else "none applied"))
    rgb_wb = rgb_wb / rgb_wb.min()
    lin *= rgb_wb[channel[colors]].astype(np.float32)
    if np.abs(cmatrix).sum() > 1e-6:
        rgb_cam = cmatrix
    elif np.abs(cam_xyz).sum() > 1e-6:
        rgb_cam = rgb_cam_from_xyz(cam_xyz)
    else:
        warnings.warn(f"{path}: no colour matrix in the file or LibRaw's tables; camera RGB written as sRGB")
        rgb_cam = np.eye(3)
    return RawShot(srgb_encode(lin), pattern, black, white, rgb_wb, rgb_cam, flip)


def _why(e: BaseException) -> str:
    """The first line of a LibRaw error (rawpy gives its message as bytes)."""
    arg = e.args[0] if e.args else ""
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else (str(e).splitlines() or [""])[0]
    return text or type(e).__name__


def _tiff_values(path: Path, tag: int) -> list[int]:
    """The single SHORT or LONG values of ``tag`` in a TIFF's IFDs (the chain from IFD0 and
    the SubIFDs of each): a DNG's raw data is often in a SubIFD. ``[]`` for a file that is
    not a TIFF."""
    with open(path, "rb") as f:
        head = f.read(8)
        if head[:4] not in (b"II*\0", b"MM\0*"):
            return []
        e = "<" if head[:2] == b"II" else ">"
        todo, seen, values = [struct.unpack(e + "I", head[4:])[0]], set(), []
        while todo and len(seen) < 64:  # a bound against loops in a damaged file
            at = todo.pop()
            if not at or at in seen:
                continue
            seen.add(at)
            f.seek(at)
            count = f.read(2)
            entries = f.read(12 * struct.unpack(e + "H", count)[0]) if len(count) == 2 else b""
            for i in range(0, len(entries) - 11, 12):
                t, kind, n, value = struct.unpack(e + "HHI4s", entries[i:i + 12])
                if t == tag and n == 1 and kind in (3, 4):
                    values.append(struct.unpack(e + ("H" if kind == 3 else "I"), value[:2 if kind == 3 else 4])[0])
                elif t == SUB_IFDS and kind in (4, 13):
                    if n > 1:
                        f.seek(struct.unpack(e + "I", value)[0])
                        value = f.read(4 * min(n, 64))
                    todo += struct.unpack(f"{e}{len(value) // 4}I", value[:len(value) // 4 * 4])
            f.seek(at + 2 + len(entries))
            nxt = f.read(4)
            if len(nxt) == 4:
                todo.append(struct.unpack(e + "I", nxt)[0])
    return values


def finish_raw(rgb: np.ndarray, shot: RawShot) -> np.ndarray:
    """Steps 5-6 on a demosaicked ``(H, W, 3)`` sRGB-encoded camera-RGB image: linear, the
    colour matrix, clipped, sRGB-encoded, oriented. Returns ``(H', W', 3)`` float32 in ``[0, 1]``."""
    lin = srgb_decode(rgb)
    out = np.empty_like(lin)
    step = max(1, (1 << 20) // max(1, lin.shape[1]))  # strips of about 1 MP: bounded temporaries
    m = shot.rgb_cam.astype(np.float32).T
    for top in range(0, lin.shape[0], step):
        out[top : top + step] = srgb_encode(lin[top : top + step] @ m)
    if shot.flip == 3:
        out = out[::-1, ::-1]
    elif shot.flip == 5:
        out = np.rot90(out, 1)
    elif shot.flip == 6:
        out = np.rot90(out, -1)
    return np.ascontiguousarray(out)


def demosaick_raw(path: str | Path, demosaicker, *, max_pixels: int = MAX_PIXELS,
                  callback: Callable[[int, int], None] | None = None, **options) -> Picture:
    """A camera raw file -> a 16-bit sRGB :class:`Picture` (the module's order), with
    ``demosaicker`` (a :class:`~chromaprior.methods.learned.LearnedDemosaicker` or an HGM
    :class:`~chromaprior.methods.hgm.Restorer`; ``options``: its preset, seed)."""
    from .api import to_pixels, to_tensor

    shot = read_raw_mosaic(path, max_pixels)
    out = demosaicker.demosaick(to_tensor(shot.mosaic), shot.pattern, callback=callback, **options)
    return Picture(finish_raw(to_pixels(out), shot), bits=16)


def write_tiff16(path: str | Path, rgb: np.ndarray, *, protect: tuple = ()) -> None:
    """Write ``(H, W, 3)`` in ``[0, 1]`` as an uncompressed 16-bit RGB baseline TIFF, atomically."""
    from ..core.io import check_output

    path = Path(path)
    check_output(path, protect)
    a = np.clip(np.rint(np.asarray(rgb, dtype=np.float32) * 65535), 0, 65535).astype("<u2")
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"need an (H, W, 3) image, got {a.shape}")
    h, w = a.shape[:2]
    nbytes = a.nbytes
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, None), (259, 3, 1, 1), (262, 3, 1, 2), (273, 4, 1, None),
               (277, 3, 1, 3), (278, 4, 1, h), (279, 4, 1, nbytes), (284, 3, 1, 1)]
    ifd_at = 8
    ifd_size = 2 + 12 * len(entries) + 4
    bits_at = ifd_at + ifd_size
    data_at = bits_at + 6 + (bits_at + 6) % 2

    def write(f) -> None:
        f.write(b"II*\x00" + struct.pack("<I", ifd_at))
        f.write(struct.pack("<H", len(entries)))
        for tag, kind, count, value in entries:
            if tag == 258:
                value = bits_at
            elif tag == 273:
                value = data_at
            if kind == 3 and count == 1:
                f.write(struct.pack("<HHIHH", tag, kind, count, value, 0))
            else:
                f.write(struct.pack("<HHII", tag, kind, count, value))
        f.write(struct.pack("<I", 0))
        f.write(struct.pack("<HHH", 16, 16, 16))
        f.write(b"\x00" * (data_at - bits_at - 6))
        f.write(np.ascontiguousarray(a).tobytes())

    def save(tmp: str) -> None:
        with open(tmp, "wb") as f:
            write(f)

    atomic_write(path, save)
