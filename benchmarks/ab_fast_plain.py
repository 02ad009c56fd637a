"""A/B of FSVAE's fast path against the plain layer-by-layer path, one training setup.

Run each mode in its own process and alternate them (the machine is shared)::

    for r in 1 2; do for m in fast plain; do
        .venv/bin/python benchmarks/ab_fast_plain.py $m --batch 250 --iters 5; done; done

Prints the median images/s over ``--iters`` AdamW steps after one warm-up step, each step's
time and its minor page faults (``ru_minflt``), which explain most of the step-to-step spread,
and the images/s of the fastest step without page faults (the compute alone).
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from pipelines.process.allocator import tune_allocator
from pipelines.registry import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("fast", "plain"))
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--mmap-threshold", type=int, default=1 << 30)
    parser.add_argument(
        "--epoch", type=int, default=0, help="training epoch (of 150): sets scheduled sampling"
    )
    ns = parser.parse_args()
    torch.set_num_threads(ns.threads)
    tune_allocator(ns.mmap_threshold)
    torch.manual_seed(0)
    model = build_model("fsvae", "mnist")
    model.use_shortcuts = ns.mode == "fast"
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    x = torch.rand(ns.batch, 1, 32, 32) * 2 - 1  # shapes only: speed does not depend on data
    model.begin_epoch(ns.epoch, 150, 240)
    model.train()
    times, faults = [], []
    for _ in range(ns.iters + 1):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        out = model.loss(x)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    timed = sorted(times[1:])
    median = timed[len(timed) // 2]
    # Steps without page faults show the compute alone; the median also carries heap growth.
    clean = [t for t, f in zip(times[1:], faults[1:], strict=True) if f == 0]
    clean_rate = f"{ns.batch / min(clean):.1f}" if clean else "n/a"
    print(
        f"{ns.mode} batch {ns.batch} epoch {ns.epoch}: {ns.batch / median:.1f} img/s (median), "
        f"{clean_rate} (fastest fault-free step); "
        f"step s {[round(t, 2) for t in times]}; minflt {faults}"
    )


if __name__ == "__main__":
    main()
