"""The colorization benchmark: gray ground truths left out, colour accuracy and
colourfulness gap in every row, several image sets scored alone and pooled, FID."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from chromaprior.methods.colorize import Colorizer
from chromaprior.evaluation.loops import evaluate_colorize, format_table, write_report
from chromaprior.evaluation.metrics import HUE_SECTORS
from helpers import synthetic_rgb


def _folder(path, seeds, gray=()):
    path.mkdir()
    for s in seeds:
        Image.fromarray(synthetic_rgb(40, 48, seed=s)).save(path / f"c{s}.png")
    for s in gray:
        Image.fromarray(synthetic_rgb(40, 48, seed=s).mean(axis=2).astype(np.uint8)).save(path / f"g{s}.png")
    return sorted(path.iterdir())


def cheap_features(x: torch.Tensor) -> torch.Tensor:
    """A stand-in FID network: channel means and spreads."""
    return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1).double()


@pytest.fixture(scope="module")
def unet(tiny_unet_model):
    return Colorizer(tiny_unet_model)


def test_gray_ground_truths_are_left_out_and_counted(tmp_path, unet):
    paths = _folder(tmp_path / "set", [1, 2], gray=[3])
    result = evaluate_colorize(paths, {"unet": (unet, "fast")}, size=32, features=cheap_features)
    assert result["images"] == 2 and result["gray_ground_truths_left_out"] == 1
    assert result["gray_ground_truth_files"] == ["g3.png"] and result["fid_images"] == 2
    gray, net = result["rows"]
    assert gray["images"] == net["images"] == 2
    assert gray["psnr"] < 60  # a gray truth would have scored the 200 dB of an exact match
    assert gray["color_accuracy"] == 0.0 and set(gray["color_accuracy_sectors"]) == set(HUE_SECTORS)
    assert gray["colorfulness_gap"] == pytest.approx(result["ground_truth_colorfulness"])
    assert net["colorfulness_gap"] == pytest.approx(abs(net["colorfulness"] - result["ground_truth_colorfulness"]))
    assert 0 <= net["color_accuracy"] <= 1 and "fid" in gray and "fid" in net
    assert sum(result["ground_truth_sector_pixels"].values()) > 0
    table = format_table(result)
    assert "gray_ground_truths_left_out=1" in table and "g3.png" in table and "purple" in table
    json.dumps(result, allow_nan=False)  # left-out sectors are null, not NaN

    only_gray = evaluate_colorize([p for p in paths if p.name.startswith("g")], {}, size=32)
    assert only_gray["images"] == 0 and only_gray["rows"][0]["psnr"] is None
    format_table(only_gray)


def test_several_sets_are_scored_alone_and_pooled(tmp_path, unet):
    a, b = _folder(tmp_path / "a", [1, 2, 3]), _folder(tmp_path / "b", [4, 5], gray=[6])
    cols = {"unet": (unet, "fast")}
    both = evaluate_colorize({"a": a, "b": b}, cols, size=32, features=cheap_features)
    alone = [evaluate_colorize({"a": a}, cols, size=32, features=cheap_features),
             evaluate_colorize({"b": b}, cols, size=32, features=cheap_features)]

    def drop_time(r):
        return [{k: v for k, v in row.items() if k != "seconds_per_image"} for row in r["rows"]]

    for part, single in zip(both["sets"], alone):
        assert drop_time(part) == drop_time(single)  # as a run on that set alone
    assert both["data"] == "a + b" and both["images"] == 5 and both["gray_ground_truths_left_out"] == 1
    pooled = both["rows"][1]
    psnrs = [r["rows"][1]["psnr"] * r["images"] for r in alone]
    assert pooled["psnr"] == pytest.approx(sum(psnrs) / 5) and pooled["images"] == 5
    assert both["fid_images"] == 5 and pooled["fid"] >= 0
    table = format_table(both)
    assert table.count("task=colorize") == 3 and "pooled: task=colorize data=a + b" in table

    write_report(both, tmp_path / "r.csv")
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert "color_accuracy_orange" in lines[0].split(",") and len(lines) == 3


def test_cli_several_data_folders_without_fid(tmp_path, tiny_unet_model):
    from chromaprior.apps.cli import main

    _folder(tmp_path / "a", [1, 2])
    _folder(tmp_path / "b", [3], gray=[4])
    report = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["evaluate", "--data", str(tmp_path / "a"), "--data", str(tmp_path / "b"),
                                  "--model", tiny_unet_model, "--size", "32", "--no-fid", "--report", str(report)])
    assert r.exit_code == 0, r.output
    result = json.loads(report.read_text())
    assert [s["images"] for s in result["sets"]] == [2, 1] and result["images"] == 3
    assert result["gray_ground_truths_left_out"] == 1 and result["fid_network"] is None
    assert "FID" not in r.output and "pooled:" in r.output
    r = CliRunner().invoke(main, ["evaluate", "--task", "demosaick", "--data", str(tmp_path / "a"),
                                  "--data", str(tmp_path / "b")])
    assert r.exit_code != 0 and "several --data" in r.output


def test_rows_and_keys_are_built_by_the_library(tiny_model, tiny_unet_model, tiny_restore_model):
    """What `chromaprior evaluate` prints is built in chromaprior.evaluation.loops (labels, --compare, --variants)."""
    from chromaprior.core.errors import InputError
    from chromaprior.evaluation.loops import colorize_rows, quality_key, restore_rows
    from chromaprior.methods.sampling import Preset

    rows = colorize_rows(tiny_model, ("preview", "fast"), compare=[f"u={tiny_unet_model}"], variants=True)
    col = rows[list(rows)[0]][0]
    assert list(rows)[:2] == [f"jgm (preview, {col.nfe('preview')} NFE)", f"jgm (fast, {col.nfe('fast')} NFE)"]
    assert "u (1 NFE)" in rows
    assert any("no gradient DC" in k for k in rows) and any("blind, BT.601" in k for k in rows)
    with pytest.raises(InputError, match="LABEL=MODEL"):
        colorize_rows(tiny_model, compare=["nolabel"])
    with pytest.raises(InputError, match="--variants"):
        colorize_rows(tiny_unet_model, variants=True)
    grid = colorize_rows(tiny_model, (Preset("3:1e-4", steps=3, eps=1e-4),), variants=True)  # bench/tune_presets.py
    assert list(grid) == ["jgm (3:1e-4, 13 NFE)", "jgm no gradient DC (3:1e-4)", "jgm blind, BT.601 (3:1e-4)"]
    assert grid["jgm no gradient DC (3:1e-4)"][1] == Preset("3:1e-4", steps=3, eps=1e-4, gradient_dc=False)
    assert list(restore_rows(tiny_restore_model, ("preview",), first_stage="bilinear"))[1].startswith("hgm-pixel-scale from bilinear")
    assert quality_key("demosaick", ["a/kodak24"], None, border=2, limit=8) == "demosaick/kodak24/full/RGGB/border2/first8"
    assert quality_key("colorize", ["x/a", "y/b"], 128) == "colorize/a+b/128px"
