"""Make a shippable semantic colorizer from a training run: float16 weights, the default
read-out (vividness) and working size chosen on the training validation split
(bench/tune_semantic.py), and the colour prior of the read-out.

    python bench/ship_semantic.py --run runs/semantic128 --vividness 0.5 --work-size 192 \
        --out src/chromaprior/weights/semantic-colorize

Runs trained before the read-out prior existed (their network has no ``log_weights``) get it
measured now, exactly as training does (``BinCrossEntropy.bin_prior`` over crops of the run's
own training folders and crop size, balanced as the run was).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from chromaprior.models.checkpoint import export_model
from chromaprior.training.data import ImageCache, list_images
from chromaprior.models.losses import BinCrossEntropy
from chromaprior.nets.semantic import SemanticColorizer, SemanticConfig, read_out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vividness", type=float, default=0.5)
    ap.add_argument("--work-size", type=int, default=None)
    ap.add_argument("--note", action="append", default=[], help="a line for the card's notes (repeatable)")
    args = ap.parse_args()
    read_out(args.vividness)
    run = Path(args.run)
    card = json.loads((run / "model.json").read_text())
    weights = load_file(str(run / "model.safetensors"))
    config = {k: v for k, v in card["net"].items() if k in SemanticConfig.__dataclass_fields__}
    config["vividness"] = args.vividness
    if "log_weights" not in weights or not weights["log_weights"].any():
        t = card["training"]
        roots = t["data"]
        cache = ImageCache.build(list_images(roots), t["size"], split="train", roots=roots if t.get("balance") else None)
        net = SemanticColorizer(SemanticConfig(**config), pretrained=False)
        net.set_colour_prior(BinCrossEntropy.bin_prior(cache.sample, net.centres))
        weights["log_weights"] = net.log_weights.clone()
        args.note.insert(0, "Read-out colour prior measured after training (bench/ship_semantic.py).")
    card["net"] = {**card["net"], **config}
    card["net"].pop("temperature", None)
    if args.work_size:
        card["work_size"] = args.work_size
    card["notes"] = " ".join([card.get("notes", ""), *args.note]).strip()
    with tempfile.TemporaryDirectory() as tmp:
        save_file(weights, str(Path(tmp) / "model.safetensors"))
        (Path(tmp) / "model.json").write_text(json.dumps(card, indent=2) + "\n")
        out = Path(args.out)
        if out.exists():
            shutil.rmtree(out)
        export_model(tmp, out)
    print(f"wrote {out}: vividness {args.vividness}, work size {card.get('work_size', card['training']['size'])}")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
