"""Where the commands write: a folder as OUT (a trailing slash or an existing folder) for every
command, refusals before any work, the "wrote ..." line, and what the help and info say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import one_line_error, synthetic_rgb


def _rgb_png(path: Path) -> str:
    Image.fromarray(synthetic_rgb(24, 32)).save(path)
    return str(path)


def test_a_trailing_slash_makes_the_output_a_folder_for_one_input(cli, tiny_model, gray_png, tmp_path):
    r = cli("colorize", gray_png, "-o", f"{tmp_path}/out/", "--model", tiny_model, "--preset", "preview", "-q")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "gray.png").is_file()


def test_mosaic_writes_into_an_existing_folder_and_says_so(cli, tmp_path):
    rgb = _rgb_png(tmp_path / "photo.jpg")
    (tmp_path / "m").mkdir()
    r = cli("mosaic", rgb, "-o", tmp_path / "m", "--pattern", "RGGB")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "m" / "photo.png").is_file()  # a mosaic is stored losslessly
    assert "wrote" in r.stderr and str(tmp_path / "m" / "photo.png") in r.stderr


def test_inpaint_and_demosaick_write_into_a_folder_and_say_so(cli, tmp_path):
    rgb = _rgb_png(tmp_path / "photo.png")
    mask = np.zeros((24, 32), np.uint8)
    mask[5:10, 5:12] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    r = cli("inpaint", rgb, "--mask", tmp_path / "mask.png", "-o", f"{tmp_path}/filled/")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "filled" / "photo.png").is_file() and "wrote image to" in r.stderr
    assert cli("mosaic", rgb, "-o", tmp_path / "raw.png").exit_code == 0
    r = cli("demosaick", tmp_path / "raw.png", "-o", f"{tmp_path}/back/")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "back" / "raw.png").is_file() and "wrote 1 image(s)" in r.stderr


def test_a_missing_input_folder_is_reported_as_a_missing_input(cli, tiny_model, tmp_path):
    r = cli("colorize", tmp_path / "scans", "-o", tmp_path / "colored", "--model", tiny_model)
    one_line_error(r)
    assert r.stderr.splitlines() == [f"chromaprior: error: {tmp_path / 'scans'}: no such file"]


def test_several_inputs_into_a_file_name_are_refused(cli, tiny_model, gray_png, tmp_path):
    other = tmp_path / "other.png"
    other.write_bytes(Path(gray_png).read_bytes())
    r = cli("colorize", gray_png, other, "-o", tmp_path / "one.png", "--model", tiny_model)
    one_line_error(r)
    assert "several inputs need an output folder" in r.stderr
    assert not (tmp_path / "one.png").exists()


def test_the_learned_demosaickers_bar_counts_tiles_from_the_start(cli, tmp_path):
    rgb = _rgb_png(tmp_path / "photo.png")
    assert cli("mosaic", rgb, "-o", tmp_path / "raw.png").exit_code == 0
    r = cli("demosaick", tmp_path / "raw.png", "-o", tmp_path / "back.png")
    assert r.exit_code == 0, r.output
    assert "nfe" not in r.stderr and "tile" in r.stderr


def test_help_names_the_defaults():
    from click.testing import CliRunner

    from chromaprior.apps.cli import main
    from chromaprior.models.registry import DEFAULT_METHOD

    top = CliRunner().invoke(main, ["--help"]).output
    assert "(JGM)" not in top and "learned models by default" in top
    colorize = CliRunner().invoke(main, ["colorize", "--help"]).output
    assert f"[default: {DEFAULT_METHOD}]" in " ".join(colorize.split()) and "see README" not in colorize


def test_info_lists_the_shipped_models_and_describes_each_commands_default(cli):
    from chromaprior.models.registry import METHODS

    r = cli("info", "--list")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert len(lines) == sum(1 for m in METHODS.values() if m.shipped)
    assert sum("(default)" in line for line in lines) == 3  # colorize, demosaick, inpaint
    for task, method in (("demosaick", "learned-demosaick"), ("inpaint", "learned-inpaint"),
                         ("restore", "hgm-pixel-scale")):
        r = cli("info", "--task", task)
        assert r.exit_code == 0 and f"method:     {method} (restore)" in r.stdout, r.output


class TestShards:
    """``--shard K/N``: a stable hash of each input's path in its folder picks its part."""

    def _folder(self, root, names):
        for name in names:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((8, 8), 90, np.uint8)).save(root / name)

    def test_parts_are_disjoint_cover_the_input_and_are_stable(self, tmp_path):
        from chromaprior.core.io import in_shard

        names = [f"sub{i % 3}/p{i}.png" for i in range(40)]
        parts = [[n for n in names if in_shard(n, (k, 4))] for k in range(1, 5)]
        assert sorted(sum(parts, [])) == sorted(names) and all(parts)
        more = names + [f"new{i}.png" for i in range(10)]  # the archive grows: old files stay in their part
        assert [[n for n in more if in_shard(n, (k, 4)) and n in names] for k in range(1, 5)] == parts

    def test_the_command_writes_only_its_part(self, cli, tmp_path, tiny_unet_model):
        from chromaprior.core.io import in_shard

        names = [f"a{i}.png" for i in range(6)] + ["sub/b.png"]
        self._folder(tmp_path / "in", names)
        for k in (1, 2):
            r = cli("colorize", tmp_path / "in", "-o", tmp_path / "out", "--model", tiny_unet_model,
                    "--shard", f"{k}/2", "-q")
            assert r.exit_code == 0, r.output
        written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.png"))
        assert written == sorted(names)
        r = cli("colorize", tmp_path / "in", "-o", tmp_path / "one", "--model", tiny_unet_model, "--shard", "1/2", "-q")
        got = sorted(str(p.relative_to(tmp_path / "one")) for p in (tmp_path / "one").rglob("*.png"))
        assert got == sorted(n for n in names if in_shard(n, (1, 2)))

    def test_collisions_are_seen_over_the_whole_list(self, cli, tmp_path, tiny_unet_model):
        self._folder(tmp_path / "in1", ["x.png"])
        self._folder(tmp_path / "in2", ["x.png"])  # both would be written to out/x.png, in whichever part
        for k in (1, 2):
            r = cli("colorize", tmp_path / "in1", tmp_path / "in2", "-o", tmp_path / "out", "--model", tiny_unet_model,
                    "--shard", f"{k}/2")
            one_line_error(r)
            assert "would both be written" in r.output

    @pytest.mark.parametrize("spec", ["0/3", "4/3", "3", "a/b", "1/0"])
    def test_bad_specs_are_one_line_errors(self, cli, tmp_path, spec, tiny_unet_model):
        self._folder(tmp_path / "in", ["x.png"])
        r = cli("colorize", tmp_path / "in", "-o", tmp_path / "out", "--model", tiny_unet_model, "--shard", spec)
        one_line_error(r)
        assert "--shard takes K/N" in r.output
