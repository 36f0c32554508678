"""The web page: its API through FastAPI's TestClient, and a real upload in headless Chromium."""

import io
import json
import shutil
import socket
import threading
import time

import numpy as np
import pytest
from PIL import Image

from helpers import synthetic_rgb

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from chromaprior import serve  # noqa: E402


@pytest.fixture
def client(tiny_model):
    return TestClient(serve.create_app(models={"jgm": tiny_model}))


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
    assert '<option value="jgm">' in html and '<option value="fast" selected>' in html


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
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.fail("headless Chromium is needed (Debian: apt-get install chromium chromium-driver; .ci/run does it)")
    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(serve.create_app(models={"jgm": tiny_model}), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    gray = tmp_path / "gray.png"
    Image.fromarray(synthetic_rgb(48, 64).mean(axis=2).astype(np.uint8)).save(gray)
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    browser = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=opts)
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        browser.get(f"http://127.0.0.1:{port}/")
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
    finally:
        browser.quit()
        server.should_exit = True
        thread.join(timeout=10)
