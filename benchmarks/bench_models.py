"""Throughput, FLOP/s and peak memory of FSVAE beside the ANN VAE, in one run.

Usage::

    .venv/bin/python benchmarks/bench_models.py                 # CPU, writes results/cpu.json
    .venv/bin/python benchmarks/bench_models.py --device cuda --amp --out results/gpu.json
    .venv/bin/python benchmarks/render_readme.py results/cpu.json   # README perf block

Every (model, dataset, phase) runs in a fresh subprocess, so its peak memory is its own:
on the CPU the growth of peak resident memory (``ru_maxrss``) over the process after
building the model (the step's whole working set), on CUDA
``torch.cuda.max_memory_allocated``. Phases: ``train`` (forward, backward, AdamW step),
``reconstruct`` and ``sample`` (eval, no_grad).
Throughput is the median of ``--iters`` timed steps after one warm-up. FLOPs are counted
once per phase with ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and
matrix products, forward and backward; elementwise work such as the LIF loop is not
counted), and compared with a float32 matmul measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MATMUL_N = 2048


def matmul_gflops(device: str, threads: int, repeats: int = 7) -> float:
    """Median float32 matmul throughput (GFLOP/s) of a ``MATMUL_N``-square product."""
    import torch

    torch.set_num_threads(threads)
    a, b = (torch.randn(MATMUL_N, MATMUL_N, device=device) for _ in range(2))
    times = []
    for _ in range(repeats + 1):
        _sync(device)
        start = time.perf_counter()
        a @ b
        _sync(device)
        times.append(time.perf_counter() - start)
    return 2 * MATMUL_N**3 / sorted(times[1:])[repeats // 2] / 1e9


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _measure(job: dict, queue: mp.Queue) -> None:
    sys.path.insert(0, str(ROOT))
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from fsvae.runtime import tune_allocator
    from pipelines.registry import build_model

    if job["tune_allocator"]:
        tune_allocator()
    torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    device, batch, phase = job["device"], job["batch"], job["phase"]
    overrides = {"n_steps": job["n_steps"]} if job["model"] == "fsvae" else {}
    model = build_model(job["model"], job["dataset"], **overrides).to(device)
    if job["plain"]:
        model.fast = False
    x = torch.rand(batch, *model.input_shape, device=device) * 2 - 1
    gen = torch.Generator(device=device).manual_seed(0)
    autocast = torch.autocast(torch.device(device).type, torch.bfloat16, enabled=job["amp"])
    if phase == "train":
        model.train()
        model.begin_epoch(75, 150, 240)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-3)
        loss_fn = torch.compile(model.loss) if job["compile"] else model.loss

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            with autocast:
                loss = loss_fn(x)["loss"]
            loss.backward()
            opt.step()
    else:
        model.eval()

        def step() -> None:
            with torch.no_grad(), autocast:
                if phase == "reconstruct":
                    model.reconstruct(x, gen)
                else:
                    model.sample(batch, gen)

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # imports + model
    counter = FlopCounterMode(display=False)
    with counter:
        step()  # also the warm-up (oneDNN primitives, allocator, compilation)
    flops = counter.get_total_flops()
    _sync(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(job["iters"]):
        _sync(device)
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    if device.startswith("cuda"):
        peak_mib = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    median = sorted(times)[len(times) // 2]
    queue.put(
        {
            "images_per_s": batch / median,
            "gflop_per_image": flops / batch / 1e9,
            "achieved_gflops": flops / median / 1e9,
            "peak_mib": peak_mib,
        }
    )


def run(job: dict) -> dict:
    """Measure one job in a fresh process and return its numbers."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(job, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return {**{k: job[k] for k in ("model", "dataset", "phase", "batch", "plain")}, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--datasets", default="mnist,celeba")
    parser.add_argument("--models", default="fsvae,ann_vae")
    parser.add_argument("--phases", default="train,reconstruct,sample")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--n-steps", type=int, default=16)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--amp", action="store_true", help="bf16 autocast")
    parser.add_argument("--compile", action="store_true", help="torch.compile the train step")
    parser.add_argument("--no-tune-allocator", action="store_true")
    parser.add_argument(
        "--memory-batch",
        type=int,
        default=250,
        help="also measure an FSVAE MNIST train step at this batch, fast and plain (0: skip)",
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cpu.json"))
    ns = parser.parse_args()
    common = {
        "device": ns.device,
        "n_steps": ns.n_steps,
        "iters": ns.iters,
        "threads": ns.threads,
        "amp": ns.amp,
        "compile": ns.compile,
        "tune_allocator": not ns.no_tune_allocator,
        "plain": False,
    }
    rows = []
    matmul_before = matmul_gflops(ns.device, ns.threads)
    for dataset in ns.datasets.split(","):
        for phase in ns.phases.split(","):
            for model in ns.models.split(","):
                job = {**common, "model": model, "dataset": dataset, "phase": phase}
                rows.append(run({**job, "batch": ns.batch}))
                print(json.dumps(rows[-1]), flush=True)
    if ns.memory_batch:
        for plain in (False, True):
            job = {**common, "model": "fsvae", "dataset": "mnist", "phase": "train"}
            # 5 timed steps: at this size single steps vary 1.5x with heap page faults.
            rows.append(run({**job, "batch": ns.memory_batch, "plain": plain, "iters": 5}))
            print(json.dumps(rows[-1]), flush=True)
    matmul = (matmul_before + matmul_gflops(ns.device, ns.threads)) / 2
    for row in rows:
        row["pct_of_matmul"] = 100 * row["achieved_gflops"] / matmul
    report = {
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
        "settings": {**common, "batch": ns.batch, "memory_batch": ns.memory_batch},
        "matmul_gflops": matmul,
        "flops_counted_with": "torch.utils.flop_counter.FlopCounterMode (conv + matmul only)",
        "memory": "peak RSS (ru_maxrss) over the RSS after building the model"
        if ns.device == "cpu"
        else "torch.cuda.max_memory_allocated",
        "results": rows,
    }
    Path(ns.out).parent.mkdir(parents=True, exist_ok=True)
    Path(ns.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"matmul {matmul:.0f} GFLOP/s; wrote {ns.out}")


if __name__ == "__main__":
    main()
