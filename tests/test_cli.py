"""The command line: in-process through click's CliRunner (the ``cli`` fixture), and a few
runs in a subprocess as a user runs it (exit codes, stderr, a closed pipe)."""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import export_tiny_features, one_line_error, synthetic_rgb


def run(*args):
    """``python -m chromaprior ARGS...`` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "chromaprior", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def test_colorize_file_keeps_size_and_gray(cli, tiny_model, gray_png, tmp_path):
    out = tmp_path / "out.png"
    r = cli("colorize", gray_png, "-o", out, "--model", tiny_model, "--preset", "preview", "-q")
    assert r.exit_code == 0, r.output
    a = np.asarray(Image.open(out)).astype(float)
    g = np.asarray(Image.open(gray_png)).astype(float)
    assert a.shape == g.shape + (3,)
    assert np.abs(a.mean(axis=2) - g).max() <= 1.0  # A x = y up to 8-bit rounding


def test_sixteen_bit_scan_gives_a_sixteen_bit_png_with_its_gray(cli, tiny_model, tmp_path):
    cv2 = pytest.importorskip("cv2")
    g16 = (synthetic_rgb(24, 32).mean(axis=2) * 257).astype(np.uint16)
    Image.fromarray(g16).save(tmp_path / "scan.png")
    r = cli("colorize", tmp_path / "scan.png", "-o", tmp_path / "o.png", "--model", tiny_model, "--preset", "preview",
            "-q")
    assert r.exit_code == 0, r.output
    out = cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (24, 32, 3)
    assert np.abs(out.astype(float).mean(axis=2) - g16).max() <= 1.0  # A x = y to 16-bit rounding


def test_colorize_folder_mirrors_names_and_reports_bad_files(cli, tiny_model, tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(synthetic_rgb(24, 32).mean(axis=2).astype(np.uint8)).save(src / "a.png")
    Image.fromarray(synthetic_rgb(20, 20, seed=1).mean(axis=2).astype(np.uint8)).save(src / "sub" / "b.jpg")
    (src / "broken.png").write_bytes(b"\x89PNG garbage")
    r = cli("colorize", src, "-o", tmp_path / "out", "--model", tiny_model, "--preset", "preview", "-q")
    one_line_error(r, lines=2)
    assert "broken.png" in r.stderr
    assert (tmp_path / "out" / "a.png").exists() and (tmp_path / "out" / "sub" / "b.jpg").exists()
    assert not (tmp_path / "out" / "broken.png").exists()


def test_skip_existing_resumes_a_batch(cli, tiny_model, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.fromarray(synthetic_rgb(16, 16, seed=i).mean(axis=2).astype(np.uint8)).save(src / f"{i}.png")
    out = tmp_path / "out"
    args = ["colorize", src, "-o", out, "--model", tiny_model, "--preset", "preview", "-q", "--skip-existing"]
    assert cli(*args).exit_code == 0
    (out / "1.png").unlink()
    (out / "0.png").write_bytes(b"kept as it is")
    r = cli(*args)
    assert r.exit_code == 0 and "skipping 2 input(s)" in r.stderr
    assert (out / "0.png").read_bytes() == b"kept as it is"
    assert Image.open(out / "1.png").size == (16, 16)
    assert cli(*args[:3], src / "colour", *args[4:]).exit_code == 0  # OUT inside the input folder:
    r = cli(*args[:3], src / "colour", *args[4:])  # its outputs are not inputs the second time
    assert r.exit_code == 0 and "skipping 3 input(s)" in r.stderr, r.stderr


def test_color_input_is_refused_unless_recolor_and_alpha_is_kept(cli, tiny_model, tmp_path):
    rgba = np.dstack([synthetic_rgb(16, 24), np.full((16, 24), 99, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "c.png")
    args = ["colorize", tmp_path / "c.png", "-o", tmp_path / "o.png", "--model", tiny_model, "--preset", "preview",
            "-q"]
    r = cli(*args)
    one_line_error(r)
    assert "already in colour" in r.stderr and "--recolor" in r.stderr
    assert not (tmp_path / "o.png").exists()
    r = cli(*args, "--recolor")
    assert r.exit_code == 0, r.output
    out = np.asarray(Image.open(tmp_path / "o.png"))
    assert out.shape == (16, 24, 4) and (out[..., 3] == 99).all()


def test_sepia_scan_is_colorized_without_recolor_and_keeps_its_exif(cli, tiny_model, tmp_path):
    gray = synthetic_rgb(32, 48).mean(axis=2, keepdims=True) / 255
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "1931:05:02 12:00:00"  # DateTimeOriginal
    Image.fromarray(np.rint(gray * [255, 225, 180]).astype(np.uint8)).save(tmp_path / "sepia.jpg", quality=70,
                                                                           exif=exif)
    r = cli("colorize", tmp_path / "sepia.jpg", "-o", tmp_path / "o.png", "--model", tiny_model, "--preset",
            "preview", "-q")
    assert r.exit_code == 0, r.output
    with Image.open(tmp_path / "o.png") as out:
        assert np.asarray(out).shape == (32, 48, 3)
        assert out.getexif().get_ifd(0x8769)[0x9003] == "1931:05:02 12:00:00"


@pytest.mark.parametrize("case", ["missing", "text", "overwrite", "bad-suffix", "huge", "bad-model"])
def test_bad_inputs_fail_cleanly(cli, case, tiny_model, gray_png, tmp_path):
    args = ["colorize", gray_png, "-o", tmp_path / "o.png", "--model", tiny_model, "-q"]
    if case == "missing":
        args[1] = tmp_path / "nope.jpg"
    elif case == "text":
        (tmp_path / "t.jpg").write_text("hello")
        args[1] = tmp_path / "t.jpg"
    elif case == "overwrite":
        args[3] = gray_png
    elif case == "bad-suffix":
        args[3] = tmp_path / "o.xyz"
    elif case == "huge":
        args += ["--max-pixels", "100"]
    elif case == "bad-model":
        args[5] = tmp_path
    before = open(gray_png, "rb").read()
    r = cli(*args)
    one_line_error(r)
    assert open(gray_png, "rb").read() == before
    assert not (tmp_path / "o.png").exists()


def test_info_prints_the_card(cli, tiny_model):
    r = cli("info", "--model", tiny_model, "--json")
    assert r.exit_code == 0, r.output
    card = json.loads(r.stdout[r.stdout.index("{"):])
    assert card["method"] == "jgm" and card["format"] == "chromaprior-model/1"


def test_train_then_colorize(cli, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        Image.fromarray(synthetic_rgb(24, 24, seed=i)).save(data / f"{i}.png")
    r = cli("train", "--data", data, "--out", tmp_path / "run", "--size", 16, "--ngf", 4, "--levels", 3,
            "--iterations", 4, "--batch-size", 2, "--checkpoint-every", 2, "-q")
    assert r.exit_code == 0, r.output
    r = cli("train", "--data", data, "--out", tmp_path / "run", "--iterations", 6, "--resume", "-q")
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "run" / "model.json").read_text())["training"]["steps"] == 6
    r = cli("train", "--data", tmp_path / "none", "--out", tmp_path / "run2", "-q")
    one_line_error(r)


def test_evaluate_prints_baseline_row(cli, tiny_model, tmp_path):
    data = tmp_path / "eval"
    data.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_rgb(40, 48, seed=i)).save(data / f"{i}.png")
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    export_tiny_features(tmp_path / "feat.pt2")
    r = cli("evaluate", "--data", data, "--size", 32, "--model", model, "--preset", "preview",
            "--report", tmp_path / "r.json", "--record", "--fid-weights", tmp_path / "feat.pt2", "--variants",
            "--compare", f"again={tiny_model}")
    assert r.exit_code == 0, r.output
    assert "gray (baseline)" in r.stdout and "jgm (preview" in r.stdout and "FID" in r.stdout
    rows = json.loads((tmp_path / "r.json").read_text())["rows"]
    assert rows[0]["colorfulness"] == 0 and rows[1]["nfe"] == 4  # 4 levels of the tiny ladder, 1 ancestral step each
    assert all(row["fid"] >= 0 for row in rows)
    names = [row["method"] for row in rows]
    assert names[2].startswith("again (preview") and "no gradient DC" in names[3] and "blind" in names[4]
    assert rows[1]["psnr"] == rows[2]["psnr"]  # the same model and seed give the same numbers
    card = json.loads((model / "model.json").read_text())
    assert card["quality"]["colorize/eval/32px"]["rows"] == rows


def test_colorize_with_a_supervised_model_and_temperature(cli, tiny_unet_model, gray_png, tmp_path):
    outs = {}
    for kelvin in (6500, 3000):
        outs[kelvin] = tmp_path / f"out{kelvin}.png"
        r = cli("colorize", gray_png, "-o", outs[kelvin], "--method", "unet", "--model", tiny_unet_model,
                "--temperature", kelvin, "-q")
        assert r.exit_code == 0, r.output
    neutral = np.asarray(Image.open(outs[6500])).astype(float)
    warm = np.asarray(Image.open(outs[3000])).astype(float)
    g = np.asarray(Image.open(gray_png)).astype(float)
    assert np.abs(neutral.mean(axis=2) - g).max() <= 1.0  # the gray is kept at 6500 K
    shift = lambda a: (a[..., 0] - a[..., 2]).mean()  # noqa: E731
    assert shift(warm) > shift(neutral) + 10  # redder, less blue


def test_colorize_method_mismatch_is_one_line(cli, tiny_unet_model, gray_png, tmp_path):
    r = cli("colorize", gray_png, "-o", tmp_path / "o.png", "--method", "cgan", "--model", tiny_unet_model)
    one_line_error(r)
    assert "unet" in r.stderr and not (tmp_path / "o.png").exists()
    r = cli("colorize", gray_png, "-o", tmp_path / "o.png", "--temperature", 900)
    assert r.exit_code == 2 and "--temperature" in r.stderr and "Traceback" not in r.stderr


def test_colorize_reference_palette(cli, tiny_model, gray_png, tmp_path):
    ref = tmp_path / "ref.png"
    Image.fromarray(synthetic_rgb(30, 30, seed=5)).save(ref)
    r = cli("colorize", gray_png, "-o", tmp_path / "o.png", "--model", tiny_model, "--preset", "preview",
            "--reference", ref, "-q")
    assert r.exit_code == 0, r.output
    r = cli("colorize", gray_png, "-o", tmp_path / "o2.png", "--model", tiny_model, "--reference", gray_png)
    one_line_error(r)
    assert "colour photo" in r.stderr


def test_info_for_every_kind_of_model(cli, tiny_unet_model, tiny_restore_model):
    for args in (["--model", tiny_unet_model], ["--model", tiny_restore_model], ["--task", "restore"], []):
        r = cli("info", *args, "--json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout[r.stdout.index("{"):])["format"] == "chromaprior-model/1"


def test_evaluate_all_methods_in_one_table(cli, tmp_path):
    data = tmp_path / "eval"
    data.mkdir()
    Image.fromarray(synthetic_rgb(40, 40, seed=1)).save(data / "a.png")
    report = tmp_path / "r.json"
    r = cli("evaluate", "--data", data, "--size", "32", "--preset", "preview", "--all-methods", "--report", report)
    assert r.exit_code == 0, r.output
    names = [row["method"] for row in json.loads(report.read_text())["rows"]]
    assert names == ["gray (baseline)", "steerable (1 NFE)", "shipped jgm (preview, 10 NFE)",
                     "shipped jgm-guided (preview, 10 NFE)", "shipped unet (1 NFE)", "shipped cgan (1 NFE)",
                     "shipped semantic (1 NFE)"]


# ------------------------------------------------------------------------- reliability
def _gray(path, h=16, w=16, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(synthetic_rgb(h, w, seed=seed).mean(axis=2).astype(np.uint8)).save(path)
    return path


def test_two_inputs_with_one_output_name_are_refused_before_any_work(cli, tiny_model, tmp_path):
    """Two inputs dup1/x.png and dup2/x.png would both become out/x.png."""
    a, b = _gray(tmp_path / "dup1" / "x.png"), _gray(tmp_path / "dup2" / "x.png", seed=1)
    r = cli("colorize", a, b, "-o", tmp_path / "out", "--model", tiny_model, "--preset", "preview")
    one_line_error(r)
    assert "dup1" in r.stderr and "dup2" in r.stderr and "both be written" in r.stderr
    assert not (tmp_path / "out").exists()  # nothing was done


def test_outputs_are_checked_before_any_work(cli, tiny_model, gray_png, tmp_path):
    """An output that can never be written is refused before the sampling starts."""
    hints = tmp_path / "h.json"
    hints.write_text("[]")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out, extra in [(tmp_path / "x.gif", []), (hints, ["--hints", hints]), (blocker / "o.png", []),
                       (tmp_path / "ref.png", ["--reference", tmp_path / "ref.png"])]:
        if extra and extra[0] == "--reference":
            Image.fromarray(synthetic_rgb()).save(tmp_path / "ref.png")
        r = cli("colorize", gray_png, "-o", out, "--model", tiny_model, "--preset", "preview", *extra)
        one_line_error(r)
        assert "nfe" not in r.stderr, r.stderr  # no progress bar: refused before the work


def test_temporaries_of_killed_writes_are_never_inputs_and_reruns_remove_them(cli, tiny_model, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _gray(src / "a.png")
    out.mkdir()
    stale = out / ".a.png.k3j9x1.tmp.png"
    stale.write_bytes(b"\x89PNG half a file")
    (src / ".b.png.zz81.tmp.png").write_bytes(b"\x89PNG half")  # in an input folder: not an input
    r = cli("colorize", src, "-o", out, "--model", tiny_model, "--preset", "preview", "-q", "--skip-existing")
    assert r.exit_code == 0, r.output
    assert (out / "a.png").exists() and not stale.exists()  # the rerun removed the stale temporary
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]  # and the input folder's temporary was no input
    r = cli("colorize", src / ".b.png.zz81.tmp.png", "-o", tmp_path / "b.png", "--model", tiny_model)
    one_line_error(r)
    assert "temporary" in r.stderr


def test_numbers_are_checked_and_errors_never_land_in_the_progress_bar(cli, tiny_model, gray_png, tmp_path):
    """Seeds are 0..2^63-1 at the command line; a batch's error line starts a line."""
    for seed in ("1180591620717411303424", "-1"):
        r = cli("colorize", gray_png, "-o", tmp_path / "o.png", "--model", tiny_model, "--seed", seed)
        assert r.exit_code == 2 and "--seed" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o.png").exists()
    src = tmp_path / "in"
    _gray(src / "a.png")
    (src / "b.png").write_bytes(b"\x89PNG garbage")
    _gray(src / "c.png", seed=2)
    r = cli("colorize", src, "-o", tmp_path / "out", "--model", tiny_model, "--preset", "preview")  # with a bar
    one_line_error(r, lines=2)
    for piece in re.split(r"[\r\n]", r.stderr):
        if "chromaprior:" in piece:
            assert piece.startswith("chromaprior: "), repr(piece)


def test_a_fifo_input_is_refused_at_once(cli, tiny_model, tmp_path):
    """Reading a named pipe would block forever."""
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    r = cli("colorize", fifo, "-o", tmp_path / "o.png", "--model", tiny_model)
    one_line_error(r)
    assert "not a regular file" in r.stderr


def test_default_threads_leave_busy_cores_alone(monkeypatch):
    """Beside CPU-bound processes on every core, one thread; on idle cores, one per core
    (the load is what /proc/loadavg says, replaced here; measurements: README)."""
    from chromaprior.apps import cli

    cores = len(os.sched_getaffinity(0))
    assert 1 <= cli.default_threads() <= cores
    assert 0 <= cli._others_running()
    monkeypatch.setattr(cli, "_others_running", lambda: cores)
    assert cli.default_threads() == 1
    monkeypatch.setattr(cli, "_others_running", lambda: 0)
    assert cli.default_threads() == min(cores, torch.get_num_threads())


def test_small_cli_items(cli, tiny_model, gray_png, tmp_path):
    """Exact pixel counts under 1 MP, a readable info card."""
    r = cli("colorize", gray_png, "-o", tmp_path / "o.png", "--model", tiny_model, "--max-pixels", "100")
    one_line_error(r)
    assert "2,240 pixels, above the limit of 100 pixels" in r.stderr
    r = cli("info", "--model", tiny_model)
    assert r.exit_code == 0 and "method:" in r.stdout and "{" not in r.stdout and len(r.stdout.splitlines()) < 10


# ------------------------------------------------------------- end to end, as a user runs it
def test_a_user_error_ends_the_process_with_one_line_and_exit_code_1(tiny_model, gray_png, tmp_path):
    """The real process: exit status 1 for a failed input, 2 for a bad option, one line on stderr."""
    r = run("colorize", tmp_path / "nope.jpg", "-o", tmp_path / "o.png", "--model", tiny_model, "-q")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [f"chromaprior: error: {tmp_path / 'nope.jpg'}: no such file"]
    r = run("colorize", gray_png, "-o", tmp_path / "o.png", "--seed", "-1")
    assert r.returncode == 2 and "--seed" in r.stderr and "Traceback" not in r.stderr


def test_info_into_a_closed_pipe_is_quiet():
    """`chromaprior info --json | head` (the reader goes away) exits 0 without a word."""
    p = subprocess.Popen([sys.executable, "-m", "chromaprior", "info", "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.close()  # the reader goes away before anything is written (`| head`)
    err = p.stderr.read().decode()
    assert p.wait(60) == 0 and err == "", err
