"""The web page: its API through FastAPI's TestClient, and a real upload in headless Chromium."""

import asyncio
import io
import json
import socket
import threading
import time

import numpy as np
import pytest
from PIL import Image

from helpers import browser_on, synthetic_rgb

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from chromaprior.apps import web as serve  # noqa: E402


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


def test_page_lists_methods_and_presets(client):
    html = client.get("/").text
    assert '<option value="jgm"' in html and '<option value="fast" selected>' in html
    from chromaprior.core.io import IMAGE_SUFFIXES

    assert f'accept="image/*,{",".join(IMAGE_SUFFIXES)}"' in html and ".npy" in IMAGE_SUFFIXES  # the io table


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
    """Headless Chromium: choose a file, click a hint, colorize, see the result image."""
    gray = tmp_path / "gray.png"
    Image.fromarray(synthetic_rgb(48, 64).mean(axis=2).astype(np.uint8)).save(gray)
    with browser_on(serve.create_app(models={"jgm": tiny_model})) as (browser, url):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        browser.get(url)
        browser.find_element(By.ID, "file").send_keys(str(gray))
        WebDriverWait(browser, 20).until(lambda b: b.find_element(By.ID, "go").is_enabled())
        browser.find_element(By.ID, "preset").send_keys("preview")
        browser.find_element(By.ID, "canvas").click()  # a hint in the middle of the photo
        assert browser.find_element(By.ID, "nhints").text == "1 hints"
        browser.find_element(By.ID, "go").click()
        WebDriverWait(browser, 60).until(lambda b: b.find_element(By.ID, "status").text == "done"
                                         or b.find_element(By.ID, "err").text)
        assert browser.find_element(By.ID, "err").text == ""
        size = browser.execute_script("const i = document.getElementById('result');"
                                      "return i.complete ? [i.naturalWidth, i.naturalHeight] : null;")
        WebDriverWait(browser, 20).until(lambda b: b.execute_script(
            "return document.getElementById('result').naturalWidth") > 0)
        size = browser.execute_script("const i = document.getElementById('result'); return [i.naturalWidth, i.naturalHeight];")
        assert size == [64, 48]
        assert browser.find_element(By.ID, "download").is_displayed()


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
    public = TestClient(serve.create_app(models={"jgm": tiny_model}, host="0.0.0.0"), base_url="http://192.168.1.5:8000")
    assert public.get("/").status_code == 200
    assert public.get("/", headers={"Origin": "http://evil.example"}).status_code == 403


def test_api_default_method_is_the_page_and_cli_default(tiny_model, tiny_unet_model, tiny_semantic_model):
    """The API, the page and the CLI default to the same colorizer."""
    from chromaprior.models.checkpoint import read_card
    from chromaprior.models.registry import resolve_model_path

    default = read_card(resolve_model_path(None))["method"]
    models = {"jgm": tiny_model, "unet": tiny_unet_model, "cgan": tiny_unet_model, "semantic": tiny_semantic_model}
    app = serve.create_app(models=models)
    c = TestClient(app, base_url="http://127.0.0.1:8000")
    assert f'<option value="{default}" selected>' in c.get("/").text
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
    html = client.get("/").text
    assert 'id="viv"' in html and '<option value="semantic"' in html
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
