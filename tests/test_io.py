"""Bad inputs: each gives InputError with a one-line message; good odd inputs decode right;
gray and toned photos are told from colour ones."""

import io
import os

import numpy as np
import pytest
from PIL import Image

from chromaprior.training.data import list_images
from chromaprior.core.io import (InputError, Picture, check_output, is_monochrome, is_temporary, read_image, read_mosaic,
                            write_image)
from helpers import icc_profile, synthetic_rgb


def test_missing_and_not_an_image(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "nope.png")
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    with pytest.raises(InputError, match="not an image"):
        read_image(bad)
    with pytest.raises(InputError, match="folder"):
        read_image(tmp_path)


def test_unreadable_file(monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image, "open", denied)
    with pytest.raises(InputError, match="not readable"):
        read_image(__file__)


def test_truncated_file(tmp_path):
    good = tmp_path / "g.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(InputError, match="corrupt|truncated"):
        read_image(cut)


def test_modes(tmp_path):
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 3] = 200
    Image.fromarray(rgba).save(tmp_path / "a.png")
    pic = read_image(tmp_path / "a.png")
    assert pic.is_color and pic.alpha is not None and np.allclose(pic.alpha, 200 / 255)

    Image.fromarray(np.full((4, 5), 7, np.uint8)).convert("P").save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").pixels.shape == (4, 5, 3)

    Image.new("CMYK", (5, 4), (0, 0, 0, 0)).save(tmp_path / "c.jpg")
    with pytest.warns(UserWarning, match="CMYK"):
        pic = read_image(tmp_path / "c.jpg")
    assert pic.pixels.shape == (4, 5, 3) and pic.pixels.min() > 0.9

    a16 = (np.arange(20, dtype=np.uint16).reshape(4, 5) * 3000)
    Image.fromarray(a16).save(tmp_path / "g16.png")
    pic = read_image(tmp_path / "g16.png")
    assert pic.bits == 16 and np.allclose(pic.pixels, a16 / 65535, atol=1e-6)


def _srgb(linear: np.ndarray) -> np.ndarray:
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def test_colour_profiles_are_converted_to_srgb(tmp_path):
    levels = np.arange(0, 256, 17, dtype=np.uint8).reshape(2, 8)
    Image.fromarray(levels).save(tmp_path / "g.png", icc_profile=icc_profile("GRAY", 1.0))
    pic = read_image(tmp_path / "g.png")  # a linear-light gray scan
    assert pic.pixels.ndim == 2
    assert np.abs(pic.pixels - _srgb(levels / 255)).max() < 1.5 / 255

    rgba = np.dstack([synthetic_rgb(4, 6), np.full((4, 6), 77, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "c.png", icc_profile=icc_profile("RGB", 1.0))
    pic = read_image(tmp_path / "c.png")
    assert np.abs(pic.pixels - _srgb(rgba[..., :3] / 255)).max() < 1.5 / 255
    assert np.allclose(pic.alpha, 77 / 255)

    Image.fromarray(levels).save(tmp_path / "bad.png", icc_profile=b"not a profile")
    with pytest.warns(UserWarning, match="unusable colour profile"):
        pic = read_image(tmp_path / "bad.png")
    assert np.allclose(pic.pixels, levels / 255)  # read as sRGB


def test_exif_rotation_is_applied(tmp_path):
    img = Image.fromarray(np.zeros((4, 10), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    img.save(tmp_path / "r.jpg", exif=exif)
    assert read_image(tmp_path / "r.jpg").pixels.shape == (10, 4)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".webp"])
def test_exif_and_dpi_reach_the_output(tmp_path, suffix):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: applied on reading, so not carried
    exif[0x010F] = "Leica"
    exif.get_ifd(0x8769)[0x9003] = "1952:07:14 10:30:00"  # DateTimeOriginal
    exif.get_ifd(0x8769)[0xA001] = 0xFFFF  # ColorSpace uncalibrated (Adobe RGB)
    Image.fromarray(np.zeros((4, 10), np.uint8)).save(tmp_path / "in.jpg", exif=exif, dpi=(600, 600))
    pic = read_image(tmp_path / "in.jpg")
    write_image(tmp_path / f"out{suffix}", np.zeros((10, 4, 3)), info=pic.info)
    with Image.open(tmp_path / f"out{suffix}") as im:
        out = im.getexif()
        assert out[0x010F] == "Leica" and 0x0112 not in out
        assert out.get_ifd(0x8769)[0x9003] == "1952:07:14 10:30:00" and out.get_ifd(0x8769)[0xA001] == 1
        if suffix != ".webp":
            assert np.allclose(im.info["dpi"], 600, atol=0.01)


def test_huge_image_refused(tmp_path):
    Image.new("L", (300, 200)).save(tmp_path / "big.png")
    with pytest.raises(InputError, match="limit"):
        read_image(tmp_path / "big.png", max_pixels=50_000)


def test_write_is_atomic_and_protects_inputs(tmp_path):
    src = tmp_path / "in.png"
    Image.new("L", (4, 4)).save(src)
    with pytest.raises(InputError, match="overwrite an input"):
        write_image(src, np.zeros((4, 4, 3)), protect=(src,))
    with pytest.raises(InputError, match="output format"):
        write_image(tmp_path / "out.xyz", np.zeros((4, 4, 3)))
    with pytest.raises(InputError, match="cannot write here"):
        write_image(src / "out.png", np.zeros((4, 4, 3)))  # a file where a folder should be
    write_image(tmp_path / "out.png", np.full((4, 4, 3), 0.5))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png"]  # no temp files left
    assert np.asarray(Image.open(tmp_path / "out.png")).max() == 128


def _jpeg(a: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB")) / 255.0


@pytest.mark.parametrize("tint", [(1.0, 1.0, 1.0), (1.1, 0.98, 0.8), (0.8, 0.95, 1.2)])  # gray, sepia, cyanotype
def test_gray_and_toned_photos_are_monochrome(tint):
    gray = synthetic_rgb(120, 160).mean(axis=2, keepdims=True)
    toned = np.clip(np.rint(gray * np.array(tint)), 0, 255).astype(np.uint8)
    assert is_monochrome(_jpeg(toned, 50))
    assert not Picture(_jpeg(toned, 50).astype(np.float32)).has_colour


def test_colour_photos_and_small_coloured_objects_are_not_monochrome():
    assert not is_monochrome(synthetic_rgb(120, 160) / 255.0)
    sepia = np.clip(synthetic_rgb(120, 160).mean(axis=2, keepdims=True) * np.array([1.1, 0.98, 0.8]), 0, 255)
    sepia[10:30, 10:30] = [200, 30, 30]  # a red object on 2 % of a toned print
    assert not is_monochrome(_jpeg(sepia.astype(np.uint8), 90))
    assert is_monochrome(np.full((3, 5, 3), 0.5))  # tiny images work
    assert not Picture(np.zeros((4, 4), np.float32)).has_colour


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_sixteen_bit_png_output(tmp_path, channels):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    a = rng.random((5, 7, 3) if channels > 1 else (5, 7))
    alpha = rng.random((5, 7)) if channels == 4 else None
    exif = Image.Exif()
    exif[0x010F] = "Hasselblad"
    write_image(tmp_path / "o.png", a, alpha, bits=16, info={"dpi": (300, 300), "exif": exif.tobytes()})
    back = cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    want = np.dstack([a, alpha]) if alpha is not None else a
    got = back if channels == 1 else back[..., [2, 1, 0, 3][:channels]]  # OpenCV: BGR(A)
    assert np.array_equal(got, np.rint(want * 65535).astype(np.uint16))
    with Image.open(tmp_path / "o.png") as im:  # a valid PNG for PIL too
        assert im.size == (7, 5) and np.allclose(im.info["dpi"], 300, atol=0.01)
        assert im.getexif()[0x010F] == "Hasselblad"
    with pytest.warns(UserWarning, match="8 bits"):
        write_image(tmp_path / "o.jpg", a, bits=16)


# ------------------------------------------------------------------------- reliability
def test_float_tiff_gives_sixteen_bits(tmp_path):
    """Mode F (float TIFF) is read, in [0, 1] or 0..255 / 0..65535, as a 16-bit source."""
    a = np.linspace(0, 1, 12 * 16, dtype=np.float32).reshape(12, 16)
    Image.fromarray(a).save(tmp_path / "f.tif")
    pic = read_image(tmp_path / "f.tif")
    assert pic.bits == 16 and pic.pixels.dtype == np.float32 and np.allclose(pic.pixels, a)
    Image.fromarray(a * 255).save(tmp_path / "f255.tif")
    assert np.allclose(read_image(tmp_path / "f255.tif").pixels, a, atol=1e-6)
    Image.fromarray(np.full((4, 4), np.nan, np.float32)).save(tmp_path / "nan.tif")
    with pytest.raises(InputError, match="floating-point"):
        read_image(tmp_path / "nan.tif")


def test_fifo_and_temporary_files_are_refused(tmp_path):
    """Items 4 and 7."""
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(InputError, match="not a regular file"):
        read_image(tmp_path / "pipe.png")
    with pytest.raises(InputError, match="not a regular file"):
        read_mosaic(tmp_path / "pipe.png")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / ".x.png.ab12cd.tmp.png")
    assert is_temporary(tmp_path / ".x.png.ab12cd.tmp.png") and not is_temporary(tmp_path / "x.tmp.png")
    with pytest.raises(InputError, match="temporary"):
        read_image(tmp_path / ".x.png.ab12cd.tmp.png")
    assert list_images([tmp_path]) == []


def test_atomic_write_removes_stale_temporaries_of_its_output(tmp_path):
    """A rerun cleans what a killed write of the same output left."""
    stale = tmp_path / ".o.png.dead01.tmp.png"
    stale.write_bytes(b"half")
    other = tmp_path / ".p.png.dead02.tmp.png"
    other.write_bytes(b"another output's")
    write_image(tmp_path / "o.png", np.zeros((4, 4, 3)))
    assert not stale.exists() and other.exists()


def test_small_io_items(tmp_path):
    """No invented 1 dpi for TIFFs without resolution; a warning for extra frames;
    limits in exact pixels under 1 MP."""
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "nores.tif")
    assert "dpi" not in read_image(tmp_path / "nores.tif").info
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "res.tif", dpi=(300, 300))
    assert read_image(tmp_path / "res.tif").info["dpi"] == (300, 300)
    frames = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (0, 255)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    with pytest.warns(UserWarning, match="2 frames"):
        read_image(tmp_path / "a.gif")
    with pytest.raises(InputError, match="64 pixels, above the limit of 10 pixels"):
        read_image(tmp_path / "res.tif", max_pixels=10)


def test_output_checks_before_work(tmp_path):
    """Formats, protected inputs and folders are checked without writing anything."""
    (tmp_path / "in.png").write_bytes(b"x")
    (tmp_path / "file").write_text("x")
    for path, protect, match in [(tmp_path / "x.gif", (), "unsupported"), (tmp_path / "in.png", (tmp_path / "in.png",), "overwrite"),
                                 (tmp_path / "file" / "o.png", (), "not a folder")]:
        with pytest.raises(InputError, match=match):
            check_output(path, protect)
    with pytest.raises(InputError, match="losslessly"):
        check_output(tmp_path / "m.jpg", mosaic_bits=8)
    assert check_output(tmp_path / "new" / "o.png") == ".png" and not (tmp_path / "new").exists()


def test_large_images_are_quantised_in_strips(tmp_path):
    """Writing never makes a float64 copy of the whole image (same bytes as before)."""
    from chromaprior.core.io import _quantize

    a = np.random.default_rng(0).random((600, 7, 3)).astype(np.float32) * 1.2 - 0.1
    assert np.array_equal(_quantize(a, 255, np.uint8, rows=64),
                          np.clip(np.rint(a.astype(np.float64) * 255), 0, 255).astype(np.uint8))


# ------------------------------------------------------------------ one format table
def test_every_output_format_is_listed_and_read_back(tmp_path):
    """One table (io.FORMATS): whatever write_image writes, list_images lists (any case) and
    read_image reads back, .npy included."""
    from chromaprior.core.io import FORMATS, IMAGE_SUFFIXES, OUTPUT_SUFFIXES

    assert set(OUTPUT_SUFFIXES) <= set(IMAGE_SUFFIXES) and ".npy" in OUTPUT_SUFFIXES
    rgb = synthetic_rgb(8, 12) / 255
    for suffix in OUTPUT_SUFFIXES:
        write_image(tmp_path / f"x{suffix}", rgb)
    (tmp_path / "x.npy").rename(tmp_path / "upper.NPY")
    (tmp_path / "notes.txt").write_text("not an image")
    listed = list_images([tmp_path])
    assert sorted(p.suffix.lower() for p in listed) == sorted(OUTPUT_SUFFIXES)
    for p in listed:
        back = read_image(p)
        assert back.pixels.shape == (8, 12, 3)
        lossless = FORMATS[p.suffix.lower()].lossless
        assert np.abs(back.pixels - rgb).max() <= (1e-6 if p.suffix == ".NPY" else 0.5 / 255 if lossless else 0.25)
    assert read_image(tmp_path / "upper.NPY").bits == 32


def test_npy_arrays_are_images_and_mosaics(tmp_path):
    """A folder of .npy mosaics is a folder of images; gray, uint8/uint16/float arrays are
    read with their depth; wrong shapes and values are one-line errors."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "f.npy", rng.random((6, 8)).astype(np.float32))
    np.save(tmp_path / "u16.npy", rng.integers(0, 65536, (6, 8), dtype=np.uint16))
    np.save(tmp_path / "u8.npy", rng.integers(0, 256, (6, 8), dtype=np.uint8))
    assert [p.name for p in list_images([tmp_path])] == ["f.npy", "u16.npy", "u8.npy"]
    assert [read_mosaic(tmp_path / n)[1] for n in ("f.npy", "u16.npy", "u8.npy")] == [32, 16, 8]
    raw, _ = read_mosaic(tmp_path / "u16.npy")
    assert raw.dtype == np.float32 and np.array_equal(raw, np.load(tmp_path / "u16.npy") / np.float32(65535))
    np.save(tmp_path / "rgb.npy", rng.random((6, 8, 3)))
    assert read_image(tmp_path / "rgb.npy").is_color
    with pytest.raises(InputError, match="single-channel"):
        read_mosaic(tmp_path / "rgb.npy")
    for name, a, match in [("two.npy", np.zeros((6, 8, 2)), r"\(H, W\) or \(H, W, 3\)"),
                           ("big.npy", np.full((6, 8), 2.0), r"\[0, 1\]"),
                           ("int.npy", np.zeros((6, 8), np.int64), "unsupported array type"),
                           ("empty.npy", np.zeros((0, 8)), "empty")]:
        np.save(tmp_path / name, a)
        with pytest.raises(InputError, match=match):
            read_image(tmp_path / name)
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(InputError, match="not a readable .npy"):
        read_image(tmp_path / "junk.npy")
    with pytest.raises(InputError, match="above the limit"):
        read_image(tmp_path / "f.npy", max_pixels=47)


def test_mosaic_formats_come_from_the_table(tmp_path):
    """Lossless formats hold 8-bit mosaics, PNG/TIFF 16-bit ones, .npy float ones."""
    from chromaprior.core.io import write_mosaic

    assert check_output(tmp_path / "m.bmp", mosaic_bits=8) == ".bmp"
    for suffix, bits, match in [(".bmp", 16, "need .png or .tif"), (".webp", 8, "losslessly"),
                                (".png", 32, "need .npy")]:
        with pytest.raises(InputError, match=match):
            check_output(tmp_path / f"m{suffix}", mosaic_bits=bits)
        with pytest.raises(InputError, match=match):
            write_mosaic(tmp_path / f"m{suffix}", np.zeros((4, 4)), bits)
    write_mosaic(tmp_path / "m.tif", np.full((4, 4), 0.5), 16)
    assert read_mosaic(tmp_path / "m.tif")[1] == 16
