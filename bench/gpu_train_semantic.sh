#!/usr/bin/env bash
# The semantic colorizer on the GPU machine (bench/gpu_train.sh; see bench/README.md):
#   bash bench/gpu_train_semantic.sh            # run tool: carry ["gpu-pack"], timeout_s 570
# Defaults: --ngf 96 --size 96 --batch-size 128 --train-from 11, 8 minutes; env overrides as gpu_train.sh.
METHOD=semantic exec bash "$(dirname "$0")/gpu_train.sh" "$@"
