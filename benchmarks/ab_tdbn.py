"""A/B of the float32-accurate tdBN: FSVAE MNIST train steps before/after, one process.

Usage::

    FSVAE_DATA_MIRROR=... nice -n 10 .venv/bin/python benchmarks/ab_tdbn.py [threads] [iters]

Three configurations of one model, interleaved step by step (median of ``iters``):
``before`` (PyTorch's channels-last batch-norm kernel everywhere), ``accurate``
(:mod:`fsvae.batchnorm` on channels-last tdBN) and ``after`` (accurate, and the
full-resolution block ``final_layer.0`` in NCHW, as the model is built). Prints CPU
time of the main thread (robust on a shared machine) and wall time.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import fsvae.tdbn as tdbn  # noqa: E402
from pipelines.data.real_batch import first_mnist_images  # noqa: E402
from pipelines.process.allocator import tune_allocator  # noqa: E402
from pipelines.registry import build_model  # noqa: E402


def main(threads: int, iters: int) -> None:
    """Run the A/B and print medians and throughput ratios against ``before``."""
    tune_allocator()
    torch.set_num_threads(threads)
    accurate = tdbn.needs_accurate_path
    x = first_mnist_images(64)
    torch.manual_seed(0)
    model = build_model("fsvae", "mnist", n_steps=16)
    model.begin_epoch(75, 150, 240)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-3)
    block = model.final_layer[0]

    def configure(name: str) -> None:
        tdbn.needs_accurate_path = (lambda _x: False) if name == "before" else accurate
        block.channels_last = name != "after"

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        model.loss(x)["loss"].backward()
        opt.step()

    names = ["before", "accurate", "after"]
    times: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    for name in names:  # warm-up
        configure(name)
        step()
    for i in range(iters):
        for name in names[i % 3 :] + names[: i % 3]:
            configure(name)
            cpu, wall = time.thread_time(), time.perf_counter()
            step()
            times[name].append((time.thread_time() - cpu, time.perf_counter() - wall))
    base_cpu = statistics.median(c for c, _ in times["before"])
    base_wall = statistics.median(w for _, w in times["before"])
    for name, vals in times.items():
        cpu = statistics.median(c for c, _ in vals)
        wall = statistics.median(w for _, w in vals)
        print(
            f"{name:9s} cpu {cpu:.3f} s  wall {wall:.3f} s  "
            f"throughput vs before: cpu {base_cpu / cpu:.3f}  wall {base_wall / wall:.3f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1, int(sys.argv[2]) if len(sys.argv) > 2 else 6)
