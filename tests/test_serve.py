"""The web page: its API through FastAPI's TestClient, and a real upload in headless Chromium."""

import asyncio
import os
import io
import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import torch
import pytest
from PIL import Image

from helpers import browser_on, save_steerable, synthetic_rgb

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from chromaprior.apps import web as serve  # noqa: E402


#: how long a browser test waits for the page (it goes on as soon as the page is ready: a
#: generous bound for a loaded machine, not a timing check)
_WAIT = 300


@pytest.fixture
def client(tiny_model):
    return TestClient(serve.create_app(models={"jgm": tiny_model}), base_url="http://127.0.0.1:8000")


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


def test_page_is_static_files_and_its_config_lists_methods_and_presets(client):
    """The page is package data (index.html, app.js, style.css); what it offers comes from /api/config."""
    from chromaprior.core.io import IMAGE_SUFFIXES

    html = client.get("/")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert 'src="static/app.js"' in html.text and 'href="static/style.css"' in html.text
    assert html.text == (serve.WEB / "index.html").read_text()
    for name, kind in [("app.js", "javascript"), ("style.css", "text/css")]:
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
    config = client.get("/api/config").json()
    assert [m["name"] for m in config["methods"]] == ["jgm"] and config["preset"] == "fast"
    assert config["presets"] == list(serve.PRESETS)
    assert config["accept"] == f'image/*,{",".join(IMAGE_SUFFIXES)}' and ".npy" in IMAGE_SUFFIXES  # the io table


def test_upload_with_hints_gives_a_colour_png(client):
    gray = synthetic_rgb(40, 56).mean(axis=2).astype(np.uint8)
    hints = [{"x": 28, "y": 20, "rgb": [220, 60, 60], "radius": 10}]
    r = client.post("/api/colorize", files={"image": ("g.png", _png(gray), "image/png")},
                    data={"method": "jgm", "preset": "preview", "temperature": "6500", "hints": json.dumps(hints)})
    assert r.status_code == 200, r.text
    s = _wait(client, r.json()["job"])
    assert s["state"] == "done" and s["done"] == s["total"]
    out = np.asarray(Image.open(io.BytesIO(client.get(f"/api/jobs/{r.json()['job']}/result.png").content)))
    assert out.shape == (40, 56, 3)
    assert np.abs(out.astype(float).mean(axis=2) - gray).max() <= 1.0
    assert out[20, 28, 0] > out[20, 28, 1] + 20


@pytest.mark.parametrize("payload,code,match", [
    (b"not an image", 400, "not an image"),
    (b"\0" * (serve.MAX_UPLOAD_BYTES + 10), 413, "larger"),
])
def test_bad_uploads_are_refused(client, payload, code, match):
    r = client.post("/api/colorize", files={"image": ("x.png", payload, "image/png")}, data={"method": "jgm"})
    assert r.status_code == code and match in r.json()["detail"]
    assert "/tmp" not in r.json()["detail"]  # no server paths leak


def test_bad_parameters_are_refused(client):
    png = _png(np.zeros((20, 20), np.uint8))
    for data, match in [({"method": "nope"}, "method"), ({"preset": "nope"}, "preset"),
                        ({"temperature": "100"}, "temperature"), ({"hints": "[{\"x\": 99, \"y\": 1, \"rgb\": [1,2,3]}]"}, "outside")]:
        r = client.post("/api/colorize", files={"image": ("g.png", png, "image/png")}, data=data)
        assert r.status_code == 400 and match in r.json()["detail"], r.text


def test_colour_upload_needs_recolor(client):
    png = _png(synthetic_rgb(24, 32))
    r = client.post("/api/colorize", files={"image": ("c.png", png, "image/png")}, data={"preset": "preview"})
    assert r.status_code == 400 and "already in colour" in r.json()["detail"]
    r = client.post("/api/colorize", files={"image": ("c.png", png, "image/png")},
                    data={"preset": "preview", "recolor": "true"})
    assert r.status_code == 200, r.text
    assert _wait(client, r.json()["job"])["state"] == "done"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_browser_upload_click_hint_and_result(tiny_model, tmp_path):
    """Headless Chromium, a queued method (jgm): choose a file, click a hint (a colour picker:
    jgm has no suggestions), colorize, see the result image."""
    gray = tmp_path / "gray.png"
    Image.fromarray(synthetic_rgb(48, 64).mean(axis=2).astype(np.uint8)).save(gray)
    with browser_on(serve.create_app(models={"jgm": tiny_model})) as (browser, url):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select, WebDriverWait

        browser.get(url)
        WebDriverWait(browser, _WAIT).until(lambda b: b.execute_script("return document.body.dataset.ready") == "1")
        assert not browser.find_element(By.ID, "go").get_attribute("hidden")  # jobs: the Colorize button
        assert not browser.find_element(By.ID, "download").is_displayed()  # the steering download is not
        browser.find_element(By.ID, "file").send_keys(str(gray))
        WebDriverWait(browser, _WAIT).until(lambda b: "gray.png, 64×48" in b.find_element(By.ID, "photoname").text)
        Select(browser.find_element(By.ID, "preset")).select_by_value("preview")
        browser.find_element(By.ID, "marks").click()  # a hint in the middle of the photo
        WebDriverWait(browser, _WAIT).until(lambda b: b.find_element(By.ID, "pop").get_attribute("data-ready") == "1")
        assert not browser.find_element(By.ID, "swatches").is_displayed()  # no suggestions for jgm
        browser.find_element(By.ID, "pickuse").click()
        assert browser.find_element(By.ID, "nhints").text == "1 hint"
        browser.find_element(By.ID, "go").click()
        WebDriverWait(browser, _WAIT).until(lambda b: b.find_element(By.ID, "status").text == "done"
                                         or b.find_element(By.ID, "err").text)
        assert browser.find_element(By.ID, "err").text == ""
        WebDriverWait(browser, _WAIT).until(lambda b: b.execute_script(
            "return document.getElementById('after').naturalWidth") > 0)
        size = browser.execute_script("const i = document.getElementById('after'); return [i.naturalWidth, i.naturalHeight];")
        assert size == [64, 48]
        assert browser.find_element(By.ID, "result").is_displayed()


# ------------------------------------------------------------------------- reliability
class _SlowColorizer:
    """A stand-in colorizer that waits for ``gate`` (jobs stay queued/running on demand)."""

    def __init__(self, gate: threading.Event):
        self.gate = gate

    def nfe(self, preset):
        return 1

    def __call__(self, gray, callback=None, **kwargs):
        assert self.gate.wait(30)
        if callback:
            callback(1, 1)
        g = gray.float()
        return g.expand(-1, 3, -1, -1).clone()


def _slow_app(monkeypatch, tiny_model, **limits):
    gate = threading.Event()
    app = serve.create_app(models={"jgm": tiny_model}, **limits)
    monkeypatch.setattr(app.state.worker, "colorizer", lambda method: _SlowColorizer(gate))
    return TestClient(app, base_url="http://localhost:8000"), app.state.worker, gate


def _post(client, png=None, name="g.png", **data):
    png = png if png is not None else _png(np.full((16, 16), 100, np.uint8))
    return client.post("/api/colorize", files={"image": (name, png, "image/png")}, data=data)


def test_queued_and_running_jobs_are_never_evicted_and_a_full_queue_answers_503(tiny_model, monkeypatch):
    """Only finished jobs are forgotten (oldest first); a full queue is an honest 503."""
    client, worker, gate = _slow_app(monkeypatch, tiny_model, max_queued=3, max_finished=2)
    jobs = [_post(client).json()["job"] for _ in range(3)]
    r = _post(client)
    assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1 and "busy" in r.json()["detail"]
    assert all(client.get(f"/api/jobs/{j}").status_code == 200 for j in jobs)  # none lost while waiting
    gate.set()
    assert [_wait(client, j)["state"] for j in jobs] == ["done"] * 3  # kept until fetched, even beyond max_finished
    assert client.get(f"/api/jobs/{jobs[1]}/result.png").status_code == 200
    assert client.get(f"/api/jobs/{jobs[1]}").status_code == 404  # fetched and beyond max_finished: forgotten
    assert all(client.get(f"/api/jobs/{j}").status_code == 200 for j in (jobs[0], jobs[2]))
    assert _post(client).status_code == 200  # room again


def test_queued_jobs_hold_16_bit_gray_and_pixels_in_flight_are_bounded(tiny_model, monkeypatch):
    """A queued job keeps 2 bytes a pixel, and the pixels waiting are capped."""
    client, worker, gate = _slow_app(monkeypatch, tiny_model, max_pixels_in_flight=40 * 40)
    big = _png(np.full((40, 40), 100, np.uint8))
    assert _post(client, big).status_code == 200
    r = _post(client, big)
    assert r.status_code == 503 and "Retry-After" in r.headers
    queued = list(worker.queue.queue)
    assert all(g.dtype == np.uint16 for _, g, _ in queued)
    gate.set()


def test_request_size_is_refused_from_content_length_and_while_streaming():
    """413 before the body is read (Content-Length), or as soon as it grows past the limit."""
    async def app(scope, receive, send):  # reads the whole body like a form parser
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def call(headers, chunks):
        sent, pulled = [], []

        async def receive():
            pulled.append(1)
            return {"type": "http.request", "body": b"x" * 1024, "more_body": len(pulled) < chunks}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/api/colorize",
                 "headers": [(b"host", b"127.0.0.1:8000"), *headers]}
        asyncio.run(serve.Guard(app, limit=10 * 1024, loopback=True)(scope, receive, send))
        return sent[0]["status"], len(pulled)

    assert call([(b"content-length", str(300 * 2**20).encode())], 10**6) == (413, 0)  # nothing read
    status, pulled = call([], 10**6)  # chunked, no length: cut off just past the limit
    assert status == 413 and pulled == 11
    assert call([], 5)[0] == 200


def test_hints_are_bounded_and_parsed_off_the_event_loop(client, monkeypatch):
    """Point cap, nesting and size limits as 400s; decoding and densification run in a thread."""
    many = json.dumps([{"x": 1, "y": 1, "rgb": [1, 2, 3]}] * 3000)
    r = _post(client, hints=many)
    assert r.status_code == 400 and "hint points" in r.json()["detail"]
    r = _post(client, hints="[" * 100_000 + "]" * 100_000)
    assert r.status_code == 400 and "hints" in r.json()["detail"] and "nested" in r.json()["detail"]
    long_stroke = json.dumps([[{"x": 0, "y": 0, "rgb": [1, 2, 3], "radius": 0.5}, {"x": 15, "y": 15, "rgb": [1, 2, 3]}]
                              for _ in range(1500)])
    r = _post(client, hints=long_stroke)
    assert r.status_code == 400 and "points" in r.json()["detail"]
    loops = []
    real = serve.parse_hints

    def spy(*args, **kwargs):
        try:
            asyncio.get_running_loop()
            loops.append("event loop")
        except RuntimeError:
            loops.append("thread")
        return real(*args, **kwargs)

    monkeypatch.setattr(serve, "parse_hints", spy)
    assert _post(client, preset="preview").status_code == 200
    assert loops == ["thread"]


def test_errors_name_the_users_file_and_the_hints_and_seeds_are_checked(client):
    r = _post(client, b"garbage", name="holiday photo.png")
    detail = r.json()["detail"]
    assert r.status_code == 400 and detail.startswith("holiday photo.png: ") and "upload" not in detail
    r = _post(client, hints="{not json")
    assert r.status_code == 400 and r.json()["detail"].startswith("hints: ")
    r = _post(client, hints='[{"x": "3", "y": 1, "rgb": [1, 2, 3]}]')
    assert r.status_code == 400 and r.json()["detail"].startswith("hints: ")
    for seed in (str(2**70), "-1"):
        r = _post(client, seed=seed)
        assert r.status_code == 400 and "seed" in r.json()["detail"], r.text


def test_foreign_hosts_and_cross_origin_posts_are_refused(tiny_model):
    """On loopback, only loopback Host names and same-origin Origins."""
    app = serve.create_app(models={"jgm": tiny_model})
    for base in ("http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:8000"):
        assert TestClient(app, base_url=base).get("/").status_code == 200
    evil = TestClient(app, base_url="http://evil.example:8000")  # DNS rebinding: a foreign name on 127.0.0.1
    assert evil.get("/").status_code == 403
    c = TestClient(app, base_url="http://127.0.0.1:8000")
    r = c.post(
        "/api/colorize", files={"image": ("g.png", _png(np.zeros((16, 16), np.uint8)), "image/png")},
        headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "cross-origin" in r.json()["detail"]
    r = c.post("/api/colorize", files={"image": ("g.png", _png(np.zeros((16, 16), np.uint8)), "image/png")},
               data={"preset": "preview"}, headers={"Origin": "http://127.0.0.1:8000"})
    assert r.status_code == 200, r.text
    r = c.post("/api/photos", files={"image": ("g.png", _png(np.zeros((16, 16), np.uint8)), "image/png")},
               headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "cross-origin" in r.json()["detail"]  # the steering endpoints alike
    assert evil.post("/api/photos/x/preview", content=b"[]").status_code == 403
    public = TestClient(serve.create_app(models={"jgm": tiny_model}, host="0.0.0.0"), base_url="http://192.168.1.5:8000")
    assert public.get("/").status_code == 200
    assert public.get("/", headers={"Origin": "http://evil.example"}).status_code == 403


def test_api_default_method_is_the_page_and_cli_default(tiny_model, tiny_unet_model, tiny_semantic_model, tiny_steerable):
    """The API, the page and the CLI default to the same colorizer."""
    from chromaprior.models.checkpoint import read_card
    from chromaprior.models.registry import resolve_model_path

    default = read_card(resolve_model_path(None))["method"]
    models = {"jgm": tiny_model, "unet": tiny_unet_model, "cgan": tiny_unet_model, "semantic": tiny_semantic_model,
              "steerable": tiny_steerable}
    app = serve.create_app(models=models)
    c = TestClient(app, base_url="http://127.0.0.1:8000")
    config = c.get("/api/config").json()
    assert config["method"] == config["api_default"] == default
    job = _post(c).json()["job"]
    assert app.state.worker.jobs[job].params["method"] == default
    assert _wait(c, job)["state"] == "done"


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024
    except (OSError, StopIteration):
        return None


class _Http:
    """A minimal HTTP client (standard library only) for the load test."""

    def __init__(self, base: str):
        self.base = base

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        import urllib.error
        import urllib.request

        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def submit(self, png: bytes, **fields):
        boundary = "chromaprior-test-boundary"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="g.png"\r\n'
                     "Content-Type: image/png\r\n\r\n".encode() + png + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", "/api/colorize", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def test_load_every_accepted_job_is_answered_and_refusals_are_503(tiny_unet_model):
    """A bounded load test on loopback: 20 clients x 5 jobs, then a burst of 40 submissions.
    Every 200 is answered to its end, every refusal is a 503 with Retry-After, memory stays
    bounded and the page keeps answering."""
    import uvicorn

    port = _free_port()
    app = serve.create_app(models={"unet": tiny_unet_model}, max_queued=8)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    http = _Http(f"http://127.0.0.1:{port}")
    png = _png(synthetic_rgb(32, 48).mean(axis=2).astype(np.uint8))
    rss0 = _rss_mb()
    results = {"done": 0, "503": 0}
    lock = threading.Lock()
    errors = []

    def finish(job):
        for _ in range(1500):
            code, _, body = http.request("GET", f"/api/jobs/{job}")
            assert code == 200, body  # an accepted job never vanishes
            state = json.loads(body)
            if state["state"] in ("done", "failed"):
                assert state["state"] == "done", body
                assert http.request("GET", f"/api/jobs/{job}/result.png")[0] == 200
                return
            time.sleep(0.02)
        raise AssertionError("job not finished")

    def client_loop():
        try:
            done = 0
            while done < 5:
                code, headers, body = http.submit(png, method="unet")
                if code == 503:
                    assert int(headers["Retry-After"]) >= 1
                    with lock:
                        results["503"] += 1
                    time.sleep(0.05)
                    continue
                assert code == 200, body
                finish(json.loads(body)["job"])
                done += 1
            with lock:
                results["done"] += done
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    try:
        started = time.monotonic()
        threads = [threading.Thread(target=client_loop) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors[0]
        assert results["done"] == 100
        codes = []
        burst = [threading.Thread(target=lambda: codes.append(http.submit(png))) for _ in range(40)]
        for t in burst:
            t.start()
        assert http.request("GET", "/")[0] == 200  # the page answers meanwhile
        for t in burst:
            t.join(60)
        accepted = [json.loads(body)["job"] for code, _, body in codes if code == 200]
        refused = [(code, headers) for code, headers, _ in codes if code != 200]
        assert len(codes) == 40 and accepted
        assert all(code == 503 and "Retry-After" in headers for code, headers in refused)
        for job in accepted:
            finish(job)
        assert len(app.state.worker.jobs) <= serve.MAX_FINISHED
        if rss0 is not None:
            assert _rss_mb() - rss0 < 300
        print(f"load: 100 jobs from 20 clients ({results['503']} retries after 503), burst of 40: "
              f"{len(accepted)} accepted and done, {len(refused)} refused with 503, "
              f"{time.monotonic() - started:.1f} s, RSS +{(_rss_mb() or 0) - (rss0 or 0):.0f} MB")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_semantic_vividness_slider_and_parameter(tiny_semantic_model, tiny_unet_model):
    """The page shows a vividness slider for the semantic colorizer; the API checks the value
    and passes it on (a more vivid read-out gives more chroma, the gray kept)."""
    client = TestClient(serve.create_app(models={"semantic": tiny_semantic_model, "unet": tiny_unet_model}),
                        base_url="http://127.0.0.1:8000")
    assert 'id="viv"' in client.get("/").text
    methods = {m["name"]: m for m in client.get("/api/config").json()["methods"]}
    assert methods["semantic"]["vividness"] and not methods["unet"]["vividness"]  # the registry's rule
    assert methods["semantic"]["default_vividness"] == 0.5
    gray = synthetic_rgb(48, 64).mean(axis=2).astype(np.uint8)
    files = {"image": ("g.png", _png(gray), "image/png")}
    r = client.post("/api/colorize", files=files, data={"method": "semantic", "vividness": "1.5"})
    assert r.status_code == 400 and "vividness" in r.json()["detail"]
    chroma = []
    for v in ("0", "0.9"):
        r = client.post("/api/colorize", files=files, data={"method": "semantic", "vividness": v})
        assert r.status_code == 200, r.text
        assert _wait(client, r.json()["job"])["state"] == "done"
        out = np.asarray(Image.open(io.BytesIO(client.get(f"/api/jobs/{r.json()['job']}/result.png").content)))
        out = out.astype(float)
        assert np.abs(out.mean(axis=2) - gray).max() <= 1.0
        chroma.append(np.abs(out - out.mean(axis=2, keepdims=True)).mean())
    assert chroma[1] > chroma[0]


# ---------------------------------------------------------------- steering: sessions and their API
@pytest.fixture(scope="module")
def local_steerable(tmp_path_factory, tiny_semantic_model) -> str:
    """A tiny steerable colorizer whose hints enter only at the finest level (stride 4), with
    strong random weights, and whose hinted read-out is the automatic one's: a hint changes
    the colour around it (a receptive field of some 20 px) and nothing far away."""
    from chromaprior.training.hints import steerable_from_guide

    torch.manual_seed(0)
    net = steerable_from_guide(tiny_semantic_model)
    torch.nn.init.normal_(net.hint_in[0].weight, std=40.0)
    net.config.edge_radius = 2
    net.config.vividness = net.base.config.vividness
    return save_steerable(tmp_path_factory.mktemp("local_steerable"), net)


@pytest.fixture
def steer_client(tiny_steerable):
    return TestClient(serve.create_app(models={"steerable": tiny_steerable}), base_url="http://127.0.0.1:8000")


def _open(client, png=None, name="g.png", **data):
    png = png if png is not None else _png(synthetic_rgb(40, 56).mean(axis=2).astype(np.uint8))
    return client.post("/api/photos", files={"image": (name, png, "image/png")}, data=data)


def _image(r) -> np.ndarray:
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
    return np.asarray(Image.open(io.BytesIO(r.content))).astype(float)


def test_a_session_previews_at_512_px_and_downloads_full_size_with_the_metadata(steer_client, tiny_steerable):
    """Upload -> session (size, preview size); the preview is the 512-px colouring with the
    hints; the download is the full-size result the library gives for the same hints, with the
    input's dpi kept, its gray exact and the hinted chroma exact."""
    from chromaprior import api
    from chromaprior.methods.colorize import Colorizer
    from chromaprior.core.hints import Hint
    from chromaprior.core.io import read_image

    gray = synthetic_rgb(400, 640).mean(axis=2).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, format="PNG", dpi=(300, 300))
    r = _open(steer_client, buf.getvalue(), name="scan.png")
    assert r.status_code == 200, r.text
    photo = r.json()
    assert (photo["width"], photo["height"], photo["preview"], photo["steerable"]) == (640, 400, [512, 320], True)
    sid = photo["id"]
    before = _image(steer_client.get(f"/api/photos/{sid}/gray.png"))
    assert before.shape == (320, 512)
    hints = [{"x": 320, "y": 200, "rgb": [220, 60, 60], "radius": 12}]
    auto = _image(steer_client.post(f"/api/photos/{sid}/preview", content=b"[]"))
    hinted = _image(steer_client.post(f"/api/photos/{sid}/preview", content=json.dumps(hints)))
    assert auto.shape == hinted.shape == (320, 512, 3)
    assert np.abs(hinted.mean(axis=2) - before).max() <= 1.0  # the gray kept
    assert hinted[160, 256, 0] > hinted[160, 256, 1] + 40 and not np.array_equal(auto, hinted)  # red at the hint
    full = steer_client.post(f"/api/photos/{sid}/download?temperature=6500", content=json.dumps(hints))
    assert 'filename="scan-colorized.png"' in full.headers["content-disposition"]
    out = _image(full)
    assert out.shape == (400, 640, 3) and np.abs(out.mean(axis=2) - gray).max() <= 1.0
    assert out[200, 320, 0] > out[200, 320, 1] + 40
    assert Image.open(io.BytesIO(full.content)).info["dpi"] == pytest.approx((300, 300), abs=0.5)
    pic = read_image(_write(buf.getvalue()))
    want = api.colorize_picture(pic, Colorizer(tiny_steerable), hints=[Hint(320, 200, (220, 60, 60), 12)])
    assert np.abs(out - np.rint(want.pixels * 255)).max() <= 1.0  # the command line's colours


def _write(data: bytes):
    import tempfile

    path = tempfile.NamedTemporaryFile(suffix=".png", delete=False).name
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_temperature_and_vividness_act_on_the_preview(steer_client):
    sid = _open(steer_client).json()["id"]
    hints = json.dumps([{"x": 20, "y": 20, "rgb": [60, 200, 60], "radius": 3}])
    plain = _image(steer_client.post(f"/api/photos/{sid}/preview", content=hints))
    warm = _image(steer_client.post(f"/api/photos/{sid}/preview?temperature=3000", content=hints))
    assert warm[..., 0].mean() > plain[..., 0].mean() and warm[..., 2].mean() < plain[..., 2].mean()
    vivid = _image(steer_client.post(f"/api/photos/{sid}/preview?vividness=1", content=hints))
    assert not np.array_equal(vivid, plain)
    for query, match in [("temperature=100", "temperature"), ("vividness=2", "vividness"),
                         ("temperature=warm", "temperature")]:
        r = steer_client.post(f"/api/photos/{sid}/preview?{query}", content=hints)
        assert r.status_code == 400 and match in r.json()["detail"] and "\n" not in r.json()["detail"], r.text


def test_suggestions_are_the_libraries_given_the_hints(steer_client, tiny_steerable):
    """POST suggest: the colours SteeredPhoto.suggest gives for the spot, with the hints placed."""
    from chromaprior.methods.colorize import Colorizer
    from chromaprior.core.hints import Hint

    gray = synthetic_rgb(40, 56).mean(axis=2).astype(np.uint8)
    sid = _open(steer_client, _png(gray), name="cat.png").json()["id"]
    r = steer_client.post(f"/api/photos/{sid}/suggest?x=30&y=12&top=4", content=b"[]")
    assert r.status_code == 200, r.text
    got = r.json()
    photo = Colorizer(tiny_steerable).prepare(torch.from_numpy(gray.astype(np.float32) / 255))
    assert [s["rgb"] for s in got] == [s["rgb"] for s in photo.suggest(30, 12, 4)]
    assert all(abs(sum(s["rgb"]) / 3 - gray[12, 30]) <= 1.5 for s in got)  # each at the pixel's own gray
    hints = [{"x": 28, "y": 12, "rgb": [250, 30, 30], "radius": 3}]
    given = steer_client.post(f"/api/photos/{sid}/suggest?x=30&y=12&top=4", content=json.dumps(hints)).json()
    assert given == photo.suggest(30, 12, 4, [Hint(28, 12, (250, 30, 30), 3)]) and given != got
    r = steer_client.post(f"/api/photos/{sid}/suggest?x=56&y=1", content=b"[]")
    assert r.status_code == 400 and r.json()["detail"].startswith("cat.png: ") and "outside" in r.json()["detail"]
    r = steer_client.post(f"/api/photos/{sid}/suggest?x=1&y=1&top=99", content=b"[]")
    assert r.status_code == 400 and "top" in r.json()["detail"]


@pytest.mark.parametrize("body,match", [
    (b"{not json", "hints: hints are not valid JSON"),
    (b'[{"x": 99, "y": 1, "rgb": [1, 2, 3]}]', "outside the 56x40"),
    (b'[{"x": "3", "y": 1, "rgb": [1, 2, 3]}]', "x must be a number"),
    (b'[{"x": 3, "y": 1, "rgb": [1, 2, 300]}]', "rgb must be three values"),
    (b"[" * 1000 + b"]" * 1000, "nested too deeply"),
    (json.dumps([{"x": 1, "y": 1, "rgb": [1, 2, 3]}] * 3000).encode(), "hint points"),
    (b" " * (serve.MAX_HINT_BYTES + 1), "bytes"),
])
def test_bad_hints_are_one_line_400s(steer_client, body, match):
    sid = _open(steer_client).json()["id"]
    for path in ("preview", "suggest?x=1&y=1", "download", "hints"):
        r = steer_client.post(f"/api/photos/{sid}/{path}", content=body)
        detail = r.json()["detail"]
        assert r.status_code == 400 and detail.startswith("hints: ") and match in detail and "\n" not in detail, r.text


def test_check_hints_counts_the_joined_points(steer_client):
    sid = _open(steer_client).json()["id"]
    stroke = [[{"x": 0, "y": 0, "rgb": [1, 2, 3], "radius": 2}, {"x": 20, "y": 0, "rgb": [1, 2, 3], "radius": 2}]]
    r = steer_client.post(f"/api/photos/{sid}/hints", content=json.dumps(stroke))
    assert r.status_code == 200 and r.json() == {"points": 11}


def test_unknown_sessions_are_404(steer_client):
    for method, path in [("post", "preview"), ("post", "suggest?x=1&y=1"), ("post", "download"), ("post", "hints"),
                         ("get", "gray.png")]:
        r = getattr(steer_client, method)(f"/api/photos/nope/{path}", **({"content": b"[]"} if method == "post" else {}))
        assert r.status_code == 404 and "open it again" in r.json()["detail"]


def test_sessions_are_bounded_in_number_and_pixels(tiny_steerable):
    """The oldest (least recently used) photos are forgotten beyond max_sessions or max_session_pixels."""
    app = serve.create_app(models={"steerable": tiny_steerable}, max_sessions=3, max_session_pixels=40 * 56 * 3)
    client, sessions = TestClient(app, base_url="http://127.0.0.1:8000"), app.state.server.sessions
    ids = [_open(client).json()["id"] for _ in range(3)]
    assert client.post(f"/api/photos/{ids[0]}/preview", content=b"[]").status_code == 200  # used: now the newest
    ids.append(_open(client).json()["id"])
    assert list(sessions.items) == [ids[2], ids[0], ids[3]]
    assert client.post(f"/api/photos/{ids[1]}/preview", content=b"[]").status_code == 404
    big = _open(client, _png(np.full((80, 112), 90, np.uint8))).json()["id"]  # 4 of the small ones' pixels
    assert list(sessions.items) == [big] and sessions.pixels() == 80 * 112  # a single photo is always kept
    for n in range(10):
        _open(client)
        assert len(sessions.items) <= 3 and sessions.pixels() <= 40 * 56 * 3


def test_upload_errors_name_the_users_file(steer_client):
    r = _open(steer_client, b"garbage", name="holiday photo.png")
    assert r.status_code == 400 and r.json()["detail"].startswith("holiday photo.png: ") and "/tmp" not in r.text
    r = _open(steer_client, _png(synthetic_rgb(24, 32)), name="colour.png")
    assert r.status_code == 400 and r.json()["detail"].startswith("colour.png: already in colour")
    assert _open(steer_client, _png(synthetic_rgb(24, 32)), name="colour.png", recolor="true").status_code == 200
    r = _open(steer_client, b"\0" * (serve.MAX_UPLOAD_BYTES + 10))
    assert r.status_code == 413


def test_without_a_steerable_colorizer_photos_open_and_steering_says_why(client):
    photo = _open(client).json()
    assert photo["steerable"] is False and photo["preview"] == [56, 40]
    assert _image(client.get(f"/api/photos/{photo['id']}/gray.png")).shape == (40, 56)
    r = client.post(f"/api/photos/{photo['id']}/preview", content=b"[]")
    assert r.status_code == 400 and "no steerable colorizer" in r.json()["detail"]


def test_config_shows_each_methods_controls_from_the_registry(tiny_model, tiny_semantic_model, tiny_steerable):
    """Which controls act on a method is the registry's (sampled, vividness, steerable), and the page
    opens on the steerable colorizer, while the API's default stays the command line's."""
    from chromaprior.models.registry import DEFAULT_METHOD, get_method

    app = serve.create_app(models={"jgm": tiny_model, "semantic": tiny_semantic_model, "steerable": tiny_steerable})
    client = TestClient(app, base_url="http://127.0.0.1:8000")
    config = client.get("/api/config").json()
    for m in config["methods"]:
        spec = get_method(m["name"])
        assert (m["sampled"], m["vividness"], m["steerable"]) == (spec.sampled, spec.vividness, spec.steerable)
    assert config["method"] == "steerable" and config["api_default"] == DEFAULT_METHOD
    r = _post(client, preset="preview")  # no method: the command line's default, as a job
    assert r.status_code == 200 and app.state.worker.jobs[r.json()["job"]].params["method"] == DEFAULT_METHOD
    r = _post(client, method="steerable", hints=json.dumps([{"x": 3, "y": 3, "rgb": [255, 0, 0]}]))
    assert r.status_code == 200 and _wait(client, r.json()["job"])["state"] == "done"  # steerable as a job too


def test_examples_are_gray_jpegs_of_about_512_px_shipped_in_the_package(client):
    import tomllib
    from pathlib import Path

    examples = client.get("/api/config").json()["examples"]
    assert len(examples) >= 4 and all(e.startswith("static/examples/") and e.endswith(".jpg") for e in examples)
    for url in examples:
        r = client.get("/" + url)
        im = Image.open(io.BytesIO(r.content))
        assert r.status_code == 200 and im.format == "JPEG" and im.mode == "L" and 256 <= max(im.size) <= 512
        assert r.status_code == 200 and len(r.content) < 100_000
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    data = project["tool"]["setuptools"]["package-data"]["chromaprior"]
    assert {"web/*.html", "web/*.js", "web/*.css", "web/examples/*.jpg"} <= set(data)


def test_no_route_is_longer_than_80_lines():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(serve))
    long = [(f.name, f.end_lineno - f.lineno + 1) for f in ast.walk(tree)
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.end_lineno - f.lineno + 1 > 80]
    assert not long, long


def test_preview_latency_at_512_px_with_the_features_kept(tiny_steerable):
    """Not a timing assertion: measures and prints the server-side preview time (features kept)."""
    app = serve.create_app(models={"steerable": tiny_steerable})
    client = TestClient(app, base_url="http://127.0.0.1:8000")
    sid = _open(client, _png(synthetic_rgb(512, 768).mean(axis=2).astype(np.uint8))).json()["id"]
    hints = json.dumps([{"x": 100 + 40 * k, "y": 200, "rgb": [200, 80, 40], "radius": 6} for k in range(5)])
    times = []
    for _ in range(3):
        start = time.perf_counter()
        assert client.post(f"/api/photos/{sid}/preview", content=hints).status_code == 200
        times.append(time.perf_counter() - start)
    print(f"preview 512x341 of a 768x512 photo, tiny model, 5 hints: {min(times) * 1000:.0f} ms")


_PIXELS = """const img = document.getElementById(arguments[0]), c = document.createElement('canvas');
c.width = img.naturalWidth; c.height = img.naturalHeight; c.getContext('2d').drawImage(img, 0, 0);
return c.toDataURL('image/png');"""


def _shown(browser) -> np.ndarray:
    """The preview on the page once it shows the latest edit (the page marks each preview with the
    edit it was computed for), as pixels."""
    import base64

    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, _WAIT).until(lambda b: b.execute_script(
        "return !document.body.dataset.busy && document.getElementById('after').dataset.shown === "
        "document.body.dataset.version") or b.find_element("id", "err").text)
    assert browser.find_element("id", "err").text == ""
    url = browser.execute_script(_PIXELS, "after")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")).astype(float)


def _click_photo(browser, x: float, y: float, width: int) -> None:
    """Click the photo's pixel (x, y) (the canvas is scaled to the page)."""
    from selenium.webdriver.common.action_chains import ActionChains

    marks = browser.find_element("id", "marks")
    scale = marks.rect["width"] / width
    ActionChains(browser).move_to_element_with_offset(
        marks, (x + 0.5) * scale - marks.rect["width"] / 2, (y + 0.5) * scale - marks.rect["height"] / 2).click().perform()


def _object_photo(path):
    """A 128x96 gray photo: a bright disc (the object) on a darker ground."""
    yy, xx = np.mgrid[0:96, 0:128]
    gray = np.full((96, 128), 80, np.uint8)
    gray[(yy - 48) ** 2 + (xx - 40) ** 2 <= 24 ** 2] = 160
    Image.fromarray(gray).save(path)
    return gray, (yy - 48) ** 2 + (xx - 40) ** 2


def test_browser_steering_suggestion_undo_delete_and_download(local_steerable, tmp_path):
    """Headless Chromium on the steerable colorizer: upload, click on the object, choose a
    suggested colour; the preview changes at the hinted object and not far from it; undo
    restores the previous preview, redo and delete act on the hint list; the download is the
    full-size colouring with the gray kept."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    gray, d2 = _object_photo(tmp_path / "object.png")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with browser_on(serve.create_app(models={"steerable": local_steerable}), downloads) as (browser, url):
        browser.get(url)
        WebDriverWait(browser, _WAIT).until(lambda b: b.execute_script("return document.body.dataset.ready") == "1")
        shown = {i: browser.find_element(By.ID, i).is_displayed() for i in ("vivl", "presetl", "go", "download")}
        assert shown == {"vivl": True, "presetl": False, "go": False, "download": True}  # the steerable's controls
        assert browser.find_element(By.ID, "temp").get_attribute("value") == "6500"  # unchanged light by default
        browser.find_element(By.ID, "file").send_keys(str(tmp_path / "object.png"))
        auto = _shown(browser)
        assert auto.shape == (96, 128, 3) and np.abs(auto.mean(axis=2) - gray).max() <= 1.0
        _click_photo(browser, 40, 48, 128)
        WebDriverWait(browser, _WAIT).until(lambda b: b.find_element(By.ID, "pop").get_attribute("data-ready") == "1")
        swatches = browser.find_elements(By.CSS_SELECTOR, "#swatches button.swatch")
        assert len(swatches) == 6
        rgb = [int(v) for v in swatches[0].get_attribute("data-rgb").split(",")]
        swatches[0].click()
        hinted = _shown(browser)
        assert browser.find_element(By.ID, "nhints").text == "1 hint"
        assert browser.find_element(By.ID, "pop").get_attribute("hidden") is not None
        # the chosen colour at the spot (it is offered at the pixel's gray, in gamut; its edge rounds a few levels)
        assert np.abs(hinted[48, 40] - rgb).max() <= 5.0
        moved = np.abs(hinted - auto).sum(axis=2)
        assert moved[(d2 > 4 ** 2) & (d2 <= 16 ** 2)].mean() > 3.0  # around the hint, on the object
        assert moved[d2 >= 40 ** 2].max() <= 3.0  # and nothing far from it (8-bit rounding)
        browser.find_element(By.ID, "undo").click()
        assert browser.find_element(By.ID, "nhints").text == "no hints"
        assert np.abs(_shown(browser) - auto).max() <= 1.0  # undo restores the previous result
        browser.find_element(By.ID, "redo").click()
        assert np.abs(_shown(browser) - hinted).max() <= 1.0
        browser.find_element(By.CSS_SELECTOR, "#hintlist button.del").click()  # delete the one hint
        assert browser.find_element(By.ID, "nhints").text == "no hints" and not browser.find_element(By.ID, "redo").is_enabled()
        assert np.abs(_shown(browser) - auto).max() <= 1.0
        browser.find_element(By.ID, "undo").click()  # the hint is back
        assert np.abs(_shown(browser) - hinted).max() <= 1.0
        browser.find_element(By.ID, "download").click()
        WebDriverWait(browser, _WAIT).until(lambda b: (downloads / "object-colorized.png").exists()
                                         and not list(downloads.glob("*.crdownload")))
        out = np.asarray(Image.open(downloads / "object-colorized.png")).astype(float)
        assert out.shape == (96, 128, 3) and np.abs(out.mean(axis=2) - gray).max() <= 1.0
        assert np.abs(out - hinted).max() <= 1.0  # a photo this small is previewed at its own size


def test_browser_strokes_export_import_examples_drop_and_paste(local_steerable, tiny_model, tmp_path):
    """Drag for a stroke; export the hints (the CLI's JSON) and import them back, a bad file
    named in one line; open an example, a dropped and a pasted photo; switching to a queued
    method shows its own controls."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from chromaprior.core.hints import loads_hints, parse_hints

    _object_photo(tmp_path / "object.png")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    app = serve.create_app(models={"steerable": local_steerable, "jgm": tiny_model})
    with browser_on(app, downloads) as (browser, url):
        browser.get(url)
        WebDriverWait(browser, _WAIT).until(lambda b: b.execute_script("return document.body.dataset.ready") == "1")
        browser.find_element(By.ID, "file").send_keys(str(tmp_path / "object.png"))
        _shown(browser)
        marks = browser.find_element(By.ID, "marks")
        ActionChains(browser).move_to_element_with_offset(marks, -30, 0).click_and_hold().move_by_offset(20, 5) \
            .move_by_offset(20, 5).release().perform()
        _shown(browser)
        assert browser.find_element(By.CSS_SELECTOR, "#hintlist li").text.startswith("stroke of ")
        browser.find_element(By.ID, "export").click()
        WebDriverWait(browser, _WAIT).until(lambda b: (downloads / "object.hints.json").exists())
        exported = json.loads((downloads / "object.hints.json").read_text())
        assert len(exported) == 1 and isinstance(exported[0], list) and len(exported[0]) >= 2
        assert parse_hints(loads_hints(json.dumps(exported)), 128, 96)  # the CLI's format
        points = tmp_path / "two.json"
        points.write_text(json.dumps([{"x": 10, "y": 10, "rgb": [0, 0, 255], "radius": 3},
                                      {"x": 100, "y": 80, "rgb": [255, 255, 0]}]))
        browser.find_element(By.ID, "import").send_keys(str(points))
        WebDriverWait(browser, _WAIT).until(lambda b: b.find_element(By.ID, "nhints").text == "2 hints")
        _shown(browser)
        bad = tmp_path / "bad hints.json"
        bad.write_text(json.dumps([{"x": 500, "y": 1, "rgb": [1, 2, 3]}]))
        browser.find_element(By.ID, "import").send_keys(str(bad))
        WebDriverWait(browser, _WAIT).until(lambda b: b.find_element(By.ID, "err").text)
        err = browser.find_element(By.ID, "err").text
        assert err.startswith("error: bad hints.json: ") and "outside the 128x96" in err and "\n" not in err
        assert browser.find_element(By.ID, "nhints").text == "2 hints"  # kept
        browser.find_element(By.CSS_SELECTOR, "#examples img").click()
        WebDriverWait(browser, _WAIT).until(lambda b: ".jpg, " in b.find_element(By.ID, "photoname").text)
        assert browser.find_element(By.ID, "nhints").text == "no hints"
        _shown(browser)
        for event in ("drop", "paste"):
            browser.execute_script("""
                const dt = new DataTransfer(), a = new Uint8Array(atob(arguments[1]).split('').map(c => c.charCodeAt(0)));
                dt.items.add(new File([a], arguments[0] + '.png', {type: 'image/png'}));
                const e = arguments[0] === 'drop' ? new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})
                                                  : new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true});
                document.body.dispatchEvent(e);""", event, __import__("base64").b64encode(
                (tmp_path / "object.png").read_bytes()).decode())
            WebDriverWait(browser, _WAIT).until(lambda b: f"{event}.png, 128×96" in b.find_element(By.ID, "photoname").text)
            _shown(browser)
        browser.execute_script("const c = document.getElementById('compare'); c.value = 30; c.dispatchEvent(new Event('input'))")
        assert browser.execute_script("return document.getElementById('after').style.clipPath") == "inset(0px 0px 0px 30%)"
        assert browser.find_element(By.ID, "divider").is_displayed()  # the before/after line
        browser.find_element(By.ID, "fullsize").click()
        WebDriverWait(browser, _WAIT).until(lambda b: b.execute_script(
            "return document.getElementById('fullimg').naturalWidth") == 128)  # the full-size result, 1:1
        assert browser.find_element(By.ID, "full").is_displayed()
        ActionChains(browser).send_keys("\ue00c").perform()  # Escape closes it
        assert not browser.find_element(By.ID, "full").is_displayed()
        Select(browser.find_element(By.ID, "method")).select_by_value("jgm")
        shown = {i: browser.find_element(By.ID, i).is_displayed() for i in ("vivl", "presetl", "go", "download")}
        assert shown == {"vivl": False, "presetl": True, "go": True, "download": False}


def _save_screenshot(browser, path: Path) -> None:
    """A screenshot as a 256-colour PNG (under 300 KB)."""
    im = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    im.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


@pytest.mark.skipif(not os.environ.get("CHROMAPRIOR_SCREENSHOTS"),
                    reason="writes the docs' screenshots: CHROMAPRIOR_SCREENSHOTS=docs python -m pytest "
                           "tests/test_serve.py -k screenshots")
def test_screenshots_of_the_page_in_use():
    """docs/web-*.png: the shipped steerable colorizer on an example photo, hints placed by
    clicking (a suggested colour, a picked one) and by strokes, the suggestions beside a click,
    and the before/after slider."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait

    out, example = Path(os.environ["CHROMAPRIOR_SCREENSHOTS"]), "coffee"
    with browser_on(serve.create_app()) as (browser, url):
        browser.set_window_size(1180, 900)
        browser.get(url)
        WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.body.dataset.ready") == "1")
        browser.find_element("css selector", f"#examples img[alt='example: {example}']").click()
        _shown(browser)
        w = browser.execute_script("return S.photo.width")
        browser.execute_script("document.getElementById('radius').value = 9")

        def pick(x, y, colour=None, suggestion=0):
            _click_photo(browser, x, y, w)
            WebDriverWait(browser, 60).until(lambda b: b.find_element("id", "pop").get_attribute("data-ready") == "1")
            if colour is None:
                browser.find_elements("css selector", "#swatches button.swatch")[suggestion].click()
            else:
                browser.execute_script(f"document.getElementById('pick').value = '{colour}'")
                browser.find_element("id", "pickuse").click()
            _shown(browser)

        def stroke(x, y, moves, colour):
            browser.execute_script(f"document.getElementById('colour').value = '{colour}'")
            marks = browser.find_element("id", "marks")
            scale = marks.rect["width"] / w
            chain = ActionChains(browser).move_to_element_with_offset(
                marks, x * scale - marks.rect["width"] / 2, y * scale - marks.rect["height"] / 2).click_and_hold()
            for dx, dy in moves:
                chain = chain.move_by_offset(dx * scale, dy * scale)
            chain.release().perform()
            _shown(browser)

        if example == "coffee":  # the cup's saucer, the coffee, the table, the spoon
            stroke(60, 300, [(60, 10), (60, 5), (60, 0)], "#8a5a32")
            pick(250, 150, "#6b3a1e")
            pick(420, 40, suggestion=0)
            stroke(380, 300, [(40, -5), (40, -5)], "#8a5a32")
            pick(150, 60, "#2f5f8a")
        _click_photo(browser, 330, 240, w)
        WebDriverWait(browser, 60).until(lambda b: b.find_element("id", "pop").get_attribute("data-ready") == "1")
        _save_screenshot(browser, out / "web-suggest.png")
        browser.find_element("id", "popclose").click()
        _save_screenshot(browser, out / "web-hints.png")
        browser.find_element("id", "showmarks").click()  # the result itself, the hints not drawn
        browser.execute_script("const c = document.getElementById('compare'); c.value = 45;"
                               "c.dispatchEvent(new Event('input'))")
        _save_screenshot(browser, out / "web-slider.png")

    assert all((out / f"web-{n}.png").stat().st_size < 300_000 for n in ("suggest", "hints", "slider"))
