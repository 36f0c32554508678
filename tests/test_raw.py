"""Camera raw files through rawpy: minimal CFA DNGs written by the tests with
tifffile; pattern, levels, white balance, the order of the colour pipeline (checked against
LibRaw's own processing), 16-bit outputs, and one-line errors for what is not supported."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("rawpy")
pytest.importorskip("tifffile")

from raw_helpers import CFA_CODES, XTRANS, bayer_colours, tiny_learned, write_dng  # noqa: E402

from chromaprior.methods.learned import LearnedDemosaicker  # noqa: E402
from chromaprior.apps.raw import (demosaick_raw, read_raw_mosaic, rgb_cam_from_xyz, srgb_decode, srgb_encode,  # noqa: E402
                             write_tiff16)

BLACK, WHITE = 256, 4095
#: ColorMatrix1 (XYZ -> camera) of a made-up camera
MATRIX = (0.9, -0.2, -0.1, -0.4, 1.3, 0.1, -0.05, 0.2, 0.6)


def run(*args):
    return subprocess.run([sys.executable, "-m", "chromaprior", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def one_line_error(r) -> str:
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if "chromaprior: error:" in line]
    assert len(errors) == 1, r.stderr
    return errors[0]


@pytest.fixture(scope="module")
def menon_model(tmp_path_factory) -> str:
    """An untrained learned demosaicker (= Menon2007): exact on flat colour."""
    return tiny_learned(tmp_path_factory.mktemp("raw_menon"), random=False)


def flat_dng(path, pattern="RGGB", linear=(0.2, 0.4, 0.3), size=(32, 48), **tags):
    """A DNG of one flat colour: camera-linear ``linear`` (before white balance) at every site."""
    c = bayer_colours(pattern, *size)
    raw = np.round(BLACK + np.asarray(linear)[c] * (WHITE - BLACK)).astype(np.uint16)
    write_dng(path, raw, cfa=CFA_CODES[pattern], black=BLACK, white=WHITE, **tags)
    return raw


@pytest.mark.parametrize("pattern", list(CFA_CODES))
def test_pattern_levels_and_white_balance_from_a_self_made_dng(tmp_path, pattern):
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 4400, (30, 40)).astype(np.uint16)  # below black and above white too
    write_dng(tmp_path / "a.dng", raw, cfa=CFA_CODES[pattern], black=BLACK, white=WHITE, neutral=(0.5, 1.0, 0.8))
    shot = read_raw_mosaic(tmp_path / "a.dng")
    assert shot.pattern == pattern and shot.white == WHITE and list(shot.black) == [BLACK] * 4
    np.testing.assert_allclose(shot.multipliers, [2.0, 1.0, 1.25], rtol=1e-4)  # 1 / AsShotNeutral
    # the order: black level, white balance (clipped), then the sRGB curve the network expects
    c = bayer_colours(pattern, *raw.shape)
    expect = srgb_encode(np.clip((raw.astype(np.float64) - BLACK) / (WHITE - BLACK) * np.array([2.0, 1.0, 1.25])[c], 0, 1))
    np.testing.assert_allclose(shot.mosaic, expect, atol=2e-6)


@pytest.mark.parametrize("pattern", list(CFA_CODES))
def test_colour_pipeline_matches_libraw(tmp_path, menon_model, pattern):
    """On a flat colour (where any demosaicker is exact) the result is LibRaw's own
    processing (camera white balance, its colour matrix to sRGB, linear output)."""
    import rawpy

    flat_dng(tmp_path / "f.dng", pattern, matrix=MATRIX)
    out = demosaick_raw(tmp_path / "f.dng", LearnedDemosaicker(menon_model))
    assert out.bits == 16 and out.pixels.shape == (32, 48, 3)
    with rawpy.imread(str(tmp_path / "f.dng")) as r:
        ref = r.postprocess(output_bps=16, gamma=(1, 1), no_auto_bright=True, use_camera_wb=True,
                            output_color=rawpy.ColorSpace.sRGB, user_flip=0) / 65535
    np.testing.assert_allclose(srgb_decode(out.pixels)[8:-8, 8:-8], ref[8:-8, 8:-8], atol=2e-4)


def test_rgb_cam_follows_libraw_for_cameras_without_an_embedded_matrix():
    cam_xyz = np.array(MATRIX).reshape(3, 3)
    m = rgb_cam_from_xyz(cam_xyz)
    # white-balanced camera white (1, 1, 1) is sRGB white; the matrix inverts camera-from-sRGB
    np.testing.assert_allclose(m @ np.ones(3), np.ones(3), atol=1e-9)
    from chromaprior.apps.raw import XYZ_RGB

    cam_rgb = cam_xyz @ XYZ_RGB
    cam_rgb /= cam_rgb.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(m @ cam_rgb, np.eye(3), atol=1e-9)


def test_orientation_from_the_file(tmp_path, menon_model):
    flat_dng(tmp_path / "r.dng", size=(32, 48), orientation=6)  # rotated 90 degrees clockwise
    assert demosaick_raw(tmp_path / "r.dng", LearnedDemosaicker(menon_model)).pixels.shape == (48, 32, 3)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_cli_writes_16_bit_srgb(tmp_path, menon_model, suffix):
    import tifffile

    flat_dng(tmp_path / "photo.dng", "GBRG", matrix=MATRIX)
    out = tmp_path / f"photo{suffix}"
    r = run("demosaick", tmp_path / "photo.dng", "-o", out, "--model", menon_model, "-q")
    assert r.returncode == 0, r.stderr
    a = tifffile.imread(out) if suffix == ".tif" else np.asarray(Image.open(out))
    if suffix == ".png":  # PIL reads 16-bit RGB PNGs as 8-bit: check the depth from the header
        assert open(out, "rb").read()[24] == 16
    else:
        assert a.dtype == np.uint16 and a.shape == (32, 48, 3)
        assert np.ptp(a[8:-8, 8:-8].reshape(-1, 3), axis=0).max() <= 1  # flat colour stays flat


def test_a_folder_of_raws_and_mosaics_is_demosaicked(cli, tmp_path, menon_model):
    src = tmp_path / "card"
    (src / "day2").mkdir(parents=True)
    flat_dng(src / "a.dng", "RGGB")
    flat_dng(src / "day2" / "b.DNG", "BGGR")
    Image.fromarray(np.full((16, 16), 128, np.uint8)).save(src / "c.png")
    (src / "notes.txt").write_text("not an image")
    r = cli("demosaick", src, "-o", tmp_path / "out", "--model", menon_model, "-q")
    assert r.exit_code == 0, r.output
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == ["a.png", "c.png", "day2/b.png"]
    assert open(tmp_path / "out" / "a.png", "rb").read()[24] == 16  # raws give 16-bit PNGs


def test_tiff16_round_trip(tmp_path):
    import tifffile

    a = np.random.default_rng(0).random((7, 9, 3)).astype(np.float32)
    write_tiff16(tmp_path / "x.tif", a)
    back = tifffile.imread(tmp_path / "x.tif")
    assert back.dtype == np.uint16 and back.shape == (7, 9, 3)
    np.testing.assert_array_equal(back, np.round(a * 65535).astype(np.uint16))


def test_one_line_errors_for_unsupported_raws(tmp_path, menon_model):
    write_dng(tmp_path / "xtrans.dng", np.full((36, 48), 1000), cfa=XTRANS, repeat=(6, 6))
    r = run("demosaick", tmp_path / "xtrans.dng", "-o", tmp_path / "o.png", "--model", menon_model)
    assert "6x6 colour filter" in one_line_error(r) and "xtrans.dng" in r.stderr
    (tmp_path / "junk.nef").write_bytes(b"not a raw file")
    r = run("demosaick", tmp_path / "junk.nef", "-o", tmp_path / "o.png", "--model", menon_model)
    assert "not a raw file LibRaw can read" in one_line_error(r)
    assert not (tmp_path / "o.png").exists()


def test_missing_rawpy_is_a_one_line_install_hint(tmp_path, monkeypatch):
    from chromaprior.core.errors import MissingExtra

    monkeypatch.setitem(sys.modules, "rawpy", None)
    flat_dng(tmp_path / "p.dng")
    with pytest.raises(MissingExtra, match=r"chromaprior\[raw\]"):
        read_raw_mosaic(tmp_path / "p.dng")


def test_learned_raw_output_keeps_the_measured_mosaic(tmp_path, tmp_path_factory):
    """With any (random) network the demosaicked camera-RGB keeps the white-balanced,
    encoded samples exactly: the raw path goes through the same sample-keeping projection."""
    model = tiny_learned(tmp_path_factory.mktemp("raw_random"))
    rng = np.random.default_rng(2)
    write_dng(tmp_path / "n.dng", rng.integers(BLACK, WHITE, (24, 32)), cfa=CFA_CODES["BGGR"])
    shot = read_raw_mosaic(tmp_path / "n.dng")
    out = LearnedDemosaicker(model).demosaick(torch.from_numpy(shot.mosaic), shot.pattern)
    from chromaprior.methods.hgm import mosaic

    assert torch.equal(mosaic(out, "BGGR")[0, 0], torch.from_numpy(shot.mosaic))


def test_a_cut_short_dng_is_one_line_without_a_bytes_repr(tmp_path, menon_model):
    flat_dng(tmp_path / "full.dng")
    data = (tmp_path / "full.dng").read_bytes()
    (tmp_path / "trunc.dng").write_bytes(data[: len(data) // 2])
    r = run("demosaick", tmp_path / "trunc.dng", "-o", tmp_path / "o.png", "--model", menon_model)
    line = one_line_error(r)
    assert line.endswith("trunc.dng: cannot unpack this raw file (Input/output error)"), line
    assert not (tmp_path / "o.png").exists()


def test_a_white_level_of_zero_uses_the_data_maximum(tmp_path):
    """LibRaw reads a WhiteLevel of 0 as 65535 (a near-black picture): the data's maximum is
    used, with a warning."""
    raw = np.random.default_rng(0).integers(300, 4000, (32, 48)).astype(np.uint16)
    write_dng(tmp_path / "zero.dng", raw, black=BLACK, white=0)
    write_dng(tmp_path / "max.dng", raw, black=BLACK, white=int(raw.max()))
    with pytest.warns(UserWarning, match=f"zero.dng: the file's white level is 0; the data's maximum {raw.max()} used"):
        shot = read_raw_mosaic(tmp_path / "zero.dng")
    assert shot.white == raw.max()
    np.testing.assert_array_equal(shot.mosaic, read_raw_mosaic(tmp_path / "max.dng").mosaic)


def test_white_levels_are_found_in_sub_ifds(tmp_path):
    """The raw data of a camera's DNG is usually in a SubIFD (IFD0 holds a preview)."""
    import tifffile

    from chromaprior.apps.raw import WHITE_LEVEL, _tiff_values

    with tifffile.TiffWriter(tmp_path / "sub.dng") as t:
        t.write(np.zeros((8, 8, 3), np.uint8), subifds=1, photometric="rgb")
        t.write(np.zeros((16, 16), np.uint16), photometric="minisblack", extratags=[(WHITE_LEVEL, "H", 1, 0, False)])
    assert _tiff_values(tmp_path / "sub.dng", WHITE_LEVEL) == [0]
    assert _tiff_values(tmp_path / "sub.dng", 12345) == []
