"""A small web page for colorization (``chromaprior serve``), built on FastAPI.

Upload a gray photo, pick the method, preset and colour temperature, click on the photo
to place colour hints, watch the progress and download the result; a sampled method
(``jgm``) can draw several colourings (seeds seed..seed+N-1), shown as a gallery to
choose from, each downloadable. The server listens on 127.0.0.1 unless told otherwise.

What the server guarantees (README, *Web page*):

* Requests above ``MAX_REQUEST_BYTES`` are refused (413) from their ``Content-Length``,
  or as soon as that many bytes have arrived, before the body is spooled; uploads above
  ``MAX_UPLOAD_BYTES`` or ``MAX_UPLOAD_PIXELS`` and bad parameters or hints get a 400 that
  names the problem (and the user's file name, never a server path).
* Uploads are decoded (with the command line's validation) off the event loop, at most
  ``DECODERS`` at a time; a queued job holds its gray as 16-bit integers (2 bytes a pixel).
* At most ``MAX_QUEUED`` jobs and ``MAX_PIXELS_IN_FLIGHT`` pixels are waiting or running;
  beyond that a submission gets 503 with ``Retry-After`` and nothing is kept. Every job
  answered 200 is run to its end and can be polled until it is done or failed; only
  finished jobs are forgotten, oldest first, beyond ``MAX_FINISHED`` of them, once their
  result has been fetched (or their failure seen), or ``KEEP_SECONDS`` after they finished.
* Bound to a loopback address, only loopback ``Host`` names (localhost, 127.0.0.1,
  [::1]) and same-origin ``Origin`` headers are accepted (no cross-site posts, no DNS
  rebinding); on other addresses the same-origin check stays and a warning is printed.
"""

from __future__ import annotations

import ipaddress
import json
import math
import queue
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

try:  # the "web" extra
    from fastapi import FastAPI, File, Form, HTTPException, UploadFile
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import HTMLResponse, JSONResponse, Response
except ImportError:  # pragma: no cover - reported by create_app
    FastAPI = None

from . import api
from ..models.checkpoint import read_card
from ..core.color import KELVIN_RANGE
from ..methods.colorize import GRAY_WEIGHTS, Colorizer
from ..core.hints import MAX_HINT_BYTES, loads_hints, parse_hints
from ..core.io import IMAGE_SUFFIXES, InputError, Picture, encode_image, read_image
from ..models.registry import DEFAULT_METHOD, check_samples, colorize_methods, get_method, shipped_model
from ..methods.sampling import PRESETS
from ..core.errors import MissingExtra

__all__ = ["create_app", "is_loopback", "MAX_UPLOAD_BYTES", "MAX_UPLOAD_PIXELS", "MAX_QUEUED", "MAX_FINISHED",
           "MAX_WEB_SAMPLES"]

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: a whole request: the upload, the hints field and the other form fields
MAX_REQUEST_BYTES = MAX_UPLOAD_BYTES + MAX_HINT_BYTES + 64 * 1024
MAX_UPLOAD_PIXELS = 25_000_000
#: jobs waiting or running, and their pixels; beyond either a submission gets 503
MAX_QUEUED = 16
MAX_PIXELS_IN_FLIGHT = 100_000_000
#: finished (done or failed) jobs kept; beyond that the oldest are forgotten once their client
#: has its result (or failure), or KEEP_SECONDS after they finished
MAX_FINISHED = 32
KEEP_SECONDS = 600
#: uploads decoded at the same time (each needs a few float32 planes of its pixels)
DECODERS = 2
SEED_MAX = 2**63 - 1
#: colourings one job may ask for (a job of N samples counts N times its pixels in flight)
MAX_WEB_SAMPLES = 8
#: the gray operator of the page's colorizers (Colorizer's default): uploads are made gray with it
GRAY = GRAY_WEIGHTS["mean"]
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


class Busy(Exception):
    """The queue is full: answer 503 with ``Retry-After``."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Job:
    id: str
    state: str = "queued"  #: queued, running, done, failed
    done: int = 0
    total: int = 1
    error: str = ""
    png: bytes = b""  #: the result (sample 0 of several)
    pngs: list = field(default_factory=list)  #: every sample's PNG, in seed order
    fetched: set = field(default_factory=set)  #: the samples whose PNG was fetched
    params: dict = field(default_factory=dict)
    finished_at: float = 0.0
    delivered: bool = False  #: the result was fetched (or the failure reported)


class Worker:
    """Runs colorization jobs one at a time in a background thread, with a bounded queue."""

    def __init__(self, device: str = "cpu", models: dict[str, str | Path] | None = None, *,
                 max_queued: int = MAX_QUEUED, max_pixels: int = MAX_PIXELS_IN_FLIGHT,
                 max_finished: int = MAX_FINISHED):
        self.device = device
        if models is None:
            models = {m: shipped_model(m) for m in colorize_methods() if shipped_model(m).exists()}
        self.models = dict(models)
        self.jobs: dict[str, Job] = {}
        self.finished: list[str] = []
        self.queue: queue.Queue = queue.Queue()
        self.colorizers: dict[str, Colorizer] = {}
        self.lock = threading.Lock()
        self.max_queued, self.max_pixels, self.max_finished = max_queued, max_pixels, max_finished
        self.active = 0  #: jobs queued or running
        self.pixels = 0  #: their pixels
        self.seconds = 2.0  #: running mean of a job's duration (for Retry-After)
        threading.Thread(target=self._run, daemon=True).start()

    def methods(self) -> list[str]:
        return list(self.models)

    def colorizer(self, method: str) -> Colorizer:
        if method not in self.colorizers:
            self.colorizers[method] = Colorizer(self.models[method], device=self.device)
        return self.colorizers[method]

    def retry_after(self) -> int:
        return max(1, min(600, math.ceil(self.seconds * max(1, self.active) / 2)))

    def check(self, pixels: int = 0) -> None:
        """Raise :class:`Busy` when a job of ``pixels`` would not fit now."""
        if self.active >= self.max_queued:
            raise Busy(f"the server is busy ({self.active} jobs queued); try again later", self.retry_after())
        if self.active and self.pixels + pixels > self.max_pixels:
            raise Busy(f"the server is busy ({self.pixels / 1e6:.0f} MP queued); try again later", self.retry_after())

    @staticmethod
    def weight(gray: np.ndarray, params: dict) -> int:
        """The pixels a job counts in flight: its gray's, once per sample it draws."""
        return gray.size * int(params.get("samples", 1))

    def submit(self, gray: np.ndarray, alpha, params: dict) -> Job:
        """Queue a job (``gray``: ``(H, W)`` uint16; ``params`` may hold the upload's ``info`` and
        ``bits``, kept in the result, and ``samples``); raises :class:`Busy` when full."""
        job = Job(uuid.uuid4().hex, params=params)
        with self.lock:
            self.check(self.weight(gray, params))
            self.active += 1
            self.pixels += self.weight(gray, params)
            self.jobs[job.id] = job
        self.queue.put((job, gray, alpha))
        return job

    def _evict(self) -> None:
        """Forget the oldest finished jobs beyond ``max_finished`` whose client has its answer
        (or that finished ``KEEP_SECONDS`` ago); queued and running jobs never (call under lock)."""
        now = time.monotonic()
        while len(self.finished) > self.max_finished:
            old = next((j for j in self.finished
                        if self.jobs[j].delivered or now - self.jobs[j].finished_at > KEEP_SECONDS), None)
            if old is None:
                return
            self.finished.remove(old)
            del self.jobs[old]

    def deliver(self, job: Job, sample: int | None = None) -> None:
        """The client has the job's failure, or the result of ``sample`` (every sample's:
        the job may now be forgotten)."""
        with self.lock:
            if sample is not None:
                job.fetched.add(sample)
            job.delivered = sample is None or len(job.fetched) >= len(job.pngs)
            self._evict()

    def _finish(self, job: Job, pixels: int) -> None:
        with self.lock:
            self.active -= 1
            self.pixels -= pixels
            job.finished_at = time.monotonic()
            self.finished.append(job.id)
            self._evict()

    def _run(self) -> None:
        while True:
            job, gray16, alpha = self.queue.get()
            job.state = "running"
            start = time.monotonic()
            try:
                p = job.params
                samples = int(p.get("samples", 1))
                col = self.colorizer(p["method"])
                job.total = col.nfe(p["preset"]) * samples

                def tick(done: int, total: int) -> None:
                    job.done, job.total = done, total

                gray = api.to_tensor(gray16.astype(np.float32) / 65535)
                options = dict(preset=p["preset"], seed=p["seed"], temperature=p["temperature"], hints=p["hints"],
                               callback=tick)
                if p.get("vividness") is not None:
                    options["vividness"] = p["vividness"]
                # one colouring, or several drawn in batches (the library's rule: sampled methods only)
                if samples > 1:
                    outs = (out for _, out in col.samples(gray, samples, **options))
                else:
                    outs = iter([col(gray, **options)])
                for out in outs:
                    result = Picture(api.to_pixels(out), None if alpha is None else alpha.astype(np.float32) / 255,
                                     bits=p.get("bits", 8), info=p.get("info") or {})
                    del out
                    job.pngs.append(encode_image(result, ".png"))  # as the command line writes it
                del gray
                job.png, job.state = job.pngs[0], "done"
            except Exception as e:  # reported to the page as one line
                job.error, job.state = str(e).splitlines()[0] if str(e) else type(e).__name__, "failed"
            finally:
                self.seconds = 0.7 * self.seconds + 0.3 * (time.monotonic() - start)
                self._finish(job, self.weight(gray16, job.params))


def _display_name(filename: str) -> str:
    """The user's file name for messages: its last part, printable, at most 80 characters."""
    name = Path((filename or "upload").replace("\\", "/")).name or "upload"
    return "".join(c if c.isprintable() else "?" for c in name)[:80]


def _decode_upload(data: bytes, filename: str, recolor: bool, weights=GRAY) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Validate an upload with the CLI's reader, inside a temporary folder; its gray is taken
    by the command line's rule (:func:`chromaprior.apps.api.gray_of`: a colour photo is refused
    unless ``recolor``). Returns the gray as ``(H, W)`` uint16, the alpha as uint8 (or None)
    and what the result keeps of the upload (``info``: EXIF, dpi; ``bits``); errors name the
    user's file, not the temporary one."""
    suffix = Path(filename or "upload").suffix.lower()[:8] or ".img"
    name = _display_name(filename)
    with tempfile.TemporaryDirectory(prefix="chromaprior-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            pic = read_image(path, max_pixels=MAX_UPLOAD_PIXELS)
        except InputError as e:
            raise InputError(str(e).replace(str(path), name).replace("--max-pixels", "the server's limit")) from None
    y = api.gray_of(pic, weights, recolor=recolor, name=name,
                    advice="tick 'recolor' to discard its colour and colorize its gray")
    gray = np.rint(np.clip(y, 0, 1) * 65535).astype(np.uint16)
    alpha = None if pic.alpha is None else np.rint(np.clip(pic.alpha, 0, 1) * 255).astype(np.uint8)
    return gray, alpha, {"info": pic.info, "bits": pic.bits}


def is_loopback(host: str) -> bool:
    """True for a loopback listening address (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Guard:
    """ASGI middleware: request size limit before the body is read, and Host/Origin checks.

    ``Content-Length`` above ``limit`` gets 413 at once; a body that grows past ``limit``
    (chunked, or a lying length) is cut off with 413 as soon as it does. With ``loopback``,
    only requests to a loopback host name are accepted (DNS rebinding); any ``Origin``
    header must be the page's own (cross-site posts)."""

    def __init__(self, app, limit: int, loopback: bool):
        self.app, self.limit, self.loopback = app, limit, loopback

    @staticmethod
    async def _refuse(send, code: int, detail: str, headers: tuple = ()) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": code,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close"), *headers]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if self.loopback and hostname.lower() not in _LOOPBACK_HOSTS:
            return await self._refuse(send, 403, f"host {host!r} refused: this server answers to localhost only")
        origin = headers.get("origin")
        if origin is not None:
            o = urlsplit(origin)
            if o.scheme not in ("http", "https") or o.netloc.lower() != host.lower():
                return await self._refuse(send, 403, f"cross-origin request from {origin!r} refused")
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._refuse(send, 413, f"request larger than {self.limit // 2**20} MB")
        received, started = 0, False

        class TooLarge(Exception):
            pass

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise TooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except TooLarge:
            if not started:
                await self._refuse(send, 413, f"request larger than {self.limit // 2**20} MB")


def create_app(device: str = "cpu", models: dict[str, str | Path] | None = None, *, host: str = "127.0.0.1",
               max_queued: int = MAX_QUEUED, max_pixels_in_flight: int = MAX_PIXELS_IN_FLIGHT,
               max_finished: int = MAX_FINISHED):
    """The FastAPI application (``uvicorn`` serves it; tests use its TestClient).

    ``models``: method name -> model folder (default: the shipped colorizers). ``host``: the
    address it is served on; a loopback one enables the Host check (module docstring)."""
    if FastAPI is None:
        raise MissingExtra("the web page needs FastAPI: pip install 'chromaprior[web]'")

    app = FastAPI(title="chromaprior", docs_url=None, redoc_url=None)
    app.add_middleware(Guard, limit=MAX_REQUEST_BYTES, loopback=is_loopback(host))
    worker = Worker(device, models, max_queued=max_queued, max_pixels=max_pixels_in_flight, max_finished=max_finished)
    app.state.worker = worker
    decoders = threading.BoundedSemaphore(DECODERS)
    default_method = DEFAULT_METHOD if DEFAULT_METHOD in worker.methods() else worker.methods()[0]
    #: the methods that draw several colourings (the registry's rule, from each model's card)
    specs = {m: get_method(read_card(path).get("method", "jgm")) for m, path in worker.models.items()}
    sampled = [m for m, spec in specs.items() if spec.sampled]
    semantic = worker.models.get("semantic")
    vividness = read_card(semantic).get("net", {}).get("vividness", 0.5) if semantic else 0.5

    def busy(e: Busy) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=503, headers={"Retry-After": str(e.retry_after)})

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        options = "".join(f'<option value="{m}"{" selected" if m == default_method else ""}>{m}</option>'
                          for m in worker.methods())
        return PAGE.replace("{{methods}}", options).replace(
            "{{presets}}", "".join(f'<option value="{p}"{" selected" if p == "fast" else ""}>{p}</option>' for p in PRESETS)
        ).replace("{{vividness}}", f"{vividness:.2f}").replace("{{sampled}}", json.dumps(sampled)).replace(
            "{{max_samples}}", str(MAX_WEB_SAMPLES)).replace("{{accept}}", ",".join(("image/*", *IMAGE_SUFFIXES)))

    def prepare(data: bytes, filename: str, recolor: bool, hints: str):
        with decoders:  # bounded memory: a few uploads decoded at a time
            gray, alpha, meta = _decode_upload(data, filename, recolor)
        parsed = parse_hints(loads_hints(hints, "hints"), width=gray.shape[-1], height=gray.shape[-2], source="hints")
        return gray, alpha, parsed, meta

    @app.post("/api/colorize")
    async def colorize(
        image: UploadFile = File(...),
        method: str = Form(""),
        preset: str = Form("fast"),
        temperature: float = Form(6500.0),
        seed: int = Form(0),
        hints: str = Form("[]"),
        recolor: bool = Form(False),
        vividness: str = Form(""),
        samples: int = Form(1),
    ) -> JSONResponse:
        method = method or default_method
        if method not in worker.methods():
            raise HTTPException(400, f"unknown method {method!r}")
        if preset not in PRESETS:
            raise HTTPException(400, f"unknown preset {preset!r}")
        if not KELVIN_RANGE[0] <= temperature <= KELVIN_RANGE[1]:
            raise HTTPException(400, f"temperature must be in {KELVIN_RANGE[0]:.0f}..{KELVIN_RANGE[1]:.0f} K")
        if not 0 <= seed <= SEED_MAX:
            raise HTTPException(400, "seed must be in 0..2^63-1")
        try:
            vivid = float(vividness) if vividness.strip() else None
        except ValueError:
            raise HTTPException(400, "vividness must be in 0..1") from None
        if vivid is not None and not 0 <= vivid <= 1:
            raise HTTPException(400, "vividness must be in 0..1")
        if not 1 <= samples <= MAX_WEB_SAMPLES:
            raise HTTPException(400, f"samples must be in 1..{MAX_WEB_SAMPLES} on this page, got {samples}")
        try:  # the library's rule: several samples need a sampled method
            check_samples(samples, specs[method], seed)
        except InputError as e:
            raise HTTPException(400, str(e)) from None
        if len(hints) > MAX_HINT_BYTES:
            raise HTTPException(400, f"hints: more than {MAX_HINT_BYTES:,} bytes")
        try:
            worker.check()  # full already: refuse before reading and decoding
        except Busy as e:
            return busy(e)
        data = await image.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise HTTPException(413, f"upload larger than {MAX_UPLOAD_BYTES // 2**20} MB")
        try:  # decoding and hint densification are CPU work: off the event loop
            gray, alpha, parsed, meta = await run_in_threadpool(prepare, data, image.filename or "", recolor, hints)
        except (InputError, ValueError, RecursionError) as e:
            text = str(e) if isinstance(e, InputError) else f"hints: {str(e) or type(e).__name__}"
            raise HTTPException(400, text.replace(str(Path(tempfile.gettempdir())), "").splitlines()[0]) from None
        del data
        try:
            job = worker.submit(gray, alpha, {"method": method, "preset": preset, "temperature": temperature,
                                              "seed": seed, "samples": samples, "hints": parsed, **meta,
                                              "vividness": vivid if method == "semantic" else None})
        except Busy as e:
            return busy(e)
        return JSONResponse({"job": job.id})

    @app.get("/api/jobs/{job_id}")
    def status(job_id: str) -> dict:
        job = worker.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "no such job (or its result was fetched long ago)")
        seed, samples = job.params.get("seed", 0), int(job.params.get("samples", 1))
        answer = {"state": job.state, "done": job.done, "total": job.total, "error": job.error,
                  "samples": samples, "seeds": list(range(seed, seed + samples))}
        if job.state == "failed":
            worker.deliver(job)
        return answer

    @app.get("/api/jobs/{job_id}/result.png")
    def result(job_id: str) -> Response:
        job = worker.jobs.get(job_id)
        if job is None or job.state != "done":
            raise HTTPException(404, "no result for this job")
        worker.deliver(job, 0)
        return Response(job.png, media_type="image/png",
                        headers={"Content-Disposition": 'attachment; filename="colorized.png"'})

    @app.get("/api/jobs/{job_id}/samples/{index}.png")
    def sample_result(job_id: str, index: int) -> Response:
        """Sample ``index`` (0 .. samples - 1, seed ``seed + index``) of a job; the job is
        forgotten (beyond ``max_finished``) once every sample was fetched."""
        job = worker.jobs.get(job_id)
        if job is None or job.state != "done" or not 0 <= index < len(job.pngs):
            raise HTTPException(404, "no such sample for this job")
        worker.deliver(job, index)
        seed = job.params.get("seed", 0) + index
        return Response(job.pngs[index], media_type="image/png",
                        headers={"Content-Disposition": f'attachment; filename="colorized-s{seed}.png"'})

    return app


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chromaprior</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1100px;color:#222}
fieldset{border:1px solid #ccc;margin-bottom:1em}label{margin-right:1em}
.pics{display:flex;gap:1em;flex-wrap:wrap}.pics div{flex:1;min-width:300px}
canvas,img{max-width:100%;border:1px solid #ddd}#err{color:#b00}
#gallery{display:flex;gap:.5em;flex-wrap:wrap}#gallery figure{margin:0;text-align:center;font-size:90%}
#gallery img{width:160px;cursor:pointer}#gallery img.chosen{outline:3px solid #36c}
</style></head><body>
<h1>chromaprior</h1>
<fieldset><legend>Photo</legend>
<input type="file" id="file" accept="{{accept}}">
<label>method <select id="method">{{methods}}</select></label>
<label>preset <select id="preset">{{presets}}</select></label>
<label>seed <input type="number" id="seed" value="0" style="width:5em"></label>
<label id="samplesl" title="several colourings, seeds seed..seed+N-1">samples <input type="number" id="samples" value="1"
 min="1" max="{{max_samples}}" style="width:3em"></label>
<label>temperature <input type="range" id="temp" min="2500" max="12000" step="100" value="6500">
<span id="tempv">6500</span> K</label>
<label id="vivl">vividness <input type="range" id="viv" min="0" max="1" step="0.05" value="{{vividness}}">
<span id="vivv">{{vividness}}</span></label>
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
<div id="galleryl" hidden><h3>samples: click one to choose it</h3><div id="gallery"></div></div>
<script>
const $ = id => document.getElementById(id);
let hints = [], img = null, file = null;
$("temp").oninput = () => $("tempv").textContent = $("temp").value;
$("viv").oninput = () => $("vivv").textContent = $("viv").value;
const SAMPLED = {{sampled}};
const showViv = () => { $("vivl").hidden = $("method").value !== "semantic";
                        $("samplesl").hidden = !SAMPLED.includes($("method").value); };
$("method").onchange = showViv; showViv();
function choose(url, name, thumb) {
  $("result").src = url; $("download").href = url; $("download").download = name; $("download").hidden = false;
  for (const t of document.querySelectorAll("#gallery img")) t.classList.toggle("chosen", t === thumb);
}
function gallery(job, seeds) {
  const g = $("gallery"); g.replaceChildren();
  seeds.forEach((seed, k) => {
    const url = `api/jobs/${job}/samples/${k}.png`, name = `colorized-s${seed}.png`;
    const fig = document.createElement("figure"), im = document.createElement("img"), a = document.createElement("a");
    im.src = url; im.alt = `seed ${seed}`; im.onclick = () => choose(url, name, im);
    a.href = url; a.download = name; a.textContent = `seed ${seed}: download`;
    fig.append(im, document.createElement("br"), a); g.append(fig);
    if (k === 0) im.classList.add("chosen");
  });
  $("galleryl").hidden = seeds.length < 2;
}
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
  $("download").hidden = true; $("galleryl").hidden = true;
  const form = new FormData();
  form.append("image", file); form.append("method", $("method").value); form.append("preset", $("preset").value);
  form.append("temperature", $("temp").value); form.append("seed", $("seed").value);
  if ($("method").value === "semantic") form.append("vividness", $("viv").value);
  if (!$("samplesl").hidden) form.append("samples", $("samples").value);
  form.append("hints", JSON.stringify(hints)); form.append("recolor", $("recolor").checked);
  try {
    const r = await fetch("api/colorize", {method: "POST", body: form});
    const body = await r.json().catch(() => ({}));
    if (r.status === 503) throw new Error(`${body.detail || "server busy"} (retry in ${r.headers.get("Retry-After") || "a few"} s)`);
    if (!r.ok) throw new Error(body.detail || r.statusText);
    let s = {};
    while (true) {
      const rs = await fetch(`api/jobs/${body.job}`);
      s = await rs.json().catch(() => ({}));
      if (!rs.ok) throw new Error(s.detail || rs.statusText);
      $("prog").max = s.total; $("prog").value = s.done; $("status").textContent = `${s.state} ${s.done}/${s.total}`;
      if (s.state === "failed") throw new Error(s.error);
      if (s.state === "done") break;
      await new Promise(res => setTimeout(res, 250));
    }
    if ((s.samples || 1) > 1) {
      gallery(body.job, s.seeds); choose(`api/jobs/${body.job}/samples/0.png`, `colorized-s${s.seeds[0]}.png`,
                                         document.querySelector("#gallery img"));
    } else {
      choose(`api/jobs/${body.job}/result.png`, "colorized.png", null);
    }
    $("status").textContent = "done";
  } catch (e) { $("err").textContent = "error: " + e.message; $("status").textContent = ""; }
  $("go").disabled = false;
};
</script></body></html>
"""
