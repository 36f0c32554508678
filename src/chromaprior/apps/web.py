"""A small web page for colorization (``chromaprior serve``), built on FastAPI.

The page is built around steering the colour with hints (the steerable colorizer,
:mod:`chromaprior.steer`): open a photo (file picker, drag and drop, paste, or one of the
example photos shipped in ``chromaprior/web/examples``), click on it and pick one of the
colours suggested for that spot (or any colour), drag for strokes; a 512-px preview
follows every edit, hints can be undone, redone, deleted one by one, exported and imported
as the command line's hints JSON, and the full-size result is downloaded with the input's
metadata. The other methods run as queued jobs (``POST /api/colorize``): a sampled method
(``jgm``) can draw several colourings (seeds seed..seed+N-1), shown as a gallery. The page
itself is package data (``chromaprior/web``: index.html, app.js, style.css), served as static
files. The server listens on 127.0.0.1 unless told otherwise.

Endpoints: ``GET /`` (the page), ``/static/...`` (its files and the examples),
``GET /api/config`` (methods and what each takes), ``POST /api/photos`` (an upload -> a
session: id and size), ``GET /api/photos/{id}/gray.png``, ``POST /api/photos/{id}/hints``
(check hints), ``.../preview``, ``.../suggest`` and ``.../download`` (the body is the hints
JSON; parameters in the query), ``POST /api/colorize`` and ``/api/jobs/...`` (jobs).

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
* At most ``MAX_SESSIONS`` uploaded photos and ``MAX_SESSION_PIXELS`` of their pixels are
  kept for steering (each holds its gray as float32 and the encoder features of its working
  size); beyond either the least recently used are forgotten (their id then answers 404).
  At most ``STEERERS`` previews, suggestions or full-size results are computed at a time.
* Bound to a loopback address, only loopback ``Host`` names (localhost, 127.0.0.1,
  [::1]) and same-origin ``Origin`` headers are accepted (no cross-site posts, no DNS
  rebinding); on other addresses the same-origin check stays and a warning is printed.
"""

from __future__ import annotations

import io
import ipaddress
import json
import math
import queue
import re
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import quote, urlsplit

import numpy as np
import torch
import torch.nn.functional as F

try:  # the "web" extra
    from fastapi import APIRouter, FastAPI, File, Form, HTTPException, Request, UploadFile
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
except ImportError:  # pragma: no cover - reported by create_app
    FastAPI = UploadFile = Request = None

    def File(*args, **kwargs):  # noqa: N802 - the routes' defaults, never called without FastAPI
        return None

    Form = File

from . import api
from ..models.checkpoint import read_card
from ..core.color import KELVIN_RANGE
from ..methods.colorize import GRAY_WEIGHTS, Colorizer
from ..core.hints import MAX_HINT_BYTES, Hint, loads_hints, parse_hints
from ..core.io import IMAGE_SUFFIXES, InputError, Picture, encode_image, read_image
from ..models.registry import DEFAULT_METHOD, Method, check_samples, colorize_methods, get_method, shipped_model
from ..methods.sampling import PRESETS
from ..core.errors import MissingExtra

__all__ = ["create_app", "is_loopback", "MAX_UPLOAD_BYTES", "MAX_UPLOAD_PIXELS", "MAX_QUEUED", "MAX_FINISHED",
           "MAX_WEB_SAMPLES", "MAX_SESSIONS", "MAX_SESSION_PIXELS", "PREVIEW_SIDE", "WEB"]

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
#: photos kept for steering, and their pixels (each: 4 bytes a pixel of gray plus the features)
MAX_SESSIONS = 8
MAX_SESSION_PIXELS = 60_000_000
#: the long side of the live preview (smaller photos are previewed at their own size)
PREVIEW_SIDE = 512
#: previews, suggestions and full-size results computed at the same time
STEERERS = 2
#: the page's files (package data): index.html, app.js, style.css, examples/*.jpg
WEB = Path(str(resources.files("chromaprior") / "web"))


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
        self.loading = threading.Lock()
        self.max_queued, self.max_pixels, self.max_finished = max_queued, max_pixels, max_finished
        self.active = 0  #: jobs queued or running
        self.pixels = 0  #: their pixels
        self.seconds = 2.0  #: running mean of a job's duration (for Retry-After)
        threading.Thread(target=self._run, daemon=True).start()

    def methods(self) -> list[str]:
        return list(self.models)

    def colorizer(self, method: str) -> Colorizer:
        with self.loading:  # the job thread and the steering threads share one colorizer per method
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



# --------------------------------------------------------------------------- steering sessions
@dataclass
class Session:
    """One uploaded photo kept for steering: its preview gray, what the result keeps of the
    upload, and (with a steerable colorizer) the :class:`~chromaprior.steer.SteeredPhoto`
    whose encoder features were computed once, at the upload."""

    id: str
    name: str  #: the user's file name (for messages and downloads)
    width: int
    height: int
    preview: torch.Tensor  #: ``(1, 1, h, w)`` gray, the long side at most PREVIEW_SIDE
    gray_png: bytes  #: that gray as an 8-bit PNG (the page's "before")
    alpha: np.ndarray | None  #: uint8, or None
    meta: dict  #: info (EXIF, dpi) and bits, kept in the download
    photo: object | None = None  #: the SteeredPhoto (None when no steerable colorizer is served)

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def answer(self) -> dict:
        h, w = self.preview.shape[-2:]
        return {"id": self.id, "name": self.name, "width": self.width, "height": self.height,
                "preview": [int(w), int(h)], "steerable": self.photo is not None}


class Sessions:
    """The photos kept for steering, least recently used first: at most ``max_sessions`` of
    them and ``max_pixels`` of their pixels; adding one forgets the oldest beyond either."""

    def __init__(self, max_sessions: int = MAX_SESSIONS, max_pixels: int = MAX_SESSION_PIXELS):
        self.max_sessions, self.max_pixels = max_sessions, max_pixels
        self.items: OrderedDict[str, Session] = OrderedDict()
        self.lock = threading.Lock()

    def pixels(self) -> int:
        return sum(s.pixels for s in self.items.values())

    def add(self, session: Session) -> None:
        with self.lock:
            self.items[session.id] = session
            while len(self.items) > 1 and (len(self.items) > self.max_sessions or self.pixels() > self.max_pixels):
                self.items.popitem(last=False)

    def get(self, session_id: str) -> Session:
        with self.lock:
            session = self.items.get(session_id)
            if session is None:
                raise HTTPException(404, "no such photo on the server (forgotten for newer uploads?): open it again")
            self.items.move_to_end(session_id)
            return session


@dataclass
class _Server:
    """What the routes share (``app.state.server``)."""

    worker: Worker
    sessions: Sessions
    specs: dict[str, Method]  #: method -> its registry spec (from each model's card)
    cards: dict[str, dict]
    default_method: str  #: the API's default: the command line's
    steer: str | None  #: the steerable method served, if any
    decoders: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(DECODERS))
    steerers: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(STEERERS))

    def page_method(self) -> str:
        """The method the page opens on: the steerable colorizer when served (without hints it
        is the semantic colorizer exactly), else the command line's default."""
        return self.steer or self.default_method


def _server(request: "Request") -> _Server:
    return request.app.state.server


def _one_line(e: Exception, prefix: str = "") -> str:
    text = str(e) or type(e).__name__
    return (prefix + text).replace(str(Path(tempfile.gettempdir())), "").splitlines()[0]


def _check_temperature(temperature: float) -> None:
    if not KELVIN_RANGE[0] <= temperature <= KELVIN_RANGE[1]:
        raise HTTPException(400, f"temperature must be in {KELVIN_RANGE[0]:.0f}..{KELVIN_RANGE[1]:.0f} K")


def _vividness(text: str) -> float | None:
    """A vividness field: empty (the model's default) or a number in 0..1."""
    try:
        vivid = float(text) if text.strip() else None
    except ValueError:
        raise HTTPException(400, "vividness must be in 0..1") from None
    if vivid is not None and not 0 <= vivid <= 1:
        raise HTTPException(400, "vividness must be in 0..1")
    return vivid


def _png(rgb: torch.Tensor) -> bytes:
    """``(1, C, h, w)`` in ``[0, 1]`` -> an 8-bit PNG (the preview: fast, no metadata)."""
    a = np.rint(np.clip(api.to_pixels(rgb), 0, 1) * 255).astype(np.uint8)
    buf = io.BytesIO()
    from PIL import Image

    Image.fromarray(a).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _preview_size(height: int, width: int) -> tuple[int, int]:
    scale = min(1.0, PREVIEW_SIDE / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _open_photo(srv: _Server, data: bytes, filename: str, recolor: bool) -> Session:
    """Decode an upload (the CLI's validation) and prepare it for steering (the encoder, once)."""
    with srv.decoders:
        gray16, alpha, meta = _decode_upload(data, filename, recolor)
    gray = api.to_tensor(gray16.astype(np.float32) / 65535)
    del gray16
    height, width = gray.shape[-2:]
    preview = F.interpolate(gray, size=_preview_size(height, width), mode="bilinear", antialias=True,
                            align_corners=False).clamp(0, 1)
    photo = None
    if srv.steer is not None:
        with srv.steerers:
            photo = srv.worker.colorizer(srv.steer).prepare(gray)
    return Session(uuid.uuid4().hex, _display_name(filename), width, height, preview, _png(preview), alpha, meta, photo)


async def _hints_of(request: "Request", session: Session) -> list[Hint]:
    """The request's body, the hints JSON of the command line, checked for this photo
    (size, nesting, points, coordinates; off the event loop) -> parsed hints."""
    body = await request.body()
    if len(body) > MAX_HINT_BYTES:
        raise HTTPException(400, f"hints: more than {MAX_HINT_BYTES:,} bytes")

    def parse():
        return parse_hints(loads_hints(body or b"[]", "hints"), width=session.width, height=session.height,
                           source="hints")

    try:
        return await run_in_threadpool(parse)
    except (InputError, ValueError, RecursionError) as e:
        raise HTTPException(400, _one_line(e, "" if isinstance(e, InputError) else "hints: ")) from None


async def _steered(request: "Request", session_id: str, temperature: float = 6500.0, vividness: str = ""):
    """The session, its checked hints and the colouring options of a steering request."""
    srv = _server(request)
    session = srv.sessions.get(session_id)
    if session.photo is None:
        raise HTTPException(400, "this server has no steerable colorizer (its weights are missing): "
                                 "use Colorize with another method")
    _check_temperature(temperature)
    options = {"vividness": _vividness(vividness), "temperature": temperature}
    return srv, session, await _hints_of(request, session), options


async def _steer(srv: _Server, session: Session, work, *args):
    """Run ``work(*args)`` in a thread, at most STEERERS at a time; one-line 400 on bad input."""
    def run():
        with srv.steerers:
            return work(*args)

    try:
        return await run_in_threadpool(run)
    except InputError as e:
        raise HTTPException(400, _one_line(e, f"{session.name}: ")) from None


def _attachment(name: str) -> dict:
    stem = Path(name).stem or "photo"
    ascii_stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:60] or "photo"
    return {"Content-Disposition": f"attachment; filename=\"{ascii_stem}-colorized.png\"; "
                                   f"filename*=UTF-8''{quote(stem[:60])}-colorized.png"}


def _full_size(session: Session, hints: list[Hint], options: dict) -> bytes:
    """The full-size result as the command line writes it: alpha, EXIF, dpi and bit depth kept."""
    out = session.photo.colorize(hints, **options)
    alpha = None if session.alpha is None else session.alpha.astype(np.float32) / 255
    result = Picture(api.to_pixels(out), alpha, bits=session.meta.get("bits", 8), info=session.meta.get("info") or {})
    del out
    return encode_image(result, ".png")


router = APIRouter() if FastAPI is not None else None


def _route(method: str, path: str, **kwargs):
    """``@router.get/post(path)``, or nothing without FastAPI (create_app reports it)."""
    return getattr(router, method)(path, **kwargs) if router is not None else (lambda f: f)


@_route("get", "/")
def page() -> Response:
    return Response((WEB / "index.html").read_bytes(), media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-cache"})


@_route("get", "/api/config")
def config(request: Request) -> dict:
    """What the page shows: the methods served and which controls act on each (from the
    registry: ``sampled``, ``vividness``, ``steerable``), presets, limits, the examples."""
    srv = _server(request)
    methods = [{"name": m, "summary": spec.summary, "sampled": spec.sampled, "vividness": spec.vividness,
                "steerable": spec.steerable and m == srv.steer,
                "default_vividness": float(srv.cards[m].get("net", {}).get("vividness", 0.5))}
               for m, spec in srv.specs.items()]
    examples = sorted(p.name for p in (WEB / "examples").glob("*.jpg"))
    return {"methods": methods, "method": srv.page_method(), "api_default": srv.default_method,
            "presets": list(PRESETS), "preset": "fast", "max_samples": MAX_WEB_SAMPLES,
            "accept": ",".join(("image/*", *IMAGE_SUFFIXES)), "kelvin": list(KELVIN_RANGE),
            "max_upload_mb": MAX_UPLOAD_BYTES // 2**20, "preview_side": PREVIEW_SIDE,
            "examples": [f"static/examples/{name}" for name in examples]}


async def _read_upload(image: UploadFile) -> bytes:
    data = await image.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"upload larger than {MAX_UPLOAD_BYTES // 2**20} MB")
    return data


@_route("post", "/api/photos")
async def open_photo(request: Request, image: UploadFile = File(...), recolor: bool = Form(False)) -> dict:
    """An upload -> a session (its id, size and preview size); with a steerable colorizer
    the encoder runs here, once per photo."""
    srv = _server(request)
    data = await _read_upload(image)
    try:
        session = await run_in_threadpool(_open_photo, srv, data, image.filename or "", recolor)
    except InputError as e:
        raise HTTPException(400, _one_line(e)) from None
    del data
    srv.sessions.add(session)
    return session.answer()


@_route("get", "/api/photos/{session_id}/gray.png")
def photo_gray(request: Request, session_id: str) -> Response:
    return Response(_server(request).sessions.get(session_id).gray_png, media_type="image/png")


@_route("post", "/api/photos/{session_id}/hints")
async def check_hints(request: Request, session_id: str) -> dict:
    """Check hints (the body) for this photo: their items and points once strokes are joined."""
    hints = await _hints_of(request, _server(request).sessions.get(session_id))
    return {"points": len(hints)}


@_route("post", "/api/photos/{session_id}/preview")
async def preview(request: Request, session_id: str, temperature: float = 6500.0, vividness: str = "") -> Response:
    """The colouring with the body's hints at PREVIEW_SIDE px (the features kept: decoder and finishing only)."""
    srv, session, hints, options = await _steered(request, session_id, temperature, vividness)
    out = await _steer(srv, session, lambda: _png(session.photo.colorize(hints, gray=session.preview, **options)))
    return Response(out, media_type="image/png", headers={"Cache-Control": "no-store"})


@_route("post", "/api/photos/{session_id}/suggest")
async def suggest(request: Request, session_id: str, x: float, y: float, top: int = 6) -> list:
    """The likely colours of the spot (x, y) (photo pixels), given the body's hints."""
    srv, session, hints, _ = await _steered(request, session_id)
    return await _steer(srv, session, session.photo.suggest, x, y, top, hints)


@_route("post", "/api/photos/{session_id}/download")
async def download(request: Request, session_id: str, temperature: float = 6500.0, vividness: str = "") -> Response:
    """The full-size result with the body's hints, with the input's alpha, EXIF, dpi and bit depth."""
    srv, session, hints, options = await _steered(request, session_id, temperature, vividness)
    png = await _steer(srv, session, _full_size, session, hints, options)
    return Response(png, media_type="image/png", headers=_attachment(session.name))


# ------------------------------------------------------------------------------------ jobs
def _prepare_job(srv: _Server, data: bytes, filename: str, recolor: bool, hints: str):
    with srv.decoders:  # bounded memory: a few uploads decoded at a time
        gray, alpha, meta = _decode_upload(data, filename, recolor)
    parsed = parse_hints(loads_hints(hints, "hints"), width=gray.shape[-1], height=gray.shape[-2], source="hints")
    return gray, alpha, parsed, meta


def _busy(e: Busy) -> JSONResponse:
    return JSONResponse({"detail": str(e)}, status_code=503, headers={"Retry-After": str(e.retry_after)})


def _check_job(srv: _Server, method: str, preset: str, temperature: float, seed: int, samples: int,
               hints: str) -> None:
    if method not in srv.worker.methods():
        raise HTTPException(400, f"unknown method {method!r}")
    if preset not in PRESETS:
        raise HTTPException(400, f"unknown preset {preset!r}")
    _check_temperature(temperature)
    if not 0 <= seed <= SEED_MAX:
        raise HTTPException(400, "seed must be in 0..2^63-1")
    if not 1 <= samples <= MAX_WEB_SAMPLES:
        raise HTTPException(400, f"samples must be in 1..{MAX_WEB_SAMPLES} on this page, got {samples}")
    try:  # the library's rule: several samples need a sampled method
        check_samples(samples, srv.specs[method], seed)
    except InputError as e:
        raise HTTPException(400, str(e)) from None
    if len(hints) > MAX_HINT_BYTES:
        raise HTTPException(400, f"hints: more than {MAX_HINT_BYTES:,} bytes")


@_route("post", "/api/colorize")
async def colorize(
    request: Request,
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
    """A colorization job (any method): answered with its id, or 503 when the queue is full."""
    srv = _server(request)
    method = method or srv.default_method
    _check_job(srv, method, preset, temperature, seed, samples, hints)
    vivid = _vividness(vividness)
    try:
        srv.worker.check()  # full already: refuse before reading and decoding
    except Busy as e:
        return _busy(e)
    data = await _read_upload(image)
    try:  # decoding and hint densification are CPU work: off the event loop
        gray, alpha, parsed, meta = await run_in_threadpool(_prepare_job, srv, data, image.filename or "", recolor,
                                                            hints)
    except (InputError, ValueError, RecursionError) as e:
        raise HTTPException(400, _one_line(e, "" if isinstance(e, InputError) else "hints: ")) from None
    del data
    try:
        job = srv.worker.submit(gray, alpha, {"method": method, "preset": preset, "temperature": temperature,
                                              "seed": seed, "samples": samples, "hints": parsed, **meta,
                                              "vividness": vivid if srv.specs[method].vividness else None})
    except Busy as e:
        return _busy(e)
    return JSONResponse({"job": job.id})


@_route("get", "/api/jobs/{job_id}")
def status(request: Request, job_id: str) -> dict:
    worker = _server(request).worker
    job = worker.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, "no such job (or its result was fetched long ago)")
    seed, samples = job.params.get("seed", 0), int(job.params.get("samples", 1))
    answer = {"state": job.state, "done": job.done, "total": job.total, "error": job.error,
              "samples": samples, "seeds": list(range(seed, seed + samples))}
    if job.state == "failed":
        worker.deliver(job)
    return answer


@_route("get", "/api/jobs/{job_id}/result.png")
def result(request: Request, job_id: str) -> Response:
    worker = _server(request).worker
    job = worker.jobs.get(job_id)
    if job is None or job.state != "done":
        raise HTTPException(404, "no result for this job")
    worker.deliver(job, 0)
    return Response(job.png, media_type="image/png",
                    headers={"Content-Disposition": 'attachment; filename="colorized.png"'})


@_route("get", "/api/jobs/{job_id}/samples/{index}.png")
def sample_result(request: Request, job_id: str, index: int) -> Response:
    """Sample ``index`` (0 .. samples - 1, seed ``seed + index``) of a job; the job is
    forgotten (beyond ``max_finished``) once every sample was fetched."""
    worker = _server(request).worker
    job = worker.jobs.get(job_id)
    if job is None or job.state != "done" or not 0 <= index < len(job.pngs):
        raise HTTPException(404, "no such sample for this job")
    worker.deliver(job, index)
    seed = job.params.get("seed", 0) + index
    return Response(job.pngs[index], media_type="image/png",
                    headers={"Content-Disposition": f'attachment; filename="colorized-s{seed}.png"'})


async def _bad_request(request, exc) -> JSONResponse:
    """A parameter FastAPI could not read (a number that is not one): a one-line 400."""
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "request"
    return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid')}".splitlines()[0]}, status_code=400)


def create_app(device: str = "cpu", models: dict[str, str | Path] | None = None, *, host: str = "127.0.0.1",
               max_queued: int = MAX_QUEUED, max_pixels_in_flight: int = MAX_PIXELS_IN_FLIGHT,
               max_finished: int = MAX_FINISHED, max_sessions: int = MAX_SESSIONS,
               max_session_pixels: int = MAX_SESSION_PIXELS):
    """The FastAPI application (``uvicorn`` serves it; tests use its TestClient).

    ``models``: method name -> model folder (default: the shipped colorizers). ``host``: the
    address it is served on; a loopback one enables the Host check (module docstring).
    ``max_sessions``, ``max_session_pixels``: the photos kept for steering."""
    if FastAPI is None:
        raise MissingExtra("the web page needs FastAPI: pip install 'chromaprior[web]'")
    app = FastAPI(title="chromaprior", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(Guard, limit=MAX_REQUEST_BYTES, loopback=is_loopback(host))
    app.add_exception_handler(RequestValidationError, _bad_request)
    worker = Worker(device, models, max_queued=max_queued, max_pixels=max_pixels_in_flight, max_finished=max_finished)
    cards = {m: read_card(path) for m, path in worker.models.items()}
    #: each model's registry spec, from its card (the rule for samples, vividness, steering)
    specs = {m: get_method(card.get("method", "jgm")) for m, card in cards.items()}
    default_method = DEFAULT_METHOD if DEFAULT_METHOD in worker.methods() else worker.methods()[0]
    steer = next((m for m, spec in specs.items() if spec.steerable), None)
    app.state.worker = worker
    app.state.server = _Server(worker, Sessions(max_sessions, max_session_pixels), specs, cards, default_method, steer)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(WEB)), name="static")
    return app
