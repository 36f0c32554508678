#!/usr/bin/env bash
# Reassemble what bench/gpu_train.sh (gpu_train_semantic.sh, gpu_train_guided.sh) wrote to $OUT into a run folder that
# `chromaprior train --resume` (and colorize/evaluate) read, here or on a later machine.
#
#   bash bench/gpu_unpack.sh FILES_DIR [DEST=gpu-runs/semantic] [--slim]     (guided: DEST gpu-runs/guided)
#
# FILES_DIR: the returned files (model.safetensors, state.pt.gz.partNN, JOIN.txt, run-files.tar.gz).
# DEST gets model.safetensors, model.json, state.pt (sha256-checked), log.jsonl, loss.png, logs.
# --slim: also write $PACK/resume/resume.pt (PACK=gpu-pack) (+ log.jsonl), the ~6 MB warm-resume file that
#         the next GPU run picks up (the exact state.pt is too big to travel with the photos).
# Resume here (exact):  PYTHONPATH=src python -m chromaprior.cli train --method semantic \   (or jgm-guided)
#   --data gpu-pack/photos/bsds500 --data gpu-pack/photos/caltech101 --data gpu-pack/photos/imagenet-sample \
#   --out DEST --resume --iterations N --device cpu
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:?usage: gpu_unpack.sh FILES_DIR [DEST] [--slim]}
DEST=${2:-gpu-runs/semantic}
[ "$DEST" = --slim ] && DEST=gpu-runs/semantic
SLIM=0; for a in "$@"; do [ "$a" = --slim ] && SLIM=1; done
mkdir -p "$DEST"
python bench/gpu_state.py join "$SRC" "$DEST"
cp "$SRC/model.safetensors" "$DEST/"
tar -C "$DEST" -xzf "$SRC/run-files.tar.gz"
echo "reassembled into $DEST:"; ls -l "$DEST"
tail -2 "$DEST/log.jsonl"
if [ "$SLIM" = 1 ]; then
  PACK=${PACK:-gpu-pack}; rm -rf "$PACK/resume"
  PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} python bench/gpu_state.py slim "$DEST/state.pt" "$PACK/resume"
  cp "$DEST/log.jsonl" "$PACK/resume/"
  du -b "$PACK"/resume/*
fi
