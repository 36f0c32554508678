#!/usr/bin/env bash
# The guided JGM (jgm-guided) on the GPU machine (bench/gpu_train.sh; see docs/guided-jgm.md):
#   bash bench/gpu_train_guided.sh              # run tool: carry ["gpu-pack-guided"], timeout_s 570
# Defaults: from the shipped jgm weights (--init, ngf 32; INIT=none NGF=64 trains a larger one from
# scratch), crops of 96 px (the score prior at 48), batch 64, Adam 5e-4 halved every quarter, 8 minutes;
# the frozen semantic colorizer (shipped) conditions it. Back here: bash bench/gpu_unpack.sh FILES gpu-runs/guided.
# Pack (once; the checkout is ~34 MB and the wheels 18 MB, so caltech101 is thinned to fit 64 MiB):
#   python bench/pack_photos.py --out gpu-pack-guided/photos --limit 2000 --wheels
PACK=${PACK:-gpu-pack-guided} METHOD=jgm-guided exec bash "$(dirname "$0")/gpu_train.sh" "$@"
