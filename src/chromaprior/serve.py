"""A small web page for colorization (``chromaprior serve``), built on FastAPI.

Upload a gray photo, pick the method, preset and colour temperature, click on the photo
to place colour hints, watch the progress and download the result. The server listens
on 127.0.0.1 unless told otherwise. Uploads are limited in bytes and pixels and decoded
with the same validation as the command line; each upload lives in its own temporary
folder, removed when the job ends, and results are kept in memory (the last
``MAX_JOBS``). One worker thread runs the jobs in order.
"""

from __future__ import annotations

import io
import json
import queue
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

try:  # the "web" extra
    from fastapi import FastAPI, File, Form, HTTPException, UploadFile
    from fastapi.responses import HTMLResponse, JSONResponse, Response
except ImportError:  # pragma: no cover - reported by create_app
    FastAPI = None

from .checkpoint import METHOD_MODELS, read_card, shipped_model
from .colorize import Colorizer
from .hints import parse_hints
from .io import InputError, read_image
from .sampling import PRESETS

__all__ = ["create_app", "MAX_UPLOAD_BYTES", "MAX_UPLOAD_PIXELS"]

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_PIXELS = 25_000_000
MAX_JOBS = 32


@dataclass
class Job:
    id: str
    state: str = "queued"  #: queued, running, done, failed
    done: int = 0
    total: int = 1
    error: str = ""
    png: bytes = b""
    params: dict = field(default_factory=dict)


class Worker:
    """Runs colorization jobs one at a time in a background thread."""

    def __init__(self, device: str = "cpu", models: dict[str, str | Path] | None = None):
        self.device = device
        if models is None:
            models = {m: shipped_model(f) for m, f in METHOD_MODELS.items() if shipped_model(f).exists()}
        self.models = dict(models)
        self.jobs: dict[str, Job] = {}
        self.queue: queue.Queue = queue.Queue()
        self.colorizers: dict[str, Colorizer] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def methods(self) -> list[str]:
        return list(self.models)

    def colorizer(self, method: str) -> Colorizer:
        if method not in self.colorizers:
            self.colorizers[method] = Colorizer(self.models[method], device=self.device)
        return self.colorizers[method]

    def submit(self, gray: torch.Tensor, alpha, params: dict) -> Job:
        job = Job(uuid.uuid4().hex, params=params)
        with self.lock:
            self.jobs[job.id] = job
            for old in list(self.jobs)[:-MAX_JOBS]:
                del self.jobs[old]
        self.queue.put((job, gray, alpha))
        return job

    def _run(self) -> None:
        while True:
            job, gray, alpha = self.queue.get()
            job.state = "running"
            try:
                p = job.params
                col = self.colorizer(p["method"])
                job.total = col.nfe(p["preset"])

                def tick(done: int, total: int) -> None:
                    job.done, job.total = done, total

                out = col(gray, preset=p["preset"], seed=p["seed"], temperature=p["temperature"], hints=p["hints"],
                          callback=tick)
                rgb = np.clip(np.rint(out[0].permute(1, 2, 0).cpu().numpy() * 255), 0, 255).astype(np.uint8)
                im = Image.fromarray(rgb)
                if alpha is not None:
                    im.putalpha(Image.fromarray(np.clip(np.rint(alpha * 255), 0, 255).astype(np.uint8)))
                buf = io.BytesIO()
                im.save(buf, format="PNG")
                job.png, job.state = buf.getvalue(), "done"
            except Exception as e:  # reported to the page as one line
                job.error, job.state = str(e).splitlines()[0] if str(e) else type(e).__name__, "failed"


def _decode_upload(data: bytes, filename: str, recolor: bool) -> tuple[torch.Tensor, np.ndarray | None]:
    """Validate an upload with the CLI's reader, inside a temporary folder; a colour photo is
    refused unless ``recolor`` (as ``chromaprior colorize``)."""
    suffix = Path(filename or "upload").suffix.lower()[:8] or ".img"
    with tempfile.TemporaryDirectory(prefix="chromaprior-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        pic = read_image(path, max_pixels=MAX_UPLOAD_PIXELS)
    if pic.has_colour and not recolor:
        raise InputError("the photo is already in colour (tick 'recolor' to discard its colour and colorize its gray)")
    if pic.is_color:
        y = torch.from_numpy(np.ascontiguousarray(pic.pixels)).permute(2, 0, 1)[None].mean(dim=1, keepdim=True)
    else:
        y = torch.from_numpy(np.ascontiguousarray(pic.pixels))[None, None]
    return y.float(), pic.alpha


def create_app(device: str = "cpu", models: dict[str, str | Path] | None = None):
    """The FastAPI application (``uvicorn`` serves it; tests use its TestClient).

    ``models``: method name -> model folder (default: the shipped colorizers)."""
    if FastAPI is None:
        raise ImportError("the web page needs FastAPI: pip install 'chromaprior[web]'")

    app = FastAPI(title="chromaprior", docs_url=None, redoc_url=None)
    worker = Worker(device, models)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        default = read_card(None).get("method")
        options = "".join(f'<option value="{m}"{" selected" if m == default else ""}>{m}</option>' for m in worker.methods())
        return PAGE.replace("{{methods}}", options).replace(
            "{{presets}}", "".join(f'<option value="{p}"{" selected" if p == "fast" else ""}>{p}</option>' for p in PRESETS)
        )

    @app.post("/api/colorize")
    async def colorize(
        image: UploadFile = File(...),
        method: str = Form("jgm"),
        preset: str = Form("fast"),
        temperature: float = Form(6500.0),
        seed: int = Form(0),
        hints: str = Form("[]"),
        recolor: bool = Form(False),
    ) -> JSONResponse:
        data = await image.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise HTTPException(413, f"upload larger than {MAX_UPLOAD_BYTES // 2**20} MB")
        if method not in worker.methods():
            raise HTTPException(400, f"unknown method {method!r}")
        if preset not in PRESETS:
            raise HTTPException(400, f"unknown preset {preset!r}")
        if not 1667 <= temperature <= 25000:
            raise HTTPException(400, "temperature must be in 1667..25000 K")
        try:
            gray, alpha = _decode_upload(data, image.filename or "", recolor)
            parsed = parse_hints(json.loads(hints), width=gray.shape[-1], height=gray.shape[-2], source="hints")
        except (InputError, ValueError) as e:
            raise HTTPException(400, str(e).replace(str(Path(tempfile.gettempdir())), "").splitlines()[0]) from None
        job = worker.submit(gray, alpha, {"method": method, "preset": preset, "temperature": temperature,
                                          "seed": seed, "hints": parsed})
        return JSONResponse({"job": job.id})

    @app.get("/api/jobs/{job_id}")
    def status(job_id: str) -> dict:
        job = worker.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "no such job")
        return {"state": job.state, "done": job.done, "total": job.total, "error": job.error}

    @app.get("/api/jobs/{job_id}/result.png")
    def result(job_id: str) -> Response:
        job = worker.jobs.get(job_id)
        if job is None or job.state != "done":
            raise HTTPException(404, "no result for this job")
        return Response(job.png, media_type="image/png",
                        headers={"Content-Disposition": 'attachment; filename="colorized.png"'})

    return app


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chromaprior</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1100px;color:#222}
fieldset{border:1px solid #ccc;margin-bottom:1em}label{margin-right:1em}
.pics{display:flex;gap:1em;flex-wrap:wrap}.pics div{flex:1;min-width:300px}
canvas,img{max-width:100%;border:1px solid #ddd}#err{color:#b00}
</style></head><body>
<h1>chromaprior</h1>
<fieldset><legend>Photo</legend>
<input type="file" id="file" accept="image/*">
<label>method <select id="method">{{methods}}</select></label>
<label>preset <select id="preset">{{presets}}</select></label>
<label>seed <input type="number" id="seed" value="0" style="width:5em"></label>
<label>temperature <input type="range" id="temp" min="2500" max="12000" step="100" value="6500">
<span id="tempv">6500</span> K</label>
<label><input type="checkbox" id="recolor"> recolor (accept a colour photo: its colour is discarded)</label>
</fieldset>
<fieldset><legend>Colour hints: click the photo</legend>
<label>colour <input type="color" id="hintcolor" value="#d04040"></label>
<label>radius <input type="number" id="radius" value="6" min="1" max="200" style="width:4em"> px</label>
<button id="clear" type="button">clear hints</button> <span id="nhints">0 hints</span>
</fieldset>
<button id="go" type="button" disabled>Colorize</button>
<progress id="prog" value="0" max="1" style="width:300px"></progress> <span id="status"></span>
<div id="err"></div>
<div class="pics"><div><h3>input</h3><canvas id="canvas"></canvas></div>
<div><h3>result</h3><img id="result" alt=""><p><a id="download" href="#" download="colorized.png" hidden>download</a></p></div></div>
<script>
const $ = id => document.getElementById(id);
let hints = [], img = null, file = null;
$("temp").oninput = () => $("tempv").textContent = $("temp").value;
function draw() {
  const c = $("canvas"), ctx = c.getContext("2d");
  if (!img) return;
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  ctx.drawImage(img, 0, 0);
  for (const h of hints) {
    ctx.beginPath(); ctx.arc(h.x, h.y, h.radius, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${h.rgb.join(",")})`; ctx.fill(); ctx.strokeStyle = "#fff"; ctx.stroke();
  }
  $("nhints").textContent = hints.length + " hints";
}
$("file").onchange = () => {
  file = $("file").files[0]; hints = [];
  if (!file) return;
  img = new Image();
  img.onload = () => { draw(); $("go").disabled = false; };
  img.src = URL.createObjectURL(file);
};
$("canvas").onclick = ev => {
  if (!img) return;
  const c = $("canvas"), r = c.getBoundingClientRect();
  const x = Math.floor((ev.clientX - r.left) * c.width / r.width), y = Math.floor((ev.clientY - r.top) * c.height / r.height);
  const hex = $("hintcolor").value;
  hints.push({x, y, radius: Number($("radius").value),
              rgb: [1, 3, 5].map(i => parseInt(hex.substr(i, 2), 16))});
  draw();
};
$("clear").onclick = () => { hints = []; draw(); };
$("go").onclick = async () => {
  $("err").textContent = ""; $("status").textContent = "uploading"; $("go").disabled = true;
  $("download").hidden = true;
  const form = new FormData();
  form.append("image", file); form.append("method", $("method").value); form.append("preset", $("preset").value);
  form.append("temperature", $("temp").value); form.append("seed", $("seed").value);
  form.append("hints", JSON.stringify(hints)); form.append("recolor", $("recolor").checked);
  try {
    const r = await fetch("api/colorize", {method: "POST", body: form});
    const body = await r.json();
    if (!r.ok) throw new Error(body.detail || r.statusText);
    while (true) {
      const s = await (await fetch(`api/jobs/${body.job}`)).json();
      $("prog").max = s.total; $("prog").value = s.done; $("status").textContent = `${s.state} ${s.done}/${s.total}`;
      if (s.state === "failed") throw new Error(s.error);
      if (s.state === "done") break;
      await new Promise(res => setTimeout(res, 250));
    }
    const url = `api/jobs/${body.job}/result.png`;
    $("result").src = url; $("download").href = url; $("download").hidden = false; $("status").textContent = "done";
  } catch (e) { $("err").textContent = "error: " + e.message; $("status").textContent = ""; }
  $("go").disabled = false;
};
</script></body></html>
"""
