"""Make a shippable steerable colorizer from a run of bench/steer_train.py: its finishing
(guided filter, edge-aware spreading) chosen on the training validation split
(bench/tune_steer.py) written into the card, float16 weights, and a note.

    python bench/ship_steer.py --run runs/steerable --edge 4:0.001 --spread 0.00003:0.08 --colour-from automatic \
        --out src/chromaprior/weights/steerable-colorize --note "..."
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from safetensors.torch import load_file

from chromaprior.models.checkpoint import export_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--edge", default="4:0.001", help="RADIUS:EPS of the guided-filter finishing")
    ap.add_argument("--spread", default="0.00003:0.08", help="DECAY:SIGMA of the edge-aware spreading of hints")
    ap.add_argument("--vividness", type=float, default=None, help="the hinted read-out [default: the run's]")
    ap.add_argument("--colour-from", choices=["hinted", "automatic"], default="hinted")
    ap.add_argument("--note", default="")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export_model(args.run, tmp, half=True)
        card_path = Path(tmp) / "model.json"
        card = json.loads(card_path.read_text())
        radius, eps = args.edge.split(":")
        decay, sigma = args.spread.split(":")
        card["net"] |= {"edge_radius": int(radius), "edge_eps": float(eps), "spread_decay": float(decay),
                        "spread_sigma": float(sigma), "colour_from": args.colour_from}
        if args.vividness is not None:
            card["net"]["vividness"] = args.vividness
        training = card["training"]
        training.setdefault("images", training["cache_meta"]["images"])
        training.setdefault("parameters", sum(t.numel() for t in load_file(str(Path(tmp) / "model.safetensors")).values()))
        card["notes"] = args.note
        card_path.write_text(json.dumps(card, indent=2) + "\n")
        export_model(tmp, args.out, half=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
