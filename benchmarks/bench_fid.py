"""Images/s of our FID feature path vs pytorch-fid's calculate_activation_statistics.

Both use the same network and weights on the same real MNIST test images: pytorch-fid
reads them as PNG files (its only input), ours takes the uint8 array in memory and
runs Inception channels-last. Both run under ``pipelines.process.tune_process()``, as
``fsvae-bench evaluate`` does.
Prints both rates and the ratio (ours / pytorch-fid; >= 1 means ours is not slower).

Usage: .venv/bin/python benchmarks/bench_fid.py [--num 100] [--batch-size 50]
"""

from __future__ import annotations

import argparse
import gzip
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from pytorch_fid.fid_score import calculate_activation_statistics

from pipelines.metrics.fid import InceptionFeatures, nhwc_to_nchw
from pipelines.metrics.frechet import gaussian_stats
from pipelines.metrics.inception import build_fid_inception, resolve_fid_weights
from pipelines.process.threads import tune_process

MIRROR_ENV = "FSVAE_DATA_MIRROR"


def mnist_test(num: int) -> np.ndarray:
    mirror = os.environ.get(MIRROR_ENV)
    if not mirror:
        raise SystemExit(f"set {MIRROR_ENV} to the offline data mirror (real MNIST test images)")
    with gzip.open(Path(mirror) / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz") as handle:
        images = np.frombuffer(handle.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    return images[:num, :, :, None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--num", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    tune_process()  # what every fsvae-bench command does; both paths run under it
    images = mnist_test(args.num)
    weights = resolve_fid_weights()
    ours = InceptionFeatures(weights, batch_size=args.batch_size, progress=False)
    theirs_net = build_fid_inception(weights)
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for i, img in enumerate(images):
            path = Path(folder) / f"{i:05d}.png"
            Image.fromarray(img[:, :, 0]).save(path)
            files.append(str(path))
        ours(nhwc_to_nchw(images[:2]))  # warm-up, both paths
        with torch.inference_mode():
            theirs_net(torch.zeros(2, 3, 32, 32))
        start = time.perf_counter()
        mu_o, sigma_o = gaussian_stats(ours(nhwc_to_nchw(images)))
        t_ours = time.perf_counter() - start
        start = time.perf_counter()
        mu_t, sigma_t = calculate_activation_statistics(
            files, theirs_net, batch_size=args.batch_size, device="cpu", num_workers=0
        )
        t_theirs = time.perf_counter() - start
    rate_o, rate_t = args.num / t_ours, args.num / t_theirs
    threads = torch.get_num_threads()
    print(f"images: {args.num} MNIST test, batch {args.batch_size}, threads {threads}")
    print(f"ours (uint8 array, batched):           {rate_o:7.2f} images/s")
    print(f"pytorch-fid (PNG files, its own loop): {rate_t:7.2f} images/s")
    print(f"ratio ours / pytorch-fid: {rate_o / rate_t:.3f}")
    print(f"max |mu difference| between the two: {np.abs(mu_o - mu_t).max():.2e}")


if __name__ == "__main__":
    main()
