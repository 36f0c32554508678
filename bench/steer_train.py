"""Train the steerable colorizer's hint convolutions on a feature cache (chromaprior.training.hints).

    python bench/steer_cache.py --out CACHE --crops 16000 --data ../shared/data/train/...   # once
    python bench/steer_train.py --cache CACHE --out runs/steerable --iterations 6000 [--resume]
"""
import argparse
import dataclasses

from chromaprior.training.hints import HintTrainConfig, train_steerable

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--out", required=True)
p.add_argument("--resume", action="store_true")
for f in dataclasses.fields(HintTrainConfig):
    p.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=None)
a = vars(p.parse_args())
out, resume = a.pop("out"), a.pop("resume")
config = HintTrainConfig(**{k: v for k, v in a.items() if v is not None})
train_steerable(config, out, resume=resume)
