"""The web page's steering latency, server side, through the app (FastAPI's TestClient, no
network): a photo is uploaded once (decoding + the encoder, the features kept), then each
edit asks for the 512-px preview (decoder + finishing only), a suggestion, and once the
full-size download. Prints the median and the fastest of N calls for each.

    python bench/web_latency.py [--model DIR] [--size 2048] [--calls 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time

import numpy as np
import torch
from PIL import Image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="steerable model folder (default: the shipped one)")
    ap.add_argument("--size", type=int, default=2048, help="long side of the photo (an example photo resized)")
    ap.add_argument("--calls", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from fastapi.testclient import TestClient

    from chromaprior.apps import web as serve
    from chromaprior.models.registry import shipped_model

    app = serve.create_app(models={"steerable": args.model or shipped_model("steerable")})
    client = TestClient(app, base_url="http://127.0.0.1:8000")
    photo = Image.open(serve.WEB / "examples" / "astronaut.jpg")
    photo = photo.resize((args.size, round(args.size * photo.height / photo.width)), Image.LANCZOS)
    buf = io.BytesIO()
    photo.save(buf, format="PNG")

    def timed(call):
        start = time.perf_counter()
        r = call()
        assert r.status_code == 200, r.text
        return time.perf_counter() - start, r

    t, r = timed(lambda: client.post("/api/photos", files={"image": ("p.png", buf.getvalue(), "image/png")}))
    sid, (w, h) = r.json()["id"], photo.size
    print(f"photo {w}x{h}, preview {r.json()['preview'][0]}x{r.json()['preview'][1]}, torch threads {args.threads}")
    print(f"upload (decode + encoder, once per photo): {t:.2f} s")
    for n in (1, 5, 20):
        hints = json.dumps([{"x": (k * 97) % w, "y": (k * 61) % h, "rgb": [200, 80, 40], "radius": 8} for k in range(n)])
        for name, path in [("preview", "preview"), ("suggest", "suggest?x=100&y=100")]:
            times = [timed(lambda: client.post(f"/api/photos/{sid}/{path}", content=hints))[0] for _ in range(args.calls)]
            print(f"{name:8s} {n:2d} hints: median {statistics.median(times) * 1000:4.0f} ms, "
                  f"fastest {min(times) * 1000:4.0f} ms ({args.calls} calls)")
    t, r = timed(lambda: client.post(f"/api/photos/{sid}/download", content=b"[]"))
    print(f"download (full size {w}x{h} PNG): {t:.2f} s")
    np.asarray(Image.open(io.BytesIO(r.content)))


if __name__ == "__main__":
    main()
