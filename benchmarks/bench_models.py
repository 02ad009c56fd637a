"""Throughput, FLOP/s and peak memory of the models as users run them, quiet and under load.

Usage::

    .venv/bin/python benchmarks/bench_models.py --quick        # MNIST only (docs/performance.md)
    .venv/bin/python benchmarks/bench_models.py                # + CelebA and batch-250 memory
    .venv/bin/python benchmarks/bench_models.py --device cuda --amp --out results/gpu.json
    .venv/bin/python benchmarks/render_readme.py results/cpu.json   # README perf block
    .venv/bin/python benchmarks/bench_models.py --quick --compile --phases train --no-load

``--compile`` adds, next to every eager ``cli`` train row, the same job with
``torch.compile(model.loss)`` (inductor, ``fallback_random`` so it draws what eager
draws; compilation happens in the untimed warm-up step), and prints compiled / eager.

Two setups, nothing tuned beyond what each does itself:

* ``library``: the model exactly as ``pipelines.registry.build_model`` returns it, in a
  fresh process with PyTorch's defaults (glibc's default allocator, all cores).
* ``cli``: what every ``fsvae-bench`` command does first, ``pipelines.process.tune_process()``
  (the same one-line opt-in a library user can make).

Plus ``fsvae-bench sample`` end to end (interpreter start, checkpoint load, sampling,
npz and PNG writing) on MNIST with a checkpoint of a freshly built model.

Under load (default on, ``--no-load`` skips it): the FSVAE MNIST train and sample jobs
and the ``sample`` command are run again while :mod:`benchmarks.background_load` keeps
every core busy with a fixed matmul loop; rows get ``loaded_images_per_s`` and
``load_ratio`` (loaded / quiet, the quiet and loaded runs taken back to back).

Every job runs in a fresh subprocess, so its peak memory is its own: on the CPU the
growth of peak resident memory (``ru_maxrss``) over the process after building the
model, on CUDA ``torch.cuda.max_memory_allocated``. Throughput is the median of
``--iters`` timed steps after one warm-up. FLOPs are counted once per phase with
``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matrix products; the
elementwise LIF loop is not counted) and compared with a float32 matmul measured in
the same run.

Longer than the project's ~350-line module guideline on purpose: the measuring child
process, the job list and the background-load harness form one experiment, kept in one
file so every number in docs/performance.md comes from a single script.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import queue as queue_mod
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.background_load import background_load  # noqa: E402
from benchmarks.cli_sample import cli_sample, ensure_prepared, make_sample_checkpoint  # noqa: E402

MATMUL_N = 2048
# Label -> (registered model, build overrides); n_steps is added for every spiking model.
VARIANTS = {
    "fsvae": ("fsvae", {}),
    "fsvae (prefix)": ("fsvae", {"posterior_sampling": "prefix"}),
    "esvae": ("esvae", {}),
    "ann_vae": ("ann_vae", {}),
}
# The prefix mode differs only in training mode (eval streams in both modes, exactly): its
# reconstruct row checks that; sampling is the same code as "fsvae".
PHASES_OF = {"fsvae (prefix)": ("train", "reconstruct")}


def matmul_gflops(device: str, repeats: int = 7) -> float:
    """Median float32 matmul throughput (GFLOP/s) of a ``MATMUL_N``-square product."""
    import torch

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

    from pipelines.registry import build_model

    if job["compile"]:
        # The compiled step draws the eager step's random numbers (same work, same result).
        torch._inductor.config.fallback_random = True
    if job["setup"] == "cli":
        from pipelines.process.threads import tune_process

        tune_process()
    if job["threads"]:
        torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    device, batch, phase = job["device"], job["batch"], job["phase"]
    name, overrides = VARIANTS[job["model"]]
    if name != "ann_vae":
        overrides = {**overrides, "n_steps": job["n_steps"]}
    model = build_model(name, job["dataset"], **overrides).to(device)
    if job["plain"]:
        model.use_shortcuts = False
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
    if job["compile"]:
        step()  # compilation, outside the FLOP counter's dispatch mode
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
            "threads": torch.get_num_threads(),
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
    try:
        while True:
            try:
                result = queue.get(timeout=1.0)
                break
            except queue_mod.Empty:
                if not proc.is_alive():
                    raise RuntimeError(f"job {job} died (exit {proc.exitcode})") from None
        proc.join()
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join()
    keys = ("model", "dataset", "phase", "batch", "setup", "plain", "compile")
    return {**{k: job[k] for k in keys}, **result}


def build_jobs(ns: argparse.Namespace, common: dict) -> list[dict]:
    """The quiet jobs: every variant x dataset x phase in the cli setup, FSVAE also as library."""
    from pipelines.registry import list_models

    registered = set(list_models())
    jobs = []
    for dataset in ns.datasets.split(","):
        for phase in ns.phases.split(","):
            for label in ns.models.split(","):
                if VARIANTS[label][0] not in registered or phase not in PHASES_OF.get(
                    label, (phase,)
                ):
                    continue
                setups = ("library", "cli") if label == "fsvae" else ("cli",)
                for setup in setups:
                    job = {**common, "model": label, "dataset": dataset, "phase": phase}
                    jobs.append({**job, "setup": setup, "batch": ns.batch})
                    if ns.compile and phase == "train" and setup == "cli":
                        jobs.append({**jobs[-1], "compile": True})
    if ns.memory_batch:
        for plain in (False, True):
            job = {**common, "model": "fsvae", "dataset": "mnist", "phase": "train"}
            # 5 timed steps: single steps vary with heap page faults (docs/performance.md).
            jobs.append(
                {**job, "setup": "cli", "batch": ns.memory_batch, "plain": plain, "iters": 5}
            )
    return jobs


def under_load(job: dict) -> bool:
    """Whether a quiet job is repeated under load (FSVAE MNIST train and sample)."""
    return (
        job["model"] == "fsvae"
        and job["dataset"] == "mnist"
        and job["phase"] in ("train", "sample")
        and not job["plain"]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--quick", action="store_true", help="MNIST only, 3 steps, no batch 250")
    parser.add_argument("--datasets", default="mnist,celeba")
    parser.add_argument("--models", default=",".join(VARIANTS))
    parser.add_argument("--phases", default="train,reconstruct,sample")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--n-steps", type=int, default=16)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--threads", type=int, help="force a thread count (GPU runs)")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="also time every cli train job with torch.compile(model.loss) (inductor)",
    )
    parser.add_argument("--no-load", action="store_true", help="skip the under-load runs")
    parser.add_argument("--load-threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--sample-images", type=int, default=1000, help="for the CLI sample")
    parser.add_argument("--prepared", default=str(ROOT / "prepared"), help="has mnist/")
    parser.add_argument(
        "--memory-batch",
        type=int,
        default=250,
        help="also measure an FSVAE MNIST train step at this batch, fast and plain (0: skip)",
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cpu.json"))
    ns = parser.parse_args()
    if ns.quick:
        ns.datasets, ns.iters, ns.memory_batch = "mnist", 3, 0
        ns.sample_images = min(ns.sample_images, 500)
    from pipelines.process.device import describe, prepare
    from pipelines.process.settings import RuntimeSettings

    try:
        ns.device = prepare(RuntimeSettings(device=ns.device))
    except ValueError as err:  # e.g. --device cuda without CUDA: one line, nothing written
        parser.error(str(err))
    load = not ns.no_load and ns.device == "cpu"
    common = {
        "device": ns.device,
        "n_steps": ns.n_steps,
        "iters": ns.iters,
        "threads": ns.threads,
        "amp": ns.amp,
        "compile": False,
        "plain": False,
    }
    started = time.perf_counter()
    import torch

    default_threads = torch.get_num_threads()
    load_s = 60.0 * (1 + ns.iters)  # bound on one loaded job; the load is stopped after it
    rows = []
    matmul_before = matmul_gflops(ns.device)
    for job in build_jobs(ns, common):
        rows.append(run(job))
        if load and under_load(job):
            with background_load(ns.load_threads, max_seconds=load_s):
                loaded = run(job)
            rows[-1]["loaded_images_per_s"] = loaded["images_per_s"]
            rows[-1]["loaded_threads"] = loaded["threads"]
            rows[-1]["load_ratio"] = loaded["images_per_s"] / rows[-1]["images_per_s"]
        print(json.dumps(rows[-1]), flush=True)
    if ns.device == "cpu" and "mnist" in ns.datasets.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            scratch = Path(tmp)
            ckpt = make_sample_checkpoint(scratch, ns.n_steps)
            prepared = ensure_prepared(Path(ns.prepared), scratch)
            row = {"model": "fsvae", "dataset": "mnist", "phase": "sample command"}
            row |= {"batch": ns.sample_images, "setup": "cli", "plain": False}
            row["images_per_s"] = cli_sample(ckpt, prepared, ns.sample_images, scratch / "out")
            if load:
                with background_load(ns.load_threads, max_seconds=300):
                    loaded = cli_sample(ckpt, prepared, ns.sample_images, scratch / "out")
                row["loaded_images_per_s"] = loaded
                row["load_ratio"] = loaded / row["images_per_s"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    matmul = (matmul_before + matmul_gflops(ns.device)) / 2
    for row in rows:
        if "achieved_gflops" in row:
            row["pct_of_matmul"] = 100 * row["achieved_gflops"] / matmul
    ratios = {}
    for dataset in ns.datasets.split(","):
        rate = {
            r["model"]: r["images_per_s"]
            for r in rows
            if r["dataset"] == dataset
            and r["phase"] == "train"
            and r["setup"] == "cli"
            and r["batch"] == ns.batch
            and not r["compile"]
        }
        if "esvae" in rate and "fsvae" in rate:
            # Step time ESVAE / FSVAE at the same batch.
            ratios[f"esvae_over_fsvae_train_step_{dataset}"] = rate["fsvae"] / rate["esvae"]
            print(f"{dataset}: ESVAE/FSVAE train step time {rate['fsvae'] / rate['esvae']:.2f}")
    for row in rows:
        if not row.get("compile"):
            continue
        eager = next(
            r["images_per_s"]
            for r in rows
            if not r.get("compile")
            and all(r[k] == row[k] for k in ("model", "dataset", "phase", "batch", "setup"))
        )
        key = f"compiled_over_eager_{row['phase']}_{row['model']}_{row['dataset']}"
        ratios[key] = row["images_per_s"] / eager
        print(f"{row['model']} {row['dataset']}: compiled/eager train throughput {ratios[key]:.2f}")
    report = {
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
        "runtime": describe(ns.device),  # GPU name, torch/CUDA/cuDNN, TF32, determinism
        "settings": {
            **common,
            "compile": ns.compile,
            "batch": ns.batch,
            "memory_batch": ns.memory_batch,
            "quick": ns.quick,
            "load": f"{ns.load_threads} threads of 512x512 matmul" if load else None,
            "default_threads": default_threads,
        },
        "matmul_gflops": matmul,
        "flops_counted_with": "torch.utils.flop_counter.FlopCounterMode (conv + matmul only)",
        "memory": "peak RSS (ru_maxrss) over the RSS after building the model"
        if ns.device == "cpu"
        else "torch.cuda.max_memory_allocated",
        "ratios": ratios,
        "wall_s": time.perf_counter() - started,
        "results": rows,
    }
    Path(ns.out).parent.mkdir(parents=True, exist_ok=True)
    Path(ns.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"matmul {matmul:.0f} GFLOP/s; {report['wall_s']:.0f} s; wrote {ns.out}")


if __name__ == "__main__":
    main()
