#!/usr/bin/env bash
# Reassemble what bench/gpu_train.sh wrote to $OUT into a run folder that `chromaprior train --resume`
# (and colorize/evaluate/demosaick) read, here or on a later machine; optionally put the resume for the
# next GPU call into the pack.
#
#   bash bench/gpu_unpack.sh FILES_DIR DEST [--exact | --slim]
#
# FILES_DIR: the returned files (model.safetensors, state.pt.gz.partNN, JOIN.txt, run-files.tar.gz).
# DEST gets model.safetensors, model.json, state.pt (sha256-checked), log.jsonl, loss.png, logs.
# --exact: copy state.pt, model.json, log.jsonl into $PACK/resume/ (an exact resume; for the small
#          states: learned-demosaick, learned-inpaint, a few MB).
# --slim:  write $PACK/resume/resume.pt (+ log.jsonl) (bench/gpu_state.py slim: a warm restart; for
#          the big states: semantic ~7 MB instead of ~57, jgm-guided and hgm-pixel-scale ~3 MB).
# PACK: the method's pack (as in gpu_train.sh: semantic gpu-pack, jgm-guided gpu-pack-guided,
#       the restoration methods gpu-pack-restore), taken from the run's card unless set.
# Resume here (exact; the run's settings and photos come from its state):
#   PYTHONPATH=src python -m chromaprior train --out DEST --resume --iterations N --device cpu
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:?usage: gpu_unpack.sh FILES_DIR DEST [--exact | --slim]}
DEST=${2:?usage: gpu_unpack.sh FILES_DIR DEST [--exact | --slim]}
MODE=${3:-}
mkdir -p "$DEST"
python bench/gpu_state.py join "$SRC" "$DEST"
cp "$SRC/model.safetensors" "$DEST/"
tar -C "$DEST" -xzf "$SRC/run-files.tar.gz"
echo "reassembled into $DEST:"; ls -l "$DEST"
tail -2 "$DEST/log.jsonl"
[ -n "$MODE" ] || exit 0
METHOD=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['method'])" "$DEST/model.json")
case "$METHOD" in
  semantic) DEF=gpu-pack;; jgm-guided) DEF=gpu-pack-guided;; *) DEF=gpu-pack-restore;;
esac
PACK=${PACK:-$DEF}; rm -rf "$PACK/resume"; mkdir -p "$PACK/resume"
case "$MODE" in
  --exact) cp "$DEST/state.pt" "$DEST/model.json" "$DEST/log.jsonl" "$PACK/resume/";;
  --slim)  PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} python bench/gpu_state.py slim "$DEST/state.pt" "$PACK/resume"
           cp "$DEST/log.jsonl" "$PACK/resume/";;
  *) echo "unknown option $MODE (--exact or --slim)"; exit 2;;
esac
echo "the next METHOD=$METHOD run continues from $PACK/resume/:"; du -b "$PACK"/resume/*
