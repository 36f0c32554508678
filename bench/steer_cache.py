"""Encode random training crops once for the steerable colorizer (chromaprior.training.hints).

    python bench/steer_cache.py --out /work/cache/steer --crops 16000 --data ../shared/data/train/bsds500 ...
"""
import argparse

from chromaprior.training.hints import build_feature_cache

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--out", required=True)
p.add_argument("--data", action="append", required=True)
p.add_argument("--crops", type=int, default=16000)
p.add_argument("--size", type=int, default=128)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--device", default="cpu")
a = p.parse_args()
build_feature_cache(a.out, a.data, a.crops, a.size, a.seed, device=a.device)
