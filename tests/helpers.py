"""Test helpers: synthetic images, ICC profiles, a command's clean failure, a tiny FID network."""

import contextlib
import struct

import numpy as np
import torch


def synthetic_rgb(h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    """A smooth colourful test image, uint8 (H, W, 3)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    phase = rng.uniform(0, 2 * np.pi, 3)
    img = np.stack([0.5 + 0.4 * np.sin(5 * xx + 3 * yy + p) for p in phase], axis=-1)
    return (img * 255).astype(np.uint8)


def icc_profile(space: str, gamma: float) -> bytes:
    """A minimal ICC v2 display profile: ``space`` "GRAY" (kTRC) or "RGB" (sRGB primaries,
    D50-adapted, and one gamma curve per channel), so that tests need no profile files."""
    def s15(x):
        return struct.pack(">i", round(x * 65536))

    def xyz(x, y, z):
        return b"XYZ " + bytes(4) + s15(x) + s15(y) + s15(z)

    text = f"test {space} gamma {gamma}".encode() + b"\0"
    tags = [(b"desc", b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(78)),
            (b"wtpt", xyz(0.9642, 1.0, 0.8249))]
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256))
    if space == "GRAY":
        tags.append((b"kTRC", curve))
    else:
        tags += [(b"rXYZ", xyz(0.4361, 0.2225, 0.0139)), (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
                 (b"bXYZ", xyz(0.1431, 0.0606, 0.7141))] + [(t, curve) for t in (b"rTRC", b"gTRC", b"bTRC")]
    table, data, start = struct.pack(">I", len(tags)), b"", 128 + 4 + 12 * len(tags)
    for sig, body in tags:
        data += bytes(-(start + len(data)) % 4)
        table += sig + struct.pack(">II", start + len(data), len(body))
        data += body
    header = (struct.pack(">I", start + len(data)) + b"none" + struct.pack(">I", 0x02100000) + b"mntr"
              + (b"GRAY" if space == "GRAY" else b"RGB ") + b"XYZ " + bytes(12) + b"acsp" + bytes(28)
              + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(48))
    assert len(header) == 128
    return header + table + data


def one_line_error(result, lines: int = 1) -> None:
    """A command's clean failure (``click.testing.Result`` of the ``cli`` fixture, or a
    ``subprocess.CompletedProcess``): a non-zero exit with ``lines`` error lines on stderr
    (a batch adds its summary), no traceback, and no bug's exception."""
    code = result.returncode if hasattr(result, "returncode") else result.exit_code
    assert code != 0
    if hasattr(result, "exception") and result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "chromaprior: error:" in line]
    assert len(errors) == lines, result.stderr


class TinyFeatures(torch.nn.Module):
    """A stand-in FID feature network: ``(B, 3, H, W)`` in ``[0, 1]`` -> ``(B, 8)``."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return torch.nn.functional.adaptive_avg_pool2d(torch.relu(self.conv(x)), 1).flatten(1)


def export_tiny_features(path) -> None:
    """Save a seeded :class:`TinyFeatures` as a ``torch.export`` program (``--fid-weights``)."""
    torch.manual_seed(0)
    dims = {0: torch.export.Dim("batch", min=1), 2: torch.export.Dim("h", min=8), 3: torch.export.Dim("w", min=8)}
    program = torch.export.export(TinyFeatures(), (torch.rand(2, 3, 16, 16),), dynamic_shapes={"x": dims})
    torch.export.save(program, str(path))


@contextlib.contextmanager
def browser_on(app, downloads=None):
    """Serve ``app`` with uvicorn on a free local port and yield ``(browser, url)``: a headless
    Chromium (selenium) pointed at nothing yet, saving downloads into the folder ``downloads``
    (if given). Skips without Chromium, fails under ``CI=true`` (``.ci/run`` installs it); the
    browser and the server are stopped afterwards."""
    import os
    import shutil
    import socket
    import threading
    import time

    import pytest

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        message = "headless Chromium is needed (Debian: apt-get install chromium chromium-driver; .ci/run does it)"
        if os.environ.get("CI") == "true":  # .ci/run installs it: there the test must run
            pytest.fail(message)
        pytest.skip(message + "; set CI=true to make its absence a failure")
    import uvicorn
    from selenium import webdriver

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    if downloads is not None:
        opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                               "download.prompt_for_download": False})
    browser = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=opts)
    if downloads is not None:
        browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        yield browser, f"http://127.0.0.1:{port}/"
    finally:
        browser.quit()
        server.should_exit = True
        thread.join(timeout=10)


def save_steerable(folder, net) -> str:
    """Save a steerable colorizer built in a test (its hint weights set by the caller) as a model
    folder with a small working size; returns the folder."""
    from chromaprior.models.checkpoint import save_model

    save_model(folder, net, net.state_dict(), {"method": "steerable", "task": "colorize", "lift": None,
                                               "work_size": 64, "training": {"size": 64}})
    return str(folder)
