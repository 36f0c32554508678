"""A shippable guided JGM from a training run: float16 weights (the frozen semantic colorizer is
not stored: the card names it, the shipped one, and its weights' SHA-256) and a card that says
how it was trained.

    python bench/ship_guided.py --run runs/guided128 --out src/chromaprior/weights/jgm-guided-colorize \
        --note "..."
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from chromaprior.models.checkpoint import export_model, read_card


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--note", default="", help="appended to the generated notes")
    args = ap.parse_args()
    card = read_card(args.run)
    if card.get("method") != "jgm-guided":
        raise SystemExit(f"{args.run} is a {card.get('method')} model, not jgm-guided")
    export_model(args.run, args.out, half=True)
    t = card["training"]
    notes = (f"Guided JGM: the NCSN RefineNet score prior on JGM's 9-channel lift (ngf {t['ngf']}), conditioned on "
             f"the gray and the frozen semantic colorizer ({card['net']['guide']}, weights sha256 "
             f"{card['net']['guide_sha256'][:16]}...: its fine-tuned EfficientNet-Lite0 encoder and decoder, loaded from "
             "that model, not stored here) "
             "through zero-initialised injections and a learned blend of the denoised estimate with the colorizer's "
             f"read-outs. Trained with chromaprior train --method jgm-guided on this project's 2-core CPU, shared with "
             f"other jobs: {t['steps']} steps x {t['batch_size']} crops @ {t['size']} px (the prior at "
             f"{t['size'] // card['net']['scale']}), {t['seconds'] / 60:.0f} min of training-loop time, "
             f"starting from --init {t['init']}, all of {', '.join(Path(d).name for d in t['data'])}"
             f"{' balanced' if t.get('balance') else ''}, Adam {t['lr']:g}.")
    dst = Path(args.out) / "model.json"
    out = json.loads(dst.read_text())
    out["notes"] = notes + (" " + args.note if args.note else "")
    dst.write_text(json.dumps(out, indent=2) + "\n")
    print(out["notes"])


if __name__ == "__main__":
    main()
