"""Several colourings per photo: ``colorize --samples N``, the API, the web
page's gallery, the rule (sampled methods only) and the diversity metric."""

import io
import time

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from chromaprior.apps import api

from chromaprior.apps import cli
from chromaprior.methods.colorize import Colorizer
from chromaprior.core.errors import InputError
from chromaprior.core.hints import Hint
from chromaprior.core.io import read_image
from chromaprior.models.registry import MAX_SAMPLES, check_samples
from chromaprior.evaluation.metrics import diversity_thumbnail, sample_diversity
from helpers import browser_on, synthetic_rgb


def _run(*args):
    return CliRunner().invoke(cli.main, ["colorize", *map(str, args), "--threads", "1", "-q"])


def _load(path) -> np.ndarray:
    return np.asarray(Image.open(path)).astype(int)


def _one_line_error(r, *words):
    lines = r.output.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith("chromaprior: error: "), r.output
    assert "Traceback" not in r.output and all(w in lines[0] for w in words), lines[0]


# ------------------------------------------------------------------------------- command line
def test_samples_write_distinct_files_named_by_their_seed(tiny_model, gray_png, tmp_path):
    r = _run(gray_png, "-o", tmp_path / "out.png", "--model", tiny_model, "--preset", "preview",
             "--samples", 3, "--seed", 5)
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out"))
    assert names == ["out-s5.png", "out-s6.png", "out-s7.png"]  # beside -o, named by the seed
    outs = [_load(tmp_path / n) for n in names]
    gray = np.asarray(Image.open(gray_png)).astype(int)
    for i, a in enumerate(outs):
        assert a.shape == gray.shape + (3,)
        assert np.abs(a.mean(axis=2) - gray).max() <= 1.0  # every sample keeps the gray
        for b in outs[i + 1:]:
            assert np.abs(a - b).mean() > 1  # and they differ


def test_sample_0_is_the_single_seed_output(tiny_model, gray_png, tmp_path):
    common = ("--model", tiny_model, "--preset", "fast", "--seed", 3)
    assert _run(gray_png, "-o", tmp_path / "many.png", "--samples", 4, *common).exit_code == 0
    assert _run(gray_png, "-o", tmp_path / "single.png", *common).exit_code == 0
    assert _run(gray_png, "-o", tmp_path / "one.png", "--samples", 1, *common).exit_code == 0
    single = _load(tmp_path / "single.png")
    assert np.array_equal(_load(tmp_path / "one.png"), single)  # --samples 1 is the plain output, same name rule
    assert not (tmp_path / "one-s3.png").exists()
    # drawn in one batch: equal to float rounding (batched network calls round differently)
    d = np.abs(_load(tmp_path / "many-s3.png") - single)
    assert d.max() <= 1 and (d > 0).mean() < 0.01
    # the library: batch=1 gives exactly the single-seed result
    col = Colorizer(tiny_model)
    y = torch.from_numpy(np.asarray(Image.open(gray_png), dtype=np.float32) / 255)
    one = col(y, preset="fast", seed=3)
    drawn = list(col.samples(y, 3, preset="fast", seed=3, batch=1))
    assert [s for s, _ in drawn] == [3, 4, 5]
    assert torch.equal(drawn[0][1], one)
    batched = dict(col.samples(y, 3, preset="fast", seed=3))
    assert (batched[4] - drawn[1][1]).abs().max() < 1e-3


def test_batches_of_inputs_each_get_their_samples_and_skip_existing_resumes(tiny_model, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name, seed in (("a.png", 0), ("b.jpg", 1)):
        Image.fromarray(synthetic_rgb(24, 32, seed).mean(axis=2).astype(np.uint8)).save(src / name)
    out = tmp_path / "out"
    r = _run(src, "-o", out, "--model", tiny_model, "--preset", "preview", "--samples", 2)
    assert r.exit_code == 0, r.output
    # names and formats mirrored
    assert sorted(p.name for p in out.iterdir()) == ["a-s0.png", "a-s1.png", "b-s0.jpg", "b-s1.jpg"]
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    kept = _load(out / "a-s1.png")
    (out / "a-s1.png").unlink()
    time.sleep(0.01)
    r = CliRunner().invoke(cli.main, ["colorize", str(src), "-o", str(out), "--model", tiny_model, "--preset",
                                      "preview", "--samples", "2", "--skip-existing", "--threads", "1", "-q"])
    assert r.exit_code == 0, r.output
    assert "skipping 3 output(s) that exist" in r.output
    after = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert {n for n in after if after[n] != before.get(n)} == {"a-s1.png"}  # only the missing sample drawn
    assert np.abs(_load(out / "a-s1.png") - kept).max() <= 1  # the same seed: the same colouring


def test_sample_outputs_are_checked_before_any_work(tiny_model, gray_png, tmp_path):
    victim = tmp_path / "out-s1.png"  # an input that a sample would overwrite
    Image.open(gray_png).save(victim)
    data = victim.read_bytes()
    r = _run(victim, "-o", tmp_path / "out.png", "--model", tiny_model, "--samples", 2)
    _one_line_error(r, "out-s1.png", "refusing to overwrite an input")
    assert victim.read_bytes() == data and not (tmp_path / "out-s0.png").exists()
    r = _run(gray_png, "-o", tmp_path / "out.txt", "--model", tiny_model, "--samples", 2)
    _one_line_error(r, "unsupported output format")


@pytest.mark.parametrize("n,words", [(0, ["between 1 and"]), (-2, ["between 1 and", "-2"]),
                                     (MAX_SAMPLES + 1, ["between 1 and", str(MAX_SAMPLES + 1)])])
def test_bad_sample_counts_are_one_line_errors(tiny_model, gray_png, tmp_path, n, words):
    r = _run(gray_png, "-o", tmp_path / "o.png", "--model", tiny_model, "--samples", n)
    _one_line_error(r, "samples", *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gray.png"]  # nothing written


def test_methods_with_one_answer_refuse_several_samples(tiny_unet_model, tiny_semantic_model, gray_png, tmp_path):
    for model in (tiny_unet_model, tiny_semantic_model):  # the model's card says which method
        r = _run(gray_png, "-o", tmp_path / "o.png", "--model", model, "--samples", 2)
        _one_line_error(r, "gives one answer per photo", "jgm")
    r = _run(gray_png, "-o", tmp_path / "o.png", "--method", "cgan", "--samples", 3)  # before loading anything
    _one_line_error(r, "cgan gives one answer per photo")
    r = _run(gray_png, "-o", tmp_path / "o.png", "--samples", 2)  # the default colorizer is supervised
    _one_line_error(r, "gives one answer per photo")
    r = _run(gray_png, "-o", tmp_path / "o.png", "--model", tiny_unet_model, "--samples", 1)
    assert r.exit_code == 0, r.output  # one sample is the ordinary output
    r = _run(gray_png, "-o", tmp_path / "o.png", "--method", "jgm", "--samples", 2, "--seed", 2**63 - 1)
    _one_line_error(r, "2^63-1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gray.png", "o.png"]


def test_verbose_output_reports_the_diversity(tiny_model, gray_png, tmp_path):
    r = CliRunner().invoke(cli.main, ["colorize", gray_png, "-o", str(tmp_path / "o.png"), "--model", tiny_model,
                                      "--preset", "preview", "--samples", "3", "--threads", "1"])
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if "diversity" in x)
    value = float(line.split("diversity")[1].split()[0])
    assert "3 samples" in line and value > 0
    outs = torch.stack([torch.from_numpy(_load(tmp_path / f"o-s{s}.png") / 255.0).permute(2, 0, 1) for s in range(3)])
    assert value == pytest.approx(sample_diversity(outs), abs=0.06)


# ------------------------------------------------------------------------------------ library
def test_the_rule_lives_in_the_registry():
    assert check_samples(MAX_SAMPLES, "jgm") == MAX_SAMPLES
    assert check_samples(1, "unet") == 1
    for bad in [(0, "jgm"), (MAX_SAMPLES + 1, "jgm"), (2, "unet"), (2, "semantic"), (2, "cgan"), (1.5, "jgm"),
                (True, "jgm"), (2, "jgm", 2**63 - 1)]:
        with pytest.raises(InputError):
            check_samples(*bad)


def test_api_samples_keep_hints_and_refuse_at_the_call(tiny_model, tiny_unet_model, tmp_path):
    gray = synthetic_rgb(32, 40).mean(axis=2).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "g.png")
    pic = read_image(tmp_path / "g.png")
    with pytest.raises(InputError, match="one answer"):
        api.colorize_samples(pic, Colorizer(tiny_unet_model), 2)  # at the call, not when consumed
    hints = [Hint(20, 16, (220, 60, 60), radius=6)]
    drawn = list(api.colorize_samples(pic, Colorizer(tiny_model), 3, seed=7, preset="preview", hints=hints))
    assert [s for s, _ in drawn] == [7, 8, 9]
    for _, out in drawn:
        px = out.pixels
        assert px.shape == (32, 40, 3) and np.abs(px.mean(axis=2) * 255 - gray).max() <= 1.0
        assert px[16, 20, 0] > px[16, 20, 1] + 0.1  # every sample honours the hint
    assert np.abs(drawn[0][1].pixels - drawn[1][1].pixels).mean() > 1e-3
    only = list(api.colorize_samples(pic, Colorizer(tiny_model), 3, seed=7, only=[9], preset="preview", hints=hints))
    assert [s for s, _ in only] == [9] and np.abs(only[0][1].pixels - drawn[2][1].pixels).max() < 2e-3
    assert api.sample_paths(tmp_path / "x.jpg", 2, 4) == [tmp_path / "x-s4.jpg", tmp_path / "x-s5.jpg"]
    assert api.sample_paths("x.png") == [api.Path("x.png")]


def test_samples_are_batched_in_bounded_chunks(tiny_model, monkeypatch):
    import chromaprior.methods.colorize as colorize

    sizes = []
    real = colorize.sample

    def spy(net, op, y, *a, **k):
        sizes.append(y.shape[0])
        return real(net, op, y, *a, **k)

    monkeypatch.setattr(colorize, "sample", spy)
    col = Colorizer(tiny_model)
    ticks = []
    outs = list(col.samples(torch.rand(16, 24), 5, preset="preview", callback=lambda d, t: ticks.append((d, t))))
    assert len(outs) == 5 and sizes == [5]  # one batch through the sampler
    assert ticks[-1] == (5 * col.nfe("preview"),) * 2 and ticks == sorted(ticks)
    sizes.clear()
    monkeypatch.setattr(colorize, "SAMPLE_BATCH_PIXELS", 2 * 16 * 24)  # room for 2 working grids
    assert len(list(col.samples(torch.rand(16, 24), 5, preset="preview", work_size=16))) == 5
    assert sizes == [2, 2, 1]


# ---------------------------------------------------------------------------------- diversity
def test_diversity_of_hand_made_samples():
    x = torch.rand(1, 3, 8, 12)
    assert sample_diversity(x.repeat(4, 1, 1, 1)) == pytest.approx(0.0, abs=1e-9)  # identical samples
    gray = torch.full((1, 3, 8, 12), 0.5)
    # a gray sample against a uniformly tinted one: the tint's chroma
    from chromaprior.core.color import lab_to_rgb, rgb_to_lab

    lab = rgb_to_lab(gray)
    lab[:, 1], lab[:, 2] = 12.0, -5.0
    tinted = lab_to_rgb(lab)
    assert sample_diversity(torch.cat([gray, tinted])) == pytest.approx(13.0, abs=0.05)
    # three samples: the mean of the three pair distances (13, 13, 0)
    assert sample_diversity(torch.cat([gray, tinted, tinted])) == pytest.approx(26 / 3, abs=0.05)
    # symmetric, and a thumbnail of a smooth image barely changes it
    a, b = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
    assert sample_diversity(torch.cat([a, b])) == pytest.approx(sample_diversity(torch.cat([b, a])))
    big = torch.cat([torch.nn.functional.interpolate(t, size=(600, 600), mode="nearest") for t in (gray, tinted)])
    thumb = diversity_thumbnail(big)
    assert thumb.shape[-2:] == (256, 256) and sample_diversity(thumb) == pytest.approx(13.0, abs=0.05)
    assert diversity_thumbnail(x) is x
    with pytest.raises(ValueError):
        sample_diversity(x)  # one sample
    with pytest.raises(ValueError):
        sample_diversity(torch.rand(2, 1, 4, 4))


# ------------------------------------------------------------------------------------ web page
fastapi = pytest.importorskip("fastapi")


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def _wait(client, job):
    for _ in range(400):
        s = client.get(f"/api/jobs/{job}").json()
        if s["state"] in ("done", "failed"):
            return s
        time.sleep(0.05)
    raise AssertionError("job did not finish")


@pytest.fixture
def web(tiny_model, tiny_unet_model):
    from fastapi.testclient import TestClient

    from chromaprior.apps import web as serve

    app = serve.create_app(models={"jgm": tiny_model, "unet": tiny_unet_model})
    return TestClient(app, base_url="http://127.0.0.1:8000"), app.state.worker


def test_web_endpoint_draws_a_gallery_of_samples(web):
    client, worker = web
    gray = synthetic_rgb(24, 32).mean(axis=2).astype(np.uint8)
    html = client.get("/").text
    assert 'id="samples"' in html and 'id="gallery"' in html
    sampled = [m["name"] for m in client.get("/api/config").json()["methods"] if m["sampled"]]
    assert sampled == ["jgm"]  # the page shows the samples box for these (the registry's rule)
    r = client.post("/api/colorize", files={"image": ("g.png", _png(gray), "image/png")},
                    data={"method": "jgm", "preset": "preview", "seed": "4", "samples": "3"})
    assert r.status_code == 200, r.text
    job = r.json()["job"]
    s = _wait(client, job)
    assert s["state"] == "done" and s["samples"] == 3 and s["seeds"] == [4, 5, 6] and s["done"] == s["total"]
    outs = []
    for k, seed in enumerate(s["seeds"]):
        got = client.get(f"/api/jobs/{job}/samples/{k}.png")
        assert got.status_code == 200 and f'colorized-s{seed}.png' in got.headers["content-disposition"]
        outs.append(np.asarray(Image.open(io.BytesIO(got.content))).astype(int))
        assert outs[-1].shape == (24, 32, 3) and np.abs(outs[-1].mean(axis=2) - gray).max() <= 1.0
    assert np.abs(outs[0] - outs[1]).mean() > 1 and np.abs(outs[1] - outs[2]).mean() > 1
    assert client.get(f"/api/jobs/{job}/samples/3.png").status_code == 404
    first = np.asarray(Image.open(io.BytesIO(client.get(f"/api/jobs/{job}/result.png").content))).astype(int)
    assert np.array_equal(first, outs[0])
    assert worker.jobs[job].delivered


def test_web_endpoint_enforces_the_rule(web):
    client, worker = web
    png = _png(np.full((16, 16), 100, np.uint8))
    for data, match in [({"method": "unet", "samples": "2"}, "one answer"),
                        ({"method": "jgm", "samples": "0"}, "samples"),
                        ({"method": "jgm", "samples": "9"}, "samples"),
                        ({"method": "jgm", "samples": "2", "seed": str(2**63 - 1)}, "2^63-1")]:
        r = client.post("/api/colorize", files={"image": ("g.png", png, "image/png")}, data=data)
        assert r.status_code == 400 and match in r.json()["detail"], (data, r.text)
    assert not worker.jobs  # nothing queued
    r = client.post("/api/colorize", files={"image": ("g.png", png, "image/png")},
                    data={"method": "unet", "samples": "1"})
    assert r.status_code == 200 and _wait(client, r.json()["job"])["samples"] == 1


def test_web_samples_count_their_pixels_in_flight(tiny_model, monkeypatch):
    from fastapi.testclient import TestClient

    from chromaprior.apps import web as serve

    app = serve.create_app(models={"jgm": tiny_model}, max_pixels_in_flight=3 * 16 * 16)
    worker = app.state.worker
    monkeypatch.setattr(worker.queue, "put", lambda item: None)  # keep the jobs queued
    client = TestClient(app, base_url="http://127.0.0.1:8000")
    png = _png(np.full((16, 16), 100, np.uint8))
    post = lambda n: client.post("/api/colorize", files={"image": ("g.png", png, "image/png")},  # noqa: E731
                                 data={"method": "jgm", "samples": str(n)})
    assert post(3).status_code == 200 and worker.pixels == 3 * 16 * 16
    assert post(1).status_code == 503


def test_browser_gallery_of_samples(tiny_model, tiny_unet_model, tmp_path):
    """Headless Chromium: ask for 3 samples, see the gallery, choose one, download it."""
    from chromaprior.apps import web as serve

    gray = tmp_path / "gray.png"
    Image.fromarray(synthetic_rgb(48, 64).mean(axis=2).astype(np.uint8)).save(gray)
    with browser_on(serve.create_app(models={"unet": tiny_unet_model, "jgm": tiny_model})) as (browser, url):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select, WebDriverWait

        browser.get(url)  # (the waits end as soon as the page is ready: generous for a loaded machine)
        WebDriverWait(browser, 300).until(lambda b: b.execute_script("return document.body.dataset.ready") == "1")
        Select(browser.find_element(By.ID, "method")).select_by_value("unet")
        assert not browser.find_element(By.ID, "samples").is_displayed()  # one answer: no samples control
        Select(browser.find_element(By.ID, "method")).select_by_value("jgm")
        assert browser.find_element(By.ID, "samples").is_displayed()
        browser.find_element(By.ID, "file").send_keys(str(gray))
        WebDriverWait(browser, 300).until(lambda b: "gray.png, 64×48" in b.find_element(By.ID, "photoname").text)
        Select(browser.find_element(By.ID, "preset")).select_by_value("preview")
        browser.find_element(By.ID, "samples").clear()
        browser.find_element(By.ID, "samples").send_keys("3")
        browser.find_element(By.ID, "go").click()
        WebDriverWait(browser, 300).until(lambda b: b.find_element(By.ID, "status").text == "done"
                                          or b.find_element(By.ID, "err").text)
        assert browser.find_element(By.ID, "err").text == ""
        thumbs = browser.find_elements(By.CSS_SELECTOR, "#gallery img")
        assert len(thumbs) == 3 and browser.find_element(By.ID, "gallery").is_displayed()
        WebDriverWait(browser, 300).until(lambda b: all(b.execute_script("return arguments[0].naturalWidth", t) == 64
                                                        for t in thumbs))
        links = browser.find_elements(By.CSS_SELECTOR, "#gallery a")
        assert [a.get_attribute("download") for a in links] == [f"colorized-s{s}.png" for s in range(3)]
        thumbs[1].click()  # choose the second colouring
        assert browser.find_element(By.ID, "after").get_attribute("src").endswith("/samples/1.png")
        assert browser.find_element(By.ID, "result").get_attribute("download") == "colorized-s1.png"
        assert "chosen" in thumbs[1].get_attribute("class") and "chosen" not in thumbs[0].get_attribute("class")
