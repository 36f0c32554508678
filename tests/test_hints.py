import json

import numpy as np
import pytest
import torch
from PIL import Image

from chromaprior.methods.colorize import Colorizer
from chromaprior.core.hints import Hint, parse_hints, propagate, rasterize
from chromaprior.core.io import InputError
from helpers import one_line_error


@pytest.mark.parametrize("data,match", [
    ({"x": 1}, "JSON list"),
    ([{"x": 1, "y": 2}], "'rgb'"),
    ([{"x": 1, "y": 2, "rgb": [300, 0, 0]}], "0..255"),
    ([{"x": 100, "y": 2, "rgb": [3, 0, 0]}], "outside"),
    ([{"x": 1, "y": 2, "rgb": [3, 0, 0], "size": 3}], "unknown"),
    ([[]], "empty stroke"),
])
def test_bad_hints_are_one_line_errors(data, match):
    with pytest.raises(InputError, match=match):
        parse_hints(data, width=50, height=40)


def test_strokes_are_densified():
    hints = parse_hints([[{"x": 0, "y": 0, "rgb": [255, 0, 0], "radius": 2}, {"x": 20, "y": 0, "rgb": [0, 0, 255], "radius": 2}]], 50, 40)
    xs = [h.x for h in hints]
    assert xs[0] == 0 and xs[-1] == 20 and max(np.diff(xs)) <= 2
    assert hints[len(hints) // 2].rgb[0] == pytest.approx(127.5, abs=15)  # colours interpolated too


def test_rasterize_scales_coordinates():
    keep, colors = rasterize([Hint(40, 20, (255, 0, 0), radius=4)], 20, 40, (0.5, 0.5))
    assert keep[0, 0, 10, 20] == 1 and keep[0, 0, 0, 0] == 0
    assert keep.sum() == pytest.approx(np.pi * 4, rel=0.5)  # radius 4 -> 2 at half scale
    assert torch.equal(colors[0, :, 10, 20], torch.tensor([1.0, 0.0, 0.0]))


def test_score_prior_honours_hints_exactly_and_keeps_gray(tiny_model):
    col = Colorizer(tiny_model)
    y = torch.full((1, 1, 64, 64), 0.5)
    hint = Hint(32, 32, (200, 100, 100), radius=12)
    out = col(y, preset="preview", hints=[hint])
    assert torch.allclose(col.luminance(out), y, atol=1e-5)
    target = torch.tensor([200, 100, 100]) / 255
    want = 0.5 + target - target.mean()
    assert torch.allclose(out[0, :, 30:34, 30:34].mean(dim=(1, 2)), want, atol=0.02)
    plain = col(y, preset="preview")
    assert (out[0, :, 30:34, 30:34].mean(dim=(1, 2)) - want).abs().max() < (plain[0, :, 30:34, 30:34].mean(dim=(1, 2)) - want).abs().max()


def test_propagate_fades_with_distance():
    chroma = torch.zeros(1, 3, 32, 32)
    keep = torch.zeros(1, 1, 32, 32)
    keep[..., 14:18, 14:18] = 1
    hinted = torch.tensor([0.2, -0.1, -0.1]).view(1, 3, 1, 1) * keep
    out = propagate(chroma, keep, hinted, spread=4)
    assert torch.allclose(out[0, :, 15, 15], torch.tensor([0.2, -0.1, -0.1]))
    assert 0 < out[0, 0, 15, 21] < 0.2 and out[0, 0, 15, 21] > out[0, 0, 15, 29] >= 0


def test_cli_hints(cli, tiny_model, gray_png, tmp_path):
    hints = tmp_path / "h.json"
    hints.write_text(json.dumps([{"x": 20, "y": 15, "rgb": [220, 90, 90], "radius": 8}]))
    out = tmp_path / "o.png"
    r = cli("colorize", gray_png, "-o", out, "--model", tiny_model, "--preset", "preview", "--hints", hints, "-q")
    assert r.exit_code == 0, r.output
    a = np.asarray(Image.open(out)).astype(float)
    assert a[15, 20, 0] > a[15, 20, 1] + 20  # red where hinted
    hints.write_text("[{")
    r = cli("colorize", gray_png, "-o", tmp_path / "o2.png", "--model", tiny_model, "--hints", hints)
    one_line_error(r)
    assert "JSON" in r.stderr and not (tmp_path / "o2.png").exists()


# ------------------------------------------------------------------------- reliability
@pytest.mark.parametrize("value", ["10", True, None, float("nan")])
def test_hint_numbers_must_be_json_numbers(value):
    """"x": "10" and "x": true are errors, not coordinates."""
    with pytest.raises(InputError, match="x must be a number"):
        parse_hints([{"x": value, "y": 2, "rgb": [1, 2, 3]}], width=50, height=40)
    with pytest.raises(InputError, match="rgb"):
        parse_hints([{"x": 1, "y": 2, "rgb": [1, value, 3]}], width=50, height=40)


def test_hint_counts_sizes_and_nesting_are_capped(tmp_path):
    """A million points, a stroke that joins into too many, deep nesting: clear errors, at once."""
    import time

    from chromaprior.core.hints import MAX_HINT_POINTS, load_hints, loads_hints

    big = tmp_path / "big.json"
    big.write_text(json.dumps([{"x": 1, "y": 1, "rgb": [1, 2, 3]}] * 1_000_000))
    start = time.monotonic()
    with pytest.raises(InputError, match="hint points"):
        parse_hints([{"x": 1, "y": 1, "rgb": [1, 2, 3]}] * (MAX_HINT_POINTS + 1), 50, 40)
    stroke = [{"x": 0, "y": 0, "rgb": [1, 2, 3], "radius": 0.5}, {"x": 4999, "y": 0, "rgb": [1, 2, 3]}]
    with pytest.raises(InputError, match="join into more than"):
        parse_hints([stroke] * 10, 5000, 40)
    with pytest.raises(InputError, match="nested too deeply"):
        loads_hints("[" * 50_000 + "]" * 50_000)
    with pytest.raises(InputError, match="nested too deeply"):
        loads_hints(json.dumps([[[[[{"x": 1}]]]]]))
    with pytest.raises(InputError, match="bytes"):
        load_hints(big, 50, 40)
    assert time.monotonic() - start < 5  # was 100 s for a million points


def test_rasterize_in_windows_matches_the_whole_grid():
    """The bounding-box rasterisation marks exactly the pixels of a whole-grid disc test."""
    hints = [Hint(3.2, 4.7, (255, 0, 0), 2.5), Hint(0, 0, (0, 255, 0), 0.1), Hint(49, 39, (0, 0, 255), 30)]
    keep, colors = rasterize(hints, 20, 25, (0.5, 0.5))
    rows, cols = torch.arange(20.0)[:, None], torch.arange(25.0)[None, :]
    want_keep, want_colors = torch.zeros(1, 1, 20, 25), torch.zeros(1, 3, 20, 25)
    for h in hints:
        r = max(0.5, h.radius * 0.5)
        cy, cx = (h.y + 0.5) * 0.5 - 0.5, (h.x + 0.5) * 0.5 - 0.5
        disc = (rows - cy) ** 2 + (cols - cx) ** 2 <= r * r
        if not disc.any():
            disc[min(19, max(0, round(cy))), min(24, max(0, round(cx)))] = True
        want_keep[0, 0][disc] = 1
        want_colors[0][:, disc] = (torch.tensor(h.rgb) / 255)[:, None]
    assert torch.equal(keep, want_keep) and torch.equal(colors, want_colors)
