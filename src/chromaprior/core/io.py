"""Reading, validating and writing images; atomic file writes.

:func:`read_image` turns whatever a user hands us into a float array in ``[0, 1]`` or
raises :class:`InputError` with a one-line reason: missing or unreadable files,
non-images, unsupported modes, images above the pixel limit. EXIF orientation is
applied, palettes are expanded, an embedded colour profile (ICC) is converted to sRGB,
CMYK without a profile is converted naively (with a warning), 16-bit data keep their
precision, an alpha channel, the EXIF data (date, camera, ...) and the resolution (dpi)
are carried through to the output. Outputs are sRGB.
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import re
import struct
import tempfile
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import InputError

__all__ = [
    "parse_shard",
    "in_shard",
    "sha256_file",
    "atomic_write",
    "InputError",
    "is_monochrome",
    "Picture",
    "read_image",
    "read_mosaic",
    "to_srgb",
    "write_image",
    "encode_image",
    "write_mosaic",
    "check_output",
    "is_temporary",
    "MAX_PIXELS",
    "FileFormat",
    "FORMATS",
    "IMAGE_SUFFIXES",
    "OUTPUT_SUFFIXES",
]

#: Largest accepted input (pixels), about a 12000 x 8000 scan; raise with ``max_pixels``.
MAX_PIXELS = 100_000_000
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class FileFormat:
    """What chromaprior does with the files of one suffix (a row of :data:`FORMATS`)."""

    #: an input: listed in folders (:func:`chromaprior.training.data.list_images`), offered by the web page
    read: bool = True
    #: an output of :func:`write_image` and :func:`write_mosaic`
    write: bool = True
    #: holds transparency (elsewhere it is dropped with a warning)
    alpha: bool = False
    #: may hold a mosaic (lossy compression would mix the Bayer samples)
    lossless: bool = True
    #: the deepest mosaic it holds: 8, 16 (16-bit gray) or 32 (float)
    mosaic_bits: int = 8
    #: what of :attr:`Picture.info` an output of this format keeps
    metadata: tuple[str, ...] = ()


#: The one table of file formats, by lower-case suffix: what is read and what is written,
#: for the command line, the web page and the training data. ``.npy``: a float32 array in
#: ``[0, 1]`` (no 8-bit rounding, for research pipelines); read too as uint8 or uint16. A file
#: named explicitly in another format that Pillow decodes (GIF, PPM, ...) is read as well.
FORMATS: dict[str, FileFormat] = {
    ".png": FileFormat(alpha=True, mosaic_bits=16, metadata=("exif", "dpi")),
    ".jpg": FileFormat(lossless=False, metadata=("exif", "dpi")),
    ".jpeg": FileFormat(lossless=False, metadata=("exif", "dpi")),
    ".tif": FileFormat(alpha=True, mosaic_bits=16, metadata=("exif", "dpi")),
    ".tiff": FileFormat(alpha=True, mosaic_bits=16, metadata=("exif", "dpi")),
    ".webp": FileFormat(alpha=True, lossless=False, metadata=("exif",)),
    ".bmp": FileFormat(),
    ".npy": FileFormat(mosaic_bits=32),
}
#: the suffixes of inputs (what folders are searched for)
IMAGE_SUFFIXES = tuple(s for s, f in FORMATS.items() if f.read)
#: the suffixes of outputs
OUTPUT_SUFFIXES = tuple(s for s, f in FORMATS.items() if f.write)


#: Names of :func:`atomic_write`'s temporary files: ``.NAME.RANDOM.tmp.SUFFIX``.
_TEMPORARY = re.compile(r"^\..+\.[^.]+\.tmp(\.[^.]*)?$")


def is_temporary(path: str | Path) -> bool:
    """True for a temporary file of :func:`atomic_write` (left behind by a killed write):
    never an input."""
    return bool(_TEMPORARY.match(Path(path).name))


def _stale_temporaries(path: Path) -> list[Path]:
    """Temporary files that earlier (killed) writes of ``path`` left in its folder."""
    try:
        return [q for q in path.parent.glob(f".{glob.escape(path.name)}.*.tmp{glob.escape(path.suffix)}")
                if is_temporary(q) and q.is_file()]
    except OSError:
        return []


def _mp(pixels: int) -> str:
    """A pixel count for messages: megapixels, or exact pixels below 1 MP."""
    return f"{pixels / 1e6:.1f} MP" if pixels >= 1_000_000 else f"{pixels:,} pixels"


def _regular_file(path: Path, what: str = "file") -> None:
    """Refuse what cannot be read as a file: missing paths, folders, FIFOs, devices, sockets
    (reading a FIFO would block forever)."""
    if not path.exists():
        raise InputError(f"{path}: no such {what}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an image" if what == "file" else f"{path}: is a folder")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file (a pipe, device or socket); give a file")


def atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` and move the result onto ``path`` in one step.

    The temporary file lives in the destination folder, so the final ``os.replace`` is
    atomic: readers see the old file or the complete new one, never a partial file.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    except OSError as e:
        raise InputError(f"{path}: cannot write here ({e.strerror or e})") from None
    os.close(fd)
    for stale in _stale_temporaries(path):  # left by a killed earlier write of this output
        if stale.name != Path(tmp).name:
            stale.unlink(missing_ok=True)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise InputError(f"{path}: cannot write ({e.strerror or e})") from None
        raise


@dataclass
class Picture:
    """A decoded image.

    Attributes:
        pixels: ``(H, W)`` gray or ``(H, W, 3)`` RGB, float32 in ``[0, 1]``.
        alpha: ``(H, W)`` float32 in ``[0, 1]`` or None.
        bits: the source precision: 8, 16, or 32 (a float array).
        info: metadata for the output: ``exif`` (bytes; orientation applied, colour space
            sRGB) and ``dpi``, where the source has them.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    bits: int = 8
    info: dict = field(default_factory=dict)

    @property
    def is_color(self) -> bool:
        """Three channels (which may still hold a gray or toned photo: see :attr:`has_colour`)."""
        return self.pixels.ndim == 3

    @property
    def has_colour(self) -> bool:
        """Colour beyond gray or a single tint (sepia, cyanotype): see :func:`is_monochrome`."""
        return self.is_color and not is_monochrome(self.pixels)


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    """``"K/N"`` (K in 1..N) -> ``(K, N)``; None -> None; anything else a one-line :class:`InputError`."""
    if spec is None:
        return None
    k, sep, n = str(spec).partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise InputError(f"--shard takes K/N with 1 <= K <= N (e.g. 3/8), got {spec!r}")
    return int(k), int(n)


def in_shard(name: str | Path, shard: tuple[int, int] | None) -> bool:
    """Whether the input named ``name`` (its path relative to its input folder) belongs to part
    ``K`` of ``N``: a stable hash of the name (SHA-1 of its POSIX form), so parts are disjoint,
    cover every input and do not change when other files are added."""
    if shard is None:
        return True
    k, n = shard
    digest = hashlib.sha1(Path(name).as_posix().encode()).hexdigest()
    return int(digest[:15], 16) % n == k - 1


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (to check pinned weights before loading them)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_monochrome(rgb: np.ndarray, tolerance: float = 12 / 255, fraction: float = 0.01) -> bool:
    """True when an ``(H, W, 3)`` image in ``[0, 1]`` holds no colour beyond one tint that
    depends only on brightness: gray photos, sepia or cyanotype prints, toned scans.

    The image is box-averaged to a short side of about 48 px (removing JPEG chroma noise and
    subsampling); its chroma ``rgb - mean(rgb)`` is fitted by a piecewise-linear function of
    the gray (9 knots, least squares, refitted once on the pixels it fits within
    ``tolerance``, so a small coloured object cannot bend the tint); the image is monochrome
    when under ``fraction`` of its pixels differ from that fit by more than ``tolerance``
    (Euclidean, in RGB).
    ``python bench/monochrome.py`` measures the rule on photos and on toned copies of them.
    """
    f = max(1, min(rgb.shape[:2]) // 48)
    h, w = rgb.shape[0] // f * f, rgb.shape[1] // f * f
    small = rgb[:h, :w].reshape(h // f, f, w // f, f, 3).mean(axis=(1, 3), dtype=np.float64).reshape(-1, 3)
    gray = small.mean(axis=1)
    chroma = small - gray[:, None]
    knots = np.linspace(0, 1, 9)
    basis = np.maximum(0, 1 - np.abs(gray[:, None] - knots) * 8)  # piecewise linear in the gray
    fit = np.ones(len(gray), bool)
    for _ in range(2):
        coef = np.linalg.lstsq(basis[fit], chroma[fit], rcond=None)[0]
        off = np.linalg.norm(chroma - basis @ coef, axis=1)
        fit = off <= tolerance
    return float((off > tolerance).mean()) < fraction


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> Picture:
    """Read and validate an image file (any format Pillow decodes, or a ``.npy`` array:
    see :func:`_read_array`); raises :class:`InputError` with a one-line reason. The one
    reader of inputs, evaluation images and training photos."""
    path = Path(path)
    _regular_file(path)
    if is_temporary(path):
        raise InputError(f"{path}: a temporary file left by an interrupted write, not an input")
    if path.suffix.lower() == ".npy":
        return _read_array(path, max_pixels)
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > max_pixels:
                raise InputError(
                    f"{path}: {w}x{h} is {_mp(w * h)}, above the limit of {_mp(max_pixels)} "
                    "(downscale it, or raise --max-pixels)"
                )
            frames = getattr(im, "n_frames", 1)
            if frames > 1:
                warnings.warn(f"{path}: {frames} frames (animation or pages); only the first is used")
            has_dpi = im.format != "TIFF" or 282 in getattr(im, "tag_v2", {})  # TIFF: dpi (1, 1) without the tags
            im = ImageOps.exif_transpose(im)
            pic = _decode(im, path)
            pic.info = _metadata(im.info if has_dpi else {k: v for k, v in im.info.items() if k != "dpi"})
            return pic
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image (unrecognised format)") from None
    except PermissionError:
        raise InputError(f"{path}: not readable (permission denied)") from None
    except Image.DecompressionBombError as e:
        raise InputError(f"{path}: refused as a decompression bomb ({e})") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise InputError(f"{path}: corrupt or truncated image ({e})") from None


def _metadata(info: dict) -> dict:
    """What of a source's ``info`` an output keeps: its EXIF data (marked sRGB, the colour
    space of every output) and its resolution."""
    out = {"dpi": info["dpi"]} if "dpi" in info else {}
    if info.get("exif"):
        try:
            exif = Image.Exif()
            exif.load(info["exif"])
            tags = exif.get_ifd(0x8769)  # the Exif sub-IFD
            if 0xA001 in tags:  # ColorSpace
                tags[0xA001] = 1
            out["exif"] = exif.tobytes()
        except Exception:  # metadata is optional: a broken EXIF block is dropped
            pass
    return out


def _decode(im: Image.Image, path: Path) -> Picture:
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    if mode == "PA":
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode == "1":
        im = im.convert("L")
        mode = "L"
    im = to_srgb(im, path)
    mode = im.mode
    if mode == "CMYK":
        warnings.warn(f"{path}: CMYK image converted to RGB without a colour profile")
        im = im.convert("RGB")
        mode = "RGB"
    if mode in ("YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
        mode = "RGB"
    if mode == "L":
        return Picture(np.asarray(im, dtype=np.float32) / 255)
    if mode == "LA":
        a = np.asarray(im, dtype=np.float32) / 255
        return Picture(a[..., 0], a[..., 1])
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        a = np.asarray(im).astype(np.float64)
        top = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        if a.min() < 0 or a.max() > 65535:
            raise InputError(f"{path}: 32-bit integer image with values outside 0..65535")
        return Picture((a / top).astype(np.float32), bits=16 if top > 255 else 8)
    if mode == "F":  # floating-point TIFF: [0, 1], or 8/16-bit values stored as floats
        a = np.asarray(im, dtype=np.float32)
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 65535:
            raise InputError(f"{path}: floating-point image with values outside [0, 1] (or 0..65535), or not finite")
        top = 1.0 if a.max() <= 1 else 255.0 if a.max() <= 255 else 65535.0
        return Picture(a / np.float32(top), bits=16)
    if mode == "RGB":
        return Picture(np.asarray(im, dtype=np.float32) / 255)
    if mode == "RGBA":
        a = np.asarray(im, dtype=np.float32) / 255
        return Picture(a[..., :3], a[..., 3])
    raise InputError(f"{path}: unsupported image mode {mode!r} (multi-band or RGB floating-point)")


def to_srgb(im: Image.Image, path: str | Path) -> Image.Image:
    """Convert an 8-bit L/LA/RGB/RGBA/CMYK image from its embedded ICC profile to sRGB (gray
    stays gray, alpha is kept); without a profile it is returned as it is, and a profile that
    cannot be used (or a 16-bit image's) is ignored with a warning."""
    icc = im.info.get("icc_profile")
    if not icc:
        return im
    if im.mode not in ("L", "LA", "RGB", "RGBA", "CMYK"):
        warnings.warn(f"{path}: colour profile ignored for a {im.mode} image; values are read as sRGB")
        return im
    alpha = im.getchannel("A") if im.mode in ("LA", "RGBA") else None
    base = im.convert(im.mode[:-1]) if alpha is not None else im
    try:
        out = ImageCms.profileToProfile(base, ImageCms.ImageCmsProfile(io.BytesIO(icc)), _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError) as e:
        warnings.warn(f"{path}: unusable colour profile ignored ({str(e).strip() or type(e).__name__})")
        return im
    if base.mode == "L":
        out = out.convert("L")  # the profile maps gray to neutral sRGB
    if alpha is not None:
        out.putalpha(alpha)
    return out


def _read_array(path: Path, max_pixels: int) -> Picture:
    """A ``.npy`` image: ``(H, W)`` gray or ``(H, W, 3)`` RGB, uint8, uint16 or float in
    ``[0, 1]`` (what :func:`write_image` writes); ``bits`` 8, 16 or 32 (float)."""
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise InputError(f"{path}: not a readable .npy array ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
        raise InputError(f"{path}: an image array must be (H, W) or (H, W, 3), got shape {a.shape}")
    if a.size == 0:
        raise InputError(f"{path}: an empty array (shape {a.shape})")
    if a.shape[0] * a.shape[1] > max_pixels:
        raise InputError(f"{path}: {_mp(a.shape[0] * a.shape[1])} is above the limit of {_mp(max_pixels)}")
    if a.dtype == np.uint8:
        return Picture((a / 255).astype(np.float32), bits=8)
    if a.dtype == np.uint16:
        return Picture((a / 65535).astype(np.float32), bits=16)
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise InputError(f"{path}: float array values must be finite and in [0, 1]")
        return Picture(a.astype(np.float32), bits=32)
    raise InputError(f"{path}: unsupported array type {a.dtype} (use uint8, uint16 or float in [0, 1])")


def read_mosaic(path: str | Path, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, int]:
    """Read a single-channel Bayer mosaic: an 8/16-bit gray PNG/TIFF or a 2-D ``.npy``
    (uint8, uint16, or float in ``[0, 1]``), with :func:`read_image`. Returns ``(H, W)``
    float32 in ``[0, 1]`` and the source bit depth (32 for float arrays)."""
    pic = read_image(path, max_pixels)
    if pic.is_color or pic.alpha is not None:
        raise InputError(f"{path}: a mosaic must be a single-channel image, this one has colour or alpha channels "
                         "(make one with: chromaprior mosaic)")
    return pic.pixels, pic.bits


def check_output(path: str | Path, protect: tuple = (), *, mosaic_bits: int | None = None) -> str:
    """Validate an output path before any work: a supported format (a lossless one of
    ``mosaic_bits`` for mosaics), not one of the ``protect``ed inputs, and a folder that
    exists or can be made and is writable. Returns the lower-case suffix."""
    path = Path(path)
    suffix = _check_output(path, protect)
    if mosaic_bits is not None:
        _check_mosaic_format(path, suffix, mosaic_bits)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{path}: cannot write here ({folder} is not a folder)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{path}: cannot write here (permission denied)")
    return suffix


def _check_mosaic_format(path: Path, suffix: str, bits: int) -> None:
    """A mosaic of ``bits`` (8, 16; 32: float) fits a ``suffix`` file: lossless and deep enough."""
    fmt = FORMATS[suffix]
    if not fmt.lossless:
        raise InputError(f"{path}: a mosaic must be stored losslessly (.png, .tif or .npy)")
    if bits > fmt.mosaic_bits:
        raise InputError(f"{path}: {bits}-bit mosaics need " + (".png or .tif" if bits <= 16 else ".npy"))


def _check_output(path: Path, protect: tuple) -> str:
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InputError(f"{path}: unsupported output format {suffix or '(none)'}; use one of {', '.join(OUTPUT_SUFFIXES)}")
    resolved = path.resolve()
    for p in protect:
        if Path(p).resolve() == resolved:
            raise InputError(f"{path}: refusing to overwrite an input file")
    return suffix


def write_mosaic(path: str | Path, raw: np.ndarray, bits: int = 8, *, protect: tuple = ()) -> None:
    """Write a mosaic ``(H, W)`` in ``[0, 1]``: ``.npy`` (float32) or a gray PNG/TIFF of
    ``bits`` 8 or 16, atomically."""
    path = Path(path)
    suffix = _check_output(path, protect)
    raw = np.clip(np.asarray(raw, dtype=np.float64), 0, 1)
    if suffix == ".npy":
        atomic_write(path, lambda f: np.save(f, raw.astype(np.float32)))
        return
    _check_mosaic_format(path, suffix, bits)
    if bits == 16:
        im = Image.fromarray(np.rint(raw * 65535).astype(np.uint16))
    else:
        im = Image.fromarray(np.rint(raw * 255).astype(np.uint8))
    fmt = Image.registered_extensions()[suffix]
    atomic_write(path, lambda f: im.save(f, format=fmt))


def write_image(path: str | Path, rgb: "np.ndarray | Picture", alpha: np.ndarray | None = None, *, protect: tuple = (),
                info: dict | None = None, bits: int = 8) -> None:
    """Write ``rgb`` ``(H, W, 3)`` (or ``(H, W)``, or a :class:`Picture` with its alpha, info and
    bits) in ``[0, 1]`` atomically: 8-bit, or a 16-bit
    PNG when the source's ``bits`` are more than 8 (other formats then stay 8-bit, with a
    warning); ``.npy``: float32, alpha not stored.

    ``protect``: input paths that must never be overwritten. Alpha is kept for PNG, TIFF
    and WebP and dropped (with a warning) for formats without it. ``info``: a source's
    :attr:`Picture.info`, stored where the format holds it (EXIF: JPEG, PNG, TIFF, WebP;
    dpi: JPEG, PNG, TIFF).
    """
    if isinstance(rgb, Picture):  # what chromaprior.apps.api returns: pixels, alpha, metadata, bit depth
        rgb, alpha, info, bits = rgb.pixels, rgb.alpha, rgb.info, rgb.bits
    path = Path(path)
    suffix = _check_output(path, protect)
    info = info or {}
    if suffix == ".npy":
        if alpha is not None:
            warnings.warn(f"{path}: .npy output holds the colour only; transparency dropped")
        atomic_write(path, lambda f: np.save(f, np.clip(np.asarray(rgb, dtype=np.float32), 0, 1)))
        return
    if alpha is not None and not FORMATS[suffix].alpha:
        warnings.warn(f"{path}: {suffix} has no alpha channel; transparency dropped")
        alpha = None
    if bits > 8 and suffix == ".png":
        planes = np.asarray(rgb)
        if alpha is not None:
            planes = np.dstack([planes, alpha])
        atomic_write(path, lambda tmp: _write_png16(tmp, _quantize(planes, 65535, ">u2"), info))
        return
    if bits > 8:
        warnings.warn(f"{path}: written with 8 bits; use .png (16) or .npy (float) to keep the source's {bits}")
    a8 = _quantize(rgb, 255, np.uint8)
    im = Image.fromarray(a8)
    if alpha is not None:
        al = Image.fromarray(np.clip(np.rint(alpha * 255), 0, 255).astype(np.uint8))
        im = im.convert("RGBA" if a8.ndim == 3 else "LA")
        im.putalpha(al)
    fmt = Image.registered_extensions()[suffix]
    kwargs = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    kwargs |= {key: info[key] for key in FORMATS[suffix].metadata if key in info}

    def _save(tmp: str) -> None:
        im.save(tmp, format=fmt, **kwargs)

    atomic_write(path, _save)


def _quantize(a: np.ndarray, top: int, dtype, rows: int = 256) -> np.ndarray:
    """``rint(clip(a, 0, 1) * top)`` as ``dtype``, in strips of ``rows`` rows (a large
    image never gets a float64 copy)."""
    a = np.asarray(a)
    out = np.empty(a.shape, dtype)
    for i in range(0, a.shape[0], rows):
        strip = np.clip(a[i : i + rows].astype(np.float64), 0, 1) * top
        out[i : i + rows] = np.rint(strip)
    return out


def _write_png16(path: str, a: np.ndarray, info: dict) -> None:
    """A 16-bit PNG of big-endian ``(H, W)`` or ``(H, W, C)`` (C = 2: gray + alpha, 3: RGB,
    4: RGBA), with the ``dpi`` (pHYs) and ``exif`` (eXIf) of ``info``; PIL writes 16-bit gray
    only."""
    h, w = a.shape[:2]
    channels = 1 if a.ndim == 2 else a.shape[2]
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = np.concatenate([np.zeros((h, 1), np.uint8), a.reshape(h, -1).view(np.uint8)], axis=1)  # filter 0

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))
    if "dpi" in info:
        out += chunk(b"pHYs", struct.pack(">IIB", *(round(d / 0.0254) for d in info["dpi"]), 1))
    if "exif" in info:
        exif = info["exif"]
        out += chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    out += chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b"")
    Path(path).write_bytes(out)


def encode_image(pic: Picture, suffix: str = ".png") -> bytes:
    """The bytes :func:`write_image` would write for ``pic`` to a ``suffix`` file (alpha, EXIF,
    dpi and 16 bits kept alike): the web page's downloads are the command line's files."""
    with tempfile.TemporaryDirectory(prefix="chromaprior-") as tmp:
        path = Path(tmp) / f"image{suffix}"
        write_image(path, pic)
        return path.read_bytes()
