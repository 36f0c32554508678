"""The GPU recipe's helpers (chromaprior.training.packs and .state_files, behind bench/pack_photos.py and bench/gpu_state.py): packing keeps the
layout and names, shrinks, leaves out gray and validation photos; split/join round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chromaprior.training.data import is_validation

from chromaprior.training import packs as pack_photos
from chromaprior.training import state_files as gpu_state


def _train_name(stem: str, suffix: str = ".jpg") -> str:
    """A file name of the training split (not validation)."""
    i = 0
    while is_validation(Path(f"{stem}{i}{suffix}")):
        i += 1
    return f"{stem}{i}{suffix}"


def test_pack_layout_sizes_and_skips(tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "train"
    colour = lambda h, w: Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    a = src / "rootA" / _train_name("a")
    b = src / "rootB" / "cats" / _train_name("b", ".JPEG")
    g = src / "rootB" / _train_name("g")
    v = src / "rootA" / next(f"v{i}.jpg" for i in range(10_000) if is_validation(Path(f"v{i}.jpg")))
    for p in (a, b, g, v):
        p.parent.mkdir(parents=True, exist_ok=True)
    colour(300, 200).save(a)  # portrait: short side 200 -> 64
    colour(50, 80).save(b)  # smaller than --short: kept as it is
    Image.new("RGB", (120, 90), (90, 90, 90)).save(g)  # gray: left out
    colour(100, 100).save(v)  # validation split: left out
    out = tmp_path / "pack" / "photos"
    s = pack_photos.pack(src, out, short=64, quality=80, workers=1)

    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == sorted(
        ["PACK.json", f"rootA/{a.name}", f"rootB/cats/{b.name}"])
    assert Image.open(out / "rootA" / a.name).size == (64, 96)
    assert Image.open(out / "rootB" / "cats" / b.name).size == (80, 50)
    assert Image.open(out / "rootA" / a.name).format == "JPEG"
    assert s["roots"]["rootA"] == {"photos": 1, "gray_skipped": 0, "unreadable": 0, "validation_left_out": 1,
                                   "bytes": (out / "rootA" / a.name).stat().st_size}
    assert s["roots"]["rootB"]["gray_skipped"] == 1 and s["roots"]["rootB"]["photos"] == 1
    assert s["bytes"] == sum(p.stat().st_size for p in out.rglob("*.*") if p.name != "PACK.json")
    assert json.loads((out / "PACK.json").read_text())["short_side"] == 64


@pytest.mark.parametrize("compress", [False, True])
def test_split_join_round_trip(tmp_path, compress):
    data = np.random.default_rng(1).integers(0, 256, 250_000, dtype=np.uint8).tobytes() + bytes(50_000)
    f = tmp_path / "state.pt"
    f.write_bytes(data)
    parts = gpu_state.split_file(f, tmp_path / "out", chunk=100_000, compress=compress)
    assert len(parts) == 3 and all(p.stat().st_size <= 100_000 for p in parts)
    assert parts[0].name == ("state.pt.gz.part00" if compress else "state.pt.part00")
    (joined,) = gpu_state.join_files(tmp_path / "out", tmp_path / "back")
    assert joined == tmp_path / "back" / "state.pt" and joined.read_bytes() == data


def test_join_detects_a_damaged_part(tmp_path):
    f = tmp_path / "big.bin"
    f.write_bytes(bytes(range(256)) * 1000)
    parts = gpu_state.split_file(f, tmp_path / "out", chunk=100_000)
    parts[1].write_bytes(b"x" + parts[1].read_bytes()[1:])
    with pytest.raises(ValueError, match="sha256"):
        gpu_state.join_files(tmp_path / "out", tmp_path / "back")


def test_caps_thin_the_largest_root_first():
    per = {"a": 1.0, "b": 1.0, "c": 2.0}
    assert pack_photos.caps_for_budget({"a": 3, "b": 10, "c": 10}, per, 100) == {"a": 3, "b": 10, "c": 10}
    assert pack_photos.caps_for_budget({"a": 3, "b": 10, "c": 10}, per, 3 + 3 * 5) == {"a": 3, "b": 5, "c": 5}
    assert pack_photos.caps_for_budget({"a": 3, "b": 10, "c": 10}, per, 2) == {"a": 0, "b": 0, "c": 0}


def test_pack_fits_a_budget(tmp_path):
    """--max-mib: the photos' total stays under the budget, the largest root loses photos first."""
    rng = np.random.default_rng(0)
    src = tmp_path / "train"
    for root, n in (("small", 2), ("big", 12)):
        (src / root).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(src / root / _train_name(f"{root}{i}_"))
    full = pack_photos.pack(src, tmp_path / "full", short=32, quality=90, workers=1)
    per_photo = full["bytes"] / 14
    budget = int(per_photo * 7)
    s = pack_photos.pack(src, tmp_path / "fit", short=32, quality=90, workers=1, max_bytes=budget)
    assert s["bytes"] <= budget
    assert s["roots"]["small"]["photos"] == 2 and 3 <= s["roots"]["big"]["photos"] <= 6
    assert s["roots"]["big"]["candidates"] == 12
    assert s["bytes"] == sum(p.stat().st_size for p in (tmp_path / "fit").rglob("*.jpg"))
