#!/usr/bin/env bash
# One command for the GPU machine: train the learned demosaicker (Menon2007 + a half-resolution
# CNN correction, `--method learned-demosaick`) for a fixed wall time, wider and deeper than the
# CPU-trained shipped one, resuming from a carried run if there is one, and return its files
# (all far below 16 MiB: the network has ~0.2M parameters).
#
#   bash bench/gpu_train_demosaick.sh           # run tool: carry ["gpu-pack-demosaick"], timeout_s 570
#
# Needs (inside the checkout, git-ignored; made with
#   python bench/pack_photos.py --out gpu-pack-demosaick/photos --short 112 --quality 88 --subsampling 0 --limit 2000
# ~23 MiB: full-resolution chroma (4:4:4), since JPEG's 4:2:0 would blur exactly the colour edges
# a demosaicker must learn; caltech101 thinned to 2,000 photos to fit 64 MiB with the checkout):
#   $PACK/photos/<root>/...      the resized training photos (one folder per root: --balance)
#   $PACK/wheels/*.whl           optional: click, tqdm, safetensors wheels, installed only where the import fails
#   $PACK/resume/state.pt        optional: an exact resume (~2-5 MB, it travels as it is)
# Writes to $OUT: model.safetensors, state.pt, run-files.tar.gz (model.json, log.jsonl, loss.png,
# train logs, PACK.json, recipe.txt). Back here: bash bench/gpu_unpack.sh FILES gpu-runs/demosaick.
#
# The learned inpainter trains the same way: METHOD=learned-inpaint RUN=/tmp/inpaint-gpu (same pack).
#
# Overrides (env): METHOD (learned-demosaick | learned-inpaint), MINUTES (8: the whole script's wall time), DEVICE (cuda), SIZE (96: crop size,
# even, <= the packed short side), BATCH (64), NGF (48), DEPTH (10: a 24 MP raw in ~1 TMAC on a
# CPU), ITERS (auto: measured rate x time left), HALVE (auto: ITERS/4 on a fresh run), CKPT (auto:
# about one checkpoint a minute), PACK (gpu-pack-demosaick), RUN (work folder; default
# /tmp/demosaick-gpu), OUT (default ./gpu-out), THREADS (torch CPU threads; default all).
set -uo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
MINUTES=${MINUTES:-8}; DEVICE=${DEVICE:-cuda}; SIZE=${SIZE:-96}; BATCH=${BATCH:-64}
METHOD=${METHOD:-learned-demosaick}; NGF=${NGF:-48}; DEPTH=${DEPTH:-10}; ITERS=${ITERS:-auto}; HALVE=${HALVE:-auto}; CKPT=${CKPT:-auto}
PACK=${PACK:-gpu-pack-demosaick}; RUN=${RUN:-/tmp/demosaick-gpu}; OUT=${OUT:-$PWD/gpu-out}
DEADLINE=$((T0 + $(awk "BEGIN{print int($MINUTES * 60)}")))
RESERVE=${RESERVE:-25}   # seconds kept for splitting and copying the files at the end
DEPS=${DEPS:-/tmp/chromaprior-deps}
mkdir -p "$OUT" "$DEPS"
LOG="$OUT/driver.log"; : > "$LOG"
say() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$LOG"; }
PY=${PYTHON:-python}

# 1. the carried wheels, only for what does not import already (never replaces what is there)
for pair in click:click tqdm:tqdm safetensors:safetensors; do
  mod=${pair%%:*}; whl=${pair##*:}
  PYTHONPATH="$DEPS" $PY -c "import $mod" 2>/dev/null && continue
  f=$(ls "$PACK"/wheels/${whl}-*.whl 2>/dev/null | head -1)
  [ -n "$f" ] || { say "missing: $mod and no wheel for it in $PACK/wheels"; exit 2; }
  $PY -m pip install -q --no-index --no-deps --target "$DEPS" "$f" >>"$LOG" 2>&1 \
    || $PY -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$f" "$DEPS"
  say "installed $(basename "$f")"
done
export PYTHONPATH="$PWD/src:$DEPS${PYTHONPATH:+:$PYTHONPATH}"
[ -n "${THREADS:-}" ] && export OMP_NUM_THREADS=$THREADS
$PY -c "import torch, chromaprior; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '')" 2>&1 | tee -a "$LOG"

DATA=()
for d in "$PACK"/photos/*/; do DATA+=(--data "${d%/}"); done
[ ${#DATA[@]} -gt 0 ] || { say "no photo folders in $PACK/photos"; exit 2; }
# --downscale 1: the pack is shrunk already (short side 112 px)
TRAIN=($PY -m chromaprior.cli train --method "$METHOD" --ngf "$NGF" --depth "$DEPTH" --size "$SIZE"
       --batch-size "$BATCH" --downscale 1 --balance "${DATA[@]}" --device "$DEVICE" --quiet)
last_step() { $PY -c "import json,sys; l=[json.loads(x) for x in open(sys.argv[1]) if x.strip()]; print(l[-1]['step'] if l else 0)" "$1" 2>/dev/null || echo 0; }

# 2. a carried run to continue (the state is small: it travels whole, an exact resume)
if [ -f "$RUN/state.pt" ]; then
  say "continuing $RUN"
elif [ -f "$PACK/resume/state.pt" ]; then
  mkdir -p "$RUN"; cp "$PACK"/resume/* "$RUN"/; say "exact resume from $PACK/resume/state.pt"
fi
STEP0=0
if [ -f "$RUN/state.pt" ]; then
  STEP0=$($PY -c "import torch,sys; print(torch.load(sys.argv[1], map_location='cpu', weights_only=False)['step'])" "$RUN/state.pt")
fi

# 3. the rate (steps/s) and start-up time, from a short throw-away run of the same recipe
if [ "$ITERS" = auto ] || [ "$CKPT" = auto ]; then
  B=/tmp/demosaick-rate-$$; rm -rf "$B"; t=$(date +%s)
  "${TRAIN[@]}" --iterations ${RATE_STEPS:-120} --checkpoint-every 1000000 --out "$B" > "$OUT/rate.log" 2>&1
  wall=$(( $(date +%s) - t ))
  read RATE STARTUP < <($PY - "$B/log.jsonl" "$wall" <<'EOF'
import json, sys
l = [json.loads(x) for x in open(sys.argv[1]) if x.strip()]
a, b = l[0], l[-1]
rate = (b["step"] - a["step"]) / max(b["seconds"] - a["seconds"], 1e-6) if len(l) > 1 else b["step"] / max(b["seconds"], 1e-6)
print(f"{rate:.3f}", max(5, int(float(sys.argv[2]) - b["seconds"])))
EOF
)
  rm -rf "$B"
  say "measured: $RATE steps/s, start-up ${STARTUP}s (batch $BATCH, size $SIZE, $DEVICE)"
fi
LEFT=$(( DEADLINE - $(date +%s) - RESERVE ))
if [ "$ITERS" = auto ]; then
  ITERS=$($PY -c "import sys; r,l,s,s0=map(float,sys.argv[1:]); print(int(s0 + max(1, r * (l - s - 10) * 0.93)))" "$RATE" "$LEFT" "$STARTUP" "$STEP0")
fi
[ "$CKPT" = auto ] && CKPT=$($PY -c "import sys; print(max(50, int(float(sys.argv[1]) * 60) // 50 * 50))" "$RATE")
[ "$HALVE" = auto ] && HALVE=$(( (ITERS + 3) / 4 ))
say "plan: steps $STEP0 -> $ITERS, checkpoint every $CKPT, lr halved every $HALVE (fresh runs only), $LEFT s left"

# 4. train in resumable chunks until done or out of time (a kill loses at most one checkpoint interval)
tries=0
while :; do
  LEFT=$(( DEADLINE - $(date +%s) - RESERVE ))
  [ "$LEFT" -gt 20 ] || { say "out of time"; break; }
  RESUME=(); [ -f "$RUN/state.pt" ] && RESUME=(--resume)
  say "train ${RESUME[*]:-fresh} for at most ${LEFT}s"
  timeout --signal=INT --kill-after=20 "$LEFT" "${TRAIN[@]}" --iterations "$ITERS" --lr-halve-every "$HALVE" --checkpoint-every "$CKPT" --out "$RUN" "${RESUME[@]}" \
      >> "$OUT/train.log" 2>&1
  rc=$?
  step=$(last_step "$RUN/log.jsonl")
  say "train exited rc=$rc at logged step $step"
  [ "$rc" -eq 0 ] && break
  [ "$rc" -eq 124 ] && break   # the deadline
  tries=$((tries + 1)); [ "$tries" -ge 3 ] && { say "giving up after $tries failures"; break; }
  tail -5 "$OUT/train.log" | tee -a "$LOG"
done

# 5. return the files: <= 16 MiB each, <= 8 files
[ -f "$RUN/model.safetensors" ] || { say "no checkpoint was written"; exit 4; }
cp "$RUN/model.safetensors" "$OUT/"
{ echo "recipe: method $METHOD, ngf $NGF, depth $DEPTH, size $SIZE, batch $BATCH, iterations $ITERS,"
  echo "        lr halved every $HALVE, checkpoint every $CKPT, balance, downscale 1, data ${DATA[*]}"
  echo "measured rate: ${RATE:-?} steps/s on $DEVICE; start-up ${STARTUP:-?} s"
  echo "reassemble: bash bench/gpu_unpack.sh FILES_DIR [DEST]"; } > "$RUN/recipe.txt"
say "packing the files"
cp "$OUT"/train.log "$OUT"/rate.log "$RUN"/ 2>/dev/null; cp "$PACK/photos/PACK.json" "$RUN"/ 2>/dev/null
rm -f "$OUT"/train.log "$OUT"/rate.log; mv "$LOG" "$RUN/driver.log"; LOG="$RUN/driver.log"
tar -C "$RUN" -czf "$OUT/run-files.tar.gz" $(cd "$RUN" && ls | grep -v -e '^state.pt$' -e '^model.safetensors$')
rm -f "$OUT"/JOIN.txt "$OUT"/state.pt*.part*
$PY bench/gpu_state.py split "$RUN/state.pt" "$OUT" --chunk-mib 15.9 >>"$LOG" 2>&1   # one part: JOIN.txt has its sha256
echo "[$(( $(date +%s) - T0 ))s] done: step $(last_step "$RUN/log.jsonl"); files in $OUT:"
ls -l "$OUT"; du -cb "$OUT"/* | tail -1
tail -3 "$RUN/log.jsonl"
