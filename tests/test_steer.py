"""The steerable colorizer: hints as network input, edge-aware finishing, colour suggestions."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from chromaprior.models.registry import load_model
from chromaprior.core.color import rgb_to_lab
from chromaprior.methods.colorize import Colorizer
from chromaprior.core.filters import guided_coefficients
from chromaprior.training.hints import FeatureCache, HintTrainConfig, training_hints, train_steerable
from chromaprior.core.hints import Hint, hint_files, rasterize, simulated_user
from chromaprior.core.io import InputError
from chromaprior.nets.steerable import hint_planes, pool_hints
from chromaprior.core.tiles import finish
from helpers import one_line_error, synthetic_rgb


def _gray(h=48, w=64, seed=0) -> torch.Tensor:
    return torch.from_numpy(synthetic_rgb(h, w, seed).mean(axis=2).astype(np.float32) / 255)


class TestSteerableNet:
    def test_without_hints_it_is_the_semantic_colorizer_exactly(self, tiny_steerable, tiny_semantic_model):
        net, _ = load_model(tiny_steerable)
        semantic, _ = load_model(tiny_semantic_model)
        gray = torch.rand(2, 1, 64, 96)
        with torch.no_grad():
            assert torch.equal(net(gray), semantic(gray))
            assert torch.equal(net(gray, torch.zeros(2, 3, 64, 96)), semantic(gray))

    def test_hints_change_the_logits_and_shapes(self, tiny_steerable):
        net, _ = load_model(tiny_steerable)
        gray, keep = torch.rand(1, 1, 64, 96), torch.zeros(1, 1, 64, 96)
        keep[..., 30:35, 40:45] = 1
        planes = hint_planes(keep, torch.full((1, 2, 64, 96), 40.0))
        with torch.no_grad():
            out = net(gray, planes)
        assert out.shape == (1, net.centres.shape[0], 16, 24) and out.dtype == torch.float32
        assert not torch.equal(out, net(gray))

    def test_pool_hints_keeps_the_hinted_mean(self):
        planes = torch.zeros(1, 3, 8, 8)
        planes[0, :, 1, 1] = torch.tensor([0.5, -0.25, 1.0])
        pooled = pool_hints(planes, (2, 2))
        assert torch.allclose(pooled[0, :, 0, 0], torch.tensor([0.5, -0.25, 1.0]))
        assert pooled[0, :, 1, 1].abs().sum() == 0

    def test_a_changed_guide_is_a_one_line_error(self, tiny_steerable, tmp_path):
        card = json.loads(open(f"{tiny_steerable}/model.json").read())
        card["net"]["guide_sha256"] = "0" * 64
        (tmp_path / "model.json").write_text(json.dumps(card))
        (tmp_path / "model.safetensors").write_bytes(open(f"{tiny_steerable}/model.safetensors", "rb").read())
        with pytest.raises(InputError, match="retrain"):
            load_model(tmp_path)


class TestSteeredColorize:
    def test_hints_are_exact_at_full_resolution_and_the_gray_everywhere(self, tiny_steerable):
        col, gray = Colorizer(tiny_steerable), _gray(50, 70)
        hints = [Hint(20, 15, (200, 120, 60), 3), Hint(50, 30, (60, 90, 200), 2)]
        out = col(gray, hints=hints)[0]
        assert out.shape == (3, 50, 70) and out.dtype == torch.float32
        assert torch.allclose(out.mean(0), gray, atol=1e-5)
        keep, colors = rasterize(hints, 50, 70, (1.0, 1.0))
        want = (colors - colors.mean(1, keepdim=True))[0]
        got = out - out.mean(0, keepdim=True)
        inside = (keep[0, 0] > 0) & (gray + want.amax(0) <= 1) & (gray + want.amin(0) >= 0)  # no clamp there
        assert inside.sum() > 10
        assert torch.allclose(got[:, inside], want[:, inside], atol=1e-5)

    def test_prepared_photo_gives_the_same_colours(self, tiny_steerable):
        col, gray = Colorizer(tiny_steerable), _gray()
        hints = [Hint(10, 10, (255, 0, 0), 2.5)]
        assert torch.allclose(col.prepare(gray).colorize(hints), col(gray, hints=hints), atol=1e-6)

    def test_a_preview_is_the_smaller_gray_coloured_with_the_same_hints(self, tiny_steerable):
        col, gray = Colorizer(tiny_steerable), _gray(96, 128)
        small = torch.nn.functional.interpolate(gray[None, None], size=(48, 64), mode="area")
        preview = col.prepare(gray).colorize([Hint(40, 40, (0, 200, 0), 4)], gray=small)
        assert preview.shape == (1, 3, 48, 64) and torch.allclose(preview.mean(1), small[:, 0], atol=1e-5)

    def test_other_methods_refuse_to_prepare(self, tiny_unet_model):
        with pytest.raises(InputError, match="does not take hints"):
            Colorizer(tiny_unet_model).prepare(_gray())


class TestSuggest:
    def test_distinct_colours_in_gamut_sorted(self, tiny_steerable):
        photo = Colorizer(tiny_steerable).prepare(_gray())
        out = photo.suggest(20, 10, top=6)
        assert len(out) == 6 and len({tuple(s["rgb"]) for s in out}) == 6
        assert all(0 <= v <= 255 and isinstance(v, int) for s in out for v in s["rgb"])
        ps = [s["p"] for s in out]
        assert ps == sorted(ps, reverse=True) and 0 < sum(ps) <= 1 + 1e-6

    def test_suggestions_have_the_pixels_gray(self, tiny_steerable):
        gray = _gray()
        photo = Colorizer(tiny_steerable).prepare(gray)
        for s in photo.suggest(30, 20, top=4):
            assert abs(sum(s["rgb"]) / 3 - float(gray[20, 30]) * 255) <= 1.0

    def test_spot_outside_is_an_error(self, tiny_steerable):
        with pytest.raises(InputError, match="outside"):
            Colorizer(tiny_steerable).prepare(_gray()).suggest(64, 0)


class TestShippedSteerable:
    """The shipped model's learned behaviour (real weights, small synthetic photos)."""

    @pytest.fixture(scope="class")
    def col(self):
        return Colorizer(method="steerable")

    def test_a_hint_colours_its_region_and_stops_at_the_edge(self, col):
        gray = torch.full((128, 128), 0.55)
        gray[:, 64:] = 0.3  # two regions split by a vertical edge
        base = col(gray)[0]
        out = col(gray, hints=[Hint(30, 64, (40, 200, 60), 2.5)])[0]  # a green hint in the left region
        moved = (out - base).abs().sum(0)
        assert moved[:, 8:56].mean() > 4 * moved[:, 72:120].mean()

    def test_a_hint_puts_its_colour_first_there(self, col):
        gray = torch.full((96, 96), 0.5)
        photo = col.prepare(gray)
        hint = Hint(48, 48, (200, 90, 90), 2.5)  # gray 126.7, the pixel's own gray is 127.5
        first = photo.suggest(48, 48, top=6, hints=[hint])[0]["rgb"]
        lab = rgb_to_lab(torch.tensor([first, hint.rgb], dtype=torch.float32).view(2, 3, 1, 1) / 255)
        assert float((lab[0, 1:] - lab[1, 1:]).norm()) <= 15  # within 15 a*b* units (the suggestions' measure)
        assert photo.suggest(48, 48, top=1)[0]["rgb"] != first  # without the hint, another colour


class TestFinishing:
    def test_guided_coefficients_of_a_constant_and_of_the_guide(self):
        guide = torch.rand(1, 1, 20, 30)
        a, b = guided_coefficients(guide, torch.full((1, 3, 20, 30), 0.25), 2, 1e-3)
        assert torch.allclose(a, torch.zeros_like(a), atol=1e-6) and torch.allclose(b, torch.full_like(b, 0.25))
        a, b = guided_coefficients(guide, guide.expand(-1, 2, -1, -1), 2, 1e-8)
        assert torch.allclose(a * guide + b, guide.expand(-1, 2, -1, -1), atol=1e-3)

    def test_guided_coefficients_exception(self):
        with pytest.raises(ValueError, match="guide"):
            guided_coefficients(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), 1, 1e-3)

    def test_strips_equal_the_whole_image_with_slope_and_fixed_pixels(self):
        gray, chroma, slope = torch.rand(1, 1, 37, 29), torch.randn(1, 3, 9, 7) * 0.1, torch.randn(1, 3, 9, 7) * 0.1
        chroma, slope = chroma - chroma.mean(1, keepdim=True), slope - slope.mean(1, keepdim=True)
        hints = [Hint(5, 30, (250, 10, 10), 3), Hint(20, 3, (10, 10, 250), 1)]

        def fixed(top, bottom):
            keep, colors = rasterize(hints, bottom - top, 29, (1.0, 1.0), rows=(top, bottom))
            return keep, colors - colors.mean(1, keepdim=True)

        whole = finish(gray, chroma, 6500.0, slope=slope, fixed=fixed)
        strips = finish(gray, chroma, 6500.0, strip_pixels=29 * 4, slope=slope, fixed=fixed)
        assert torch.allclose(whole, strips, atol=1e-6)
        assert torch.allclose(whole.mean(1), gray[0], atol=1e-6)

    def test_rasterize_rows_are_the_whole_grids_rows(self):
        hints = [Hint(3.2, 7.9, (1, 2, 3), 0.2), Hint(10, 2, (4, 5, 6), 3)]
        keep, colors = rasterize(hints, 12, 15, (1.0, 1.0))
        for top, bottom in [(0, 5), (5, 8), (8, 12)]:
            k, c = rasterize(hints, bottom - top, 15, (1.0, 1.0), rows=(top, bottom))
            assert torch.equal(k, keep[:, :, top:bottom]) and torch.equal(c, colors[:, :, top:bottom])


class TestSimulatedUsers:
    def test_evaluation_user_is_seeded_nested_and_true_to_the_photo(self):
        rgb = torch.rand(1, 3, 30, 40)
        five, two = simulated_user(rgb, 5, seed=3), simulated_user(rgb, 2, seed=3)
        assert five[:2] == two and simulated_user(rgb, 5, seed=3) == five and simulated_user(rgb, 5, 4) != five
        for h in five:
            x, y = int(h.x), int(h.y)
            assert 2 <= x <= 37 and 2 <= y <= 27 and h.radius == 2.5
            mean = torch.round(rgb[0, :, y - 2:y + 3, x - 2:x + 3].mean(dim=(1, 2)) * 255)
            assert tuple(mean.tolist()) == h.rgb

    def test_training_users_mark_patches_with_their_mean(self):
        gen = torch.Generator().manual_seed(0)
        ab = torch.randn(64, 2, 32, 32) * 20
        planes = training_hints(ab, gen)
        assert planes.shape == (64, 3, 32, 32)
        none = (planes[:, 2].flatten(1).sum(1) == 0).float().mean()
        assert 0.02 < none < 0.35  # geometric(1/8): no hint with probability 1/8
        hinted = planes[:, 2] > 0
        assert (planes[:, :2][~hinted[:, None].expand(-1, 2, -1, -1)] == 0).all()
        assert planes[:, :2].abs().max() <= ab.abs().max() / 110 + 1e-6


class TestTraining:
    def test_a_tiny_run_learns_and_resumes(self, tmp_path, tiny_semantic_model):
        from chromaprior.training.hints import build_feature_cache

        photos = tmp_path / "photos"
        photos.mkdir()
        for i in range(4):
            Image.fromarray(synthetic_rgb(64, 80, seed=i)).save(photos / f"p{i}.png")
        cache = tmp_path / "cache"
        build_feature_cache(cache, [str(photos)], crops=8, size=32, guide=tiny_semantic_model, batch=4, log=lambda s: None,
                            split="all")
        assert len(FeatureCache(cache)) == 8
        config = HintTrainConfig(cache=str(cache), iterations=30, batch_size=8, lr=3e-3, checkpoint_every=15,
                                 log_every=1)
        train_steerable(config, tmp_path / "run", log=lambda s: None)
        losses = [json.loads(line)["loss"] for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
        assert np.mean(losses[-5:]) < np.mean(losses[:5])
        net, card = load_model(tmp_path / "run")
        assert card["method"] == "steerable" and card["training"]["steps"] == 30


class TestHintFolders:
    def test_pairing_by_relative_name(self, tmp_path):
        (tmp_path / "in" / "sub").mkdir(parents=True)
        (tmp_path / "h" / "sub").mkdir(parents=True)
        a, b = tmp_path / "in" / "a.jpg", tmp_path / "in" / "sub" / "b.png"
        (tmp_path / "h" / "sub" / "b.json").write_text("[]")
        (tmp_path / "h" / "orphan.json").write_text("[]")
        paired, unused = hint_files([tmp_path / "in"], [a, b], tmp_path / "h")
        assert paired == {a: None, b: tmp_path / "h" / "sub" / "b.json"}
        assert unused == [tmp_path / "h" / "orphan.json"]

    def test_cli_hints_dir(self, tmp_path, tiny_steerable, cli):
        (tmp_path / "in").mkdir()
        (tmp_path / "h").mkdir()
        for name in ("a", "b"):
            Image.fromarray((synthetic_rgb(40, 56, seed=1).mean(axis=2)).astype(np.uint8)).save(tmp_path / "in" / f"{name}.png")
        (tmp_path / "h" / "a.json").write_text(json.dumps([{"x": 10, "y": 10, "rgb": [250, 20, 20], "radius": 3}]))
        (tmp_path / "h" / "zz.json").write_text("[]")
        r = cli("colorize", tmp_path / "in", "-o", tmp_path / "out", "--model", tiny_steerable,
                "--hints", tmp_path / "h", "-q")
        assert r.exit_code == 0, r.output
        assert "zz.json: no input photo" in r.output
        a = np.asarray(Image.open(tmp_path / "out" / "a.png")).astype(int)
        assert a[10, 10, 0] - a[10, 10, 1] > 50  # red where hinted
        b = np.asarray(Image.open(tmp_path / "out" / "b.png")).astype(int)
        assert abs(b[10, 10, 0] - b[10, 10, 1]) < abs(a[10, 10, 0] - a[10, 10, 1])

    def test_a_hints_file_for_several_inputs_is_an_error(self, tmp_path, tiny_steerable, cli):
        for name in ("a", "b"):
            Image.fromarray(np.full((16, 16), 100, np.uint8)).save(tmp_path / f"{name}.png")
        (tmp_path / "h.json").write_text("[]")
        r = cli("colorize", tmp_path / "a.png", tmp_path / "b.png", "-o", tmp_path / "o",
                "--model", tiny_steerable, "--hints", tmp_path / "h.json")
        one_line_error(r)
        assert "folder of NAME.json" in r.output


class TestSuggestCommand:
    def test_prints_json(self, tmp_path, tiny_steerable, cli):
        Image.fromarray(np.full((40, 50), 120, np.uint8)).save(tmp_path / "g.png")
        r = cli(*["suggest", str(tmp_path / "g.png"), "--at", "10,20", "--top", "3", "--model", tiny_steerable])
        assert r.exit_code == 0, r.output
        out = json.loads(r.output)
        assert len(out) == 3 and set(out[0]) == {"rgb", "p"}

    @pytest.mark.parametrize("at,match", [("60,1", "outside"), ("x", "X,Y")])
    def test_bad_spots(self, tmp_path, tiny_steerable, cli, at, match):
        Image.fromarray(np.full((40, 50), 120, np.uint8)).save(tmp_path / "g.png")
        r = cli(*["suggest", str(tmp_path / "g.png"), "--at", at, "--model", tiny_steerable])
        one_line_error(r)
        assert match in r.output
