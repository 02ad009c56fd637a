"""Expected GPU time of the paper profile, from work counted on PyTorch's ``meta`` device.

No GPU is needed: each model's training step (loss + backward) at the paper profile's
batch and T = 16 runs on ``meta`` under ``torch.utils.flop_counter.FlopCounterMode``
(convolutions and matmuls; elementwise work is not counted) and a dispatch counter (every
ATen op is at least one kernel launch on a GPU). The estimate is an assumption, not a
measurement: a step takes max(FLOPs / achieved throughput, ops x time per op), the GPU's
arithmetic and the host's launches overlapping at best. Defaults: 20 TFLOP/s achieved in
float32 (TF32 off; an H100 SXM's FP32 peak is 67 TFLOP/s, small convolutions reach a
fraction of it) and 8 us per dispatched op (eager PyTorch's host-side cost per op).

Usage: ``python benchmarks/gpu_estimate.py --out results/gpu_estimate.json`` (~1-3 min on
2 CPU cores); docs/gpu.md prints its table.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from pipelines.params import load_params, train_config
from pipelines.profiling.op_counter import OpCounter
from pipelines.registry import build_model

ROOT = Path(__file__).resolve().parents[1]
TRAIN_IMAGES = {"mnist": 60_000, "fashion-mnist": 60_000, "cifar10": 50_000, "celeba": 162_770}
TEST_IMAGES = {"mnist": 10_000, "fashion-mnist": 10_000, "cifar10": 10_000, "celeba": 19_962}


def count_step(model_name: str, dataset: str, batch: int, options: dict) -> dict[str, float]:
    """FLOPs and dispatched ops of one training step (loss + backward) on ``meta``."""
    torch.manual_seed(0)
    model = build_model(model_name, dataset, **options).to("meta").train()
    x = torch.empty(batch, *model.input_shape, device="meta")
    flops, ops = FlopCounterMode(display=False), OpCounter()
    with flops, ops:
        model.loss(x)["loss"].backward()
    return {"flops": float(flops.get_total_flops()), "ops": ops.total}


def main() -> None:
    """Count, estimate and write the JSON table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="profiles/paper.yaml", help="from the repo root")
    parser.add_argument("--tflops", type=float, default=20.0, help="achieved TFLOP/s (assumed)")
    parser.add_argument("--us-per-op", type=float, default=8.0, help="host us per op (assumed)")
    parser.add_argument("--datasets", default="mnist,cifar10,celeba")
    parser.add_argument("--out", help="JSON output")
    ns = parser.parse_args()
    params = load_params(ROOT / ns.params)
    rows = []
    for dataset in ns.datasets.split(","):
        for model in params["pipeline"]["models"]:
            cfg = train_config(params, model, dataset)
            step = count_step(cfg.model, dataset, cfg.batch_size, cfg.model_options)
            steps = math.ceil(TRAIN_IMAGES[dataset] / cfg.batch_size) * cfg.epochs
            compute_s = step["flops"] / (ns.tflops * 1e12)
            launch_s = step["ops"] * ns.us_per_op * 1e-6
            step_s = max(compute_s, launch_s)
            # Test-loss passes (forward only, ~1/3 of a step's work) add about
            # test/train images x 1/3 to the training time.
            hours = steps * (1 + TEST_IMAGES[dataset] / 3 / TRAIN_IMAGES[dataset]) / 3600
            row = {
                "dataset": dataset,
                "model": model,
                "options": cfg.model_options,
                "batch": cfg.batch_size,
                "epochs": cfg.epochs,
                "steps": steps,
                "gflop_per_step": step["flops"] / 1e9,
                "ops_per_step": step["ops"],
                "step_s_compute": compute_s,
                "step_s_launch": launch_s,
                "bound": "launch" if launch_s > compute_s else "compute",
                "train_hours": hours * step_s,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    record = {
        "assumptions": {
            "achieved_tflops_fp32": ns.tflops,
            "us_per_dispatched_op": ns.us_per_op,
            "step_time": "max(FLOPs / throughput, ops x time per op)",
            "flops_counted": "FlopCounterMode: convolutions and matmuls only",
            "T": 16,
            "measured": False,
        },
        "params": ns.params,
        "torch": torch.__version__,
        "rows": rows,
    }
    if ns.out:
        Path(ns.out).parent.mkdir(parents=True, exist_ok=True)
        Path(ns.out).write_text(json.dumps(record, indent=2) + "\n")
    print(markdown_table(rows))


def _duration(hours: float) -> str:
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


def markdown_table(rows: list[dict]) -> str:
    """The table docs/gpu.md shows, with the whole profile's total on one and on 12 GPUs."""
    lines = [
        "| dataset | model | batch | epochs | steps | GFLOP/step | ops/step | compute ms/step "
        "| launch ms/step | bound | training |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['model']} | {r['batch']} | {r['epochs']} | {r['steps']:,} "
            f"| {r['gflop_per_step']:.0f} | {r['ops_per_step']:,} "
            f"| {r['step_s_compute'] * 1e3:.0f} | {r['step_s_launch'] * 1e3:.0f} "
            f"| {r['bound']} | {_duration(r['train_hours'])} |"
        )
    # Fashion-MNIST trains like MNIST: its rows count again.
    total = sum(r["train_hours"] * (2 if r["dataset"] == "mnist" else 1) for r in rows)
    longest = max(r["train_hours"] for r in rows)
    lines.append(
        f"\nWhole profile (Fashion-MNIST counted as MNIST): {_duration(total)} on one GPU; "
        f"{_duration(longest)} on one GPU per run (the longest run)."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
