"""Throughput and peak memory of FSVAE beside the ANN VAE, measured in the same run.

Usage::

    .venv/bin/python benchmarks/bench_models.py [--dataset mnist] [--batch 64] [--n-steps 16]

Each (model, phase) runs in a fresh subprocess so that peak memory is its own:
memory is the growth of the process's peak resident set size (``resource.getrusage``
``ru_maxrss``) during the timed phase, over the RSS after building the model and one
warm-up iteration. Phases: ``train`` (forward, backward, AdamW step), ``reconstruct``
and ``sample`` (eval mode, no_grad). torch uses 2 threads (DESIGN.md §7).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _measure(model_name: str, phase: str, args: dict, queue: mp.Queue) -> None:
    sys.path.insert(0, str(ROOT))
    import torch

    from pipelines.registry import build_model

    torch.set_num_threads(2)
    torch.manual_seed(0)
    overrides = {"n_steps": args["n_steps"]} if model_name == "fsvae" else {}
    model = build_model(model_name, args["dataset"], **overrides)
    batch = args["batch"]
    x = torch.rand(batch, *model.input_shape) * 2 - 1
    gen = torch.Generator().manual_seed(0)
    if phase == "train":
        model.train()
        model.begin_epoch(75, 150, 240)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-3)

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            model.loss(x)["loss"].backward()
            opt.step()
    else:
        model.eval()

        def step() -> None:
            with torch.no_grad():
                if phase == "reconstruct":
                    model.reconstruct(x, gen)
                else:
                    model.sample(batch, gen)

    step()  # warm-up (oneDNN primitive creation, allocator)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(args["iters"]):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    best = sorted(times)[len(times) // 2]  # median: robust to other load on the machine
    queue.put({"images_per_s": batch / best, "peak_rss_growth_mib": (peak - base) / 1024})


def run(model_name: str, phase: str, args: dict) -> dict:
    """Measure one (model, phase) in a fresh process and return its numbers."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(model_name, phase, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--n-steps", type=int, default=16)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ns = parser.parse_args()
    args = {"dataset": ns.dataset, "batch": ns.batch, "n_steps": ns.n_steps, "iters": ns.iters}
    results: dict[str, dict[str, dict]] = {}
    for phase in ("train", "reconstruct", "sample"):
        for model_name in ("fsvae", "ann_vae"):
            results.setdefault(phase, {})[model_name] = run(model_name, phase, args)
    if ns.json:
        print(json.dumps({"args": args, "results": results}, indent=2))
        return
    print(f"dataset={ns.dataset} batch={ns.batch} T={ns.n_steps} threads=2 iters={ns.iters}")
    print("memory = growth of peak RSS (ru_maxrss) during the timed phase")
    header = f"{'phase':<12}{'FSVAE img/s':>13}{'ANN img/s':>12}{'ANN/FSVAE':>11}"
    print(header + f"{'FSVAE MiB':>11}{'ANN MiB':>10}")
    for phase, res in results.items():
        f, a = res["fsvae"], res["ann_vae"]
        print(
            f"{phase:<12}{f['images_per_s']:>13.1f}{a['images_per_s']:>12.1f}"
            f"{a['images_per_s'] / f['images_per_s']:>10.1f}x"
            f"{f['peak_rss_growth_mib']:>11.0f}{a['peak_rss_growth_mib']:>10.0f}"
        )


if __name__ == "__main__":
    main()
