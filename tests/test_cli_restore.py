"""mosaic / demosaick / inpaint / evaluate --task demosaick|inpaint from the command line (in-process)."""

import json

import numpy as np
import pytest
from PIL import Image

from helpers import one_line_error, synthetic_rgb


@pytest.fixture
def rgb_png(tmp_path):
    path = tmp_path / "rgb.png"
    Image.fromarray(synthetic_rgb(30, 44, seed=2)).save(path)
    return path


@pytest.mark.parametrize("suffix,bits", [(".png", "8"), (".png", "16"), (".npy", None)])
def test_mosaic_then_demosaick_round_trip(cli, tiny_restore_model, rgb_png, tmp_path, suffix, bits):
    raw = tmp_path / f"raw{suffix}"
    r = cli("mosaic", rgb_png, "-o", raw, "--pattern", "GRBG", *(["--bits", bits] if bits else []))
    assert r.exit_code == 0, r.output
    src = np.asarray(Image.open(rgb_png)).astype(float) / 255
    if suffix == ".npy":
        m = np.load(raw)
        assert m.dtype == np.float32
    else:
        im = Image.open(raw)
        m = np.asarray(im).astype(float) / (65535 if bits == "16" else 255)
        assert (im.mode.startswith("I") if bits == "16" else im.mode == "L")
    assert m.shape == (30, 44)
    assert np.allclose(m[0::2, 0::2], src[0::2, 0::2, 1], atol=1 / 255)  # G at (0, 0) for GRBG
    assert np.allclose(m[0::2, 1::2], src[0::2, 1::2, 0], atol=1 / 255)  # then R
    assert np.allclose(m[1::2, 0::2], src[1::2, 0::2, 2], atol=1 / 255)  # B on the next row
    out = tmp_path / "out.png"
    r = cli("demosaick", raw, "-o", out, "--pattern", "GRBG", "--model", tiny_restore_model, "--preset", "preview", "-q")
    assert r.exit_code == 0, r.output
    if bits == "8":
        o, step = np.asarray(Image.open(out)).astype(float) / 255, 1 / 255
    else:  # a 16-bit or float mosaic gives a 16-bit PNG (read with OpenCV: PIL reads it as 8-bit)
        cv2 = pytest.importorskip("cv2")
        o16 = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
        assert o16.dtype == np.uint16
        o, step = o16[..., ::-1].astype(float) / 65535, 1 / 65535
    assert o.shape == (30, 44, 3)
    assert np.abs(o[0::2, 0::2, 1] - m[0::2, 0::2]).max() <= step / 2 + 1e-6  # measured samples kept


def test_demosaick_refuses_colour_input_and_bad_arrays(cli, tiny_restore_model, rgb_png, tmp_path):
    r = cli("demosaick", rgb_png, "-o", tmp_path / "o.png", "--model", tiny_restore_model)
    one_line_error(r)
    assert "single-channel" in r.stderr
    bad = tmp_path / "bad.npy"
    np.save(bad, np.full((20, 20), 3.0))
    r = cli("demosaick", bad, "-o", tmp_path / "o2.png", "--model", tiny_restore_model)
    one_line_error(r)
    assert "[0, 1]" in r.stderr
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "o2.png").exists()


def test_inpaint_fills_white_pixels_only(cli, tiny_restore_model, rgb_png, tmp_path):
    mask = np.zeros((30, 44), np.uint8)
    mask[10:20, 5:30] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "filled.png"
    r = cli("inpaint", rgb_png, "--mask", tmp_path / "mask.png", "-o", out, "--model", tiny_restore_model,
            "--preset", "preview", "-q")
    assert r.exit_code == 0, r.output
    a = np.asarray(Image.open(out)).astype(int)
    b = np.asarray(Image.open(rgb_png)).astype(int)
    keep = mask == 0
    assert np.abs(a[keep] - b[keep]).max() <= 1
    assert np.abs(a[~keep] - b[~keep]).mean() > 0  # the hole was synthesised, not copied


def test_inpaint_errors(cli, tiny_restore_model, rgb_png, tmp_path):
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "small.png")
    r = cli("inpaint", rgb_png, "--mask", tmp_path / "small.png", "-o", tmp_path / "o.png", "--model", tiny_restore_model)
    one_line_error(r)
    assert "same size" in r.stderr
    Image.fromarray(np.full((30, 44), 255, np.uint8)).save(tmp_path / "all.png")
    r = cli("inpaint", rgb_png, "--mask", tmp_path / "all.png", "-o", tmp_path / "o.png", "--model", tiny_restore_model)
    one_line_error(r)
    r = cli("inpaint", rgb_png, "--mask", tmp_path / "all.png", "-o", rgb_png, "--model", tiny_restore_model)
    one_line_error(r)
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("task,extra,baselines", [
    ("demosaick", ["--border", "2"], ["bilinear", "Malvar2004", "Menon2007"]),
    ("inpaint", ["--missing", "0.5"], ["biharmonic", "Telea"]),
])
def test_evaluate_restoration_prints_baselines(cli, tiny_restore_model, tmp_path, task, extra, baselines):
    data = tmp_path / "eval"
    data.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_rgb(32, 48, seed=i)).save(data / f"{i}.png")
    report = tmp_path / "r.json"
    r = cli("evaluate", "--task", task, "--data", data, "--model", tiny_restore_model, "--preset", "preview",
            "--report", report, *extra)
    assert r.exit_code == 0, r.output
    result = json.loads(report.read_text())
    names = [row["method"] for row in result["rows"]]
    assert names[: len(baselines)] == baselines and len(names) == len(baselines) + 1
    assert result["images"] == 2 and result["size"] == "full"
    rows = {row["method"]: row for row in result["rows"]}
    if task == "demosaick":  # a smooth synthetic image: the classical methods are accurate
        assert all(rows[name]["psnr"] > 35 for name in baselines)
    for name in baselines:
        assert name in r.stdout


def test_a_batch_goes_on_past_any_failing_file_and_tiny_mosaics_work(cli, tiny_restore_model, tmp_path):
    """A 1x1 mosaic works (README: any size), a file refused by a library
    check is one line naming it, the others are written, exit 1 at the end."""
    Image.fromarray(np.full((1, 1), 128, np.uint8)).save(tmp_path / "tiny1x1.png")
    Image.fromarray(synthetic_rgb(20, 24)[..., 1]).save(tmp_path / "good.png")
    np.save(tmp_path / "empty.npy", np.zeros((0, 4), np.uint8))  # passes the reader, fails in torch
    out = tmp_path / "out"
    r = cli("demosaick", tmp_path / "tiny1x1.png", tmp_path / "empty.npy", tmp_path / "good.png", "-o", out,
            "--model", tiny_restore_model, "--preset", "preview", "-q")
    one_line_error(r, lines=2)
    assert "empty.npy" in r.stderr and "1 of 3 mosaics failed" in r.stderr
    assert Image.open(out / "tiny1x1.png").size == (1, 1) and Image.open(out / "good.png").size == (24, 20)


def test_inpaint_outputs_are_checked_before_sampling(cli, tiny_restore_model, rgb_png, tmp_path):
    """-o MASK and -o x.gif are refused before any work."""
    mask = tmp_path / "mask.png"
    Image.fromarray(np.zeros((30, 44), np.uint8)).save(mask)
    for out in (mask, tmp_path / "x.gif"):
        r = cli("inpaint", rgb_png, "--mask", mask, "-o", out, "--model", tiny_restore_model)
        one_line_error(r)
        assert "nfe" not in r.stderr and ("overwrite" in r.stderr or "unsupported" in r.stderr)


def test_demosaick_a_folder_of_npy_mosaics(cli, tiny_restore_model, tmp_path):
    """A folder of .npy mosaics is a folder of inputs (one format table); the
    outputs mirror their names, as float arrays."""
    src = tmp_path / "raw"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        np.save(src / f"m{i}.npy", rng.random((8, 12)).astype(np.float32))
    r = cli("demosaick", src, "-o", tmp_path / "out", "--model", tiny_restore_model, "--preset", "preview", "-q")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["m0.npy", "m1.npy"]
    out = np.load(tmp_path / "out" / "m0.npy")
    assert out.shape == (8, 12, 3) and out.dtype == np.float32
