"""Data-parallel training under torchrun: 2 CPU processes on the gloo backend."""

import json
import os
import subprocess
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from chromaprior.training.loop import TrainConfig, make_net
from helpers import synthetic_rgb


def test_torchrun_two_processes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(4):
        Image.fromarray(synthetic_rgb(24, 24, seed=i)).save(data / f"{i}.png")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "chromaprior", "train", "--data", str(data), "--out", str(tmp_path / "run"), "--size", "16",
           "--ngf", "4", "--levels", "3", "--iterations", "4", "--batch-size", "4", "--checkpoint-every", "2", "-q"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-6000:]
    card = json.loads((tmp_path / "run" / "model.json").read_text())
    assert card["training"]["processes"] == 2 and card["training"]["steps"] == 4
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=False)
    assert len(state["generators"]) == 2  # each rank's stream, for exact resume
    assert not torch.equal(state["generators"][0], state["generators"][1])
    weights = load_file(str(tmp_path / "run" / "model.safetensors"))
    assert all(torch.isfinite(v).all() for v in weights.values())
    last = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 4 and np.isfinite(last["loss"])
    torch.manual_seed(0)
    init = make_net(TrainConfig(**state["config"])).state_dict()
    assert any(not torch.equal(init[k], v) for k, v in state["model"].items())  # it did train
