"""Sources for speed claims in code comments: layout, LIF chunking, imports, Fréchet distance.

Usage::

    nice -n 10 .venv/bin/python benchmarks/ab_layout_chunk.py [threads] [iters]

Prints, per item, the median over ``iters`` interleaved repeats (CPU time of the main
thread, robust on a shared machine) and the ratio; docs/performance.md records the results.

1. Every conv / transposed conv of FSVAE's MNIST network, forward + backward on
   ``T * N = 1024`` folded images: NCHW against channels-last input and weights.
2. The fused LIF (``fsvae.fused_lif``), forward + backward over T = 16 on the first
   encoder block's currents (batch 64, 32x16x16) and the full-resolution final block's
   (32x32x32): cache-sized chunks (``_CHUNK``, the default) against whole-tensor steps.
3. ``import torchvision`` in a fresh interpreter (wall time; stages that never need it
   avoid it).
4. The Fréchet distance of two 2048-d Gaussians (covariances of 4096 random features, full
   rank): ours (``pipelines.metrics.frechet``, two symmetric eigendecompositions) against
   pytorch-fid's ``calculate_frechet_distance`` (``scipy.linalg.sqrtm``), once each.

5. The fused LIF against the same equations with ordinary autograd, a Python loop over T
   (the reference's way), forward + backward on the first encoder block's currents.

``--only N`` runs item N alone.
"""

from __future__ import annotations

import copy
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import fsvae.fused_lif as fused_lif  # noqa: E402
import fsvae.neurons as neurons  # noqa: E402

# (name, module, input channels, input size) of FSVAE's MNIST network at T * N = 1024.
LAYERS = [
    ("conv 1->32", nn.Conv2d(1, 32, 3, 2, 1), 1, 32),
    ("conv 32->64", nn.Conv2d(32, 64, 3, 2, 1), 32, 16),
    ("conv 64->128", nn.Conv2d(64, 128, 3, 2, 1), 64, 8),
    ("conv 128->256", nn.Conv2d(128, 256, 3, 2, 1), 128, 4),
    ("convT 256->128", nn.ConvTranspose2d(256, 128, 3, 2, 1, 1), 256, 2),
    ("convT 128->64", nn.ConvTranspose2d(128, 64, 3, 2, 1, 1), 128, 4),
    ("convT 64->32", nn.ConvTranspose2d(64, 32, 3, 2, 1, 1), 64, 8),
    ("convT 32->32", nn.ConvTranspose2d(32, 32, 3, 2, 1, 1), 32, 16),
    ("convT 32->1", nn.ConvTranspose2d(32, 1, 3, 1, 1), 32, 32),
]


def _cpu_time(fn: Callable[[], None]) -> float:
    start = time.thread_time()
    fn()
    return time.thread_time() - start


def _ab(a: Callable[[], None], b: Callable[[], None], iters: int) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` run alternately after one warm-up each."""
    a(), b()
    ta, tb = [], []
    for _ in range(iters):
        ta.append(_cpu_time(a))
        tb.append(_cpu_time(b))
    return statistics.median(ta), statistics.median(tb)


def _fwd_bwd(layer: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        layer.zero_grad(set_to_none=True)
        x.grad = None
        layer(x).sum().backward()

    return run


def layouts(iters: int) -> None:
    """Item 1: NCHW vs channels-last, per layer."""
    torch.manual_seed(0)
    for name, layer, channels, size in LAYERS:
        spikes = (torch.rand(1024, channels, size, size) < 0.2).float()
        last = spikes.contiguous(memory_format=torch.channels_last).requires_grad_()
        nchw = _fwd_bwd(layer, spikes.requires_grad_())
        cl = _fwd_bwd(copy.deepcopy(layer).to(memory_format=torch.channels_last), last)
        t_nchw, t_cl = _ab(nchw, cl, iters)
        print(
            f"{name:15s} NCHW {t_nchw * 1e3:7.1f} ms  channels-last {t_cl * 1e3:7.1f} ms  "
            f"channels-last speed-up {t_nchw / t_cl:4.2f}x"
        )


def lif_chunks(iters: int) -> None:
    """Item 2: the fused LIF in cache-sized chunks vs whole-tensor steps, two layer sizes."""
    default = fused_lif._CHUNK
    lif = neurons.LIF()
    # The first encoder block's currents and the full-resolution final block's (batch 64).
    for shape in ((16, 64, 32, 16, 16), (16, 64, 32, 32, 32)):
        torch.manual_seed(0)
        current = (torch.randn(shape) * 0.2).requires_grad_()

        def run(chunk: int, current: torch.Tensor = current) -> Callable[[], None]:
            def step() -> None:
                fused_lif._CHUNK = chunk
                try:
                    current.grad = None
                    lif(current).sum().backward()
                finally:
                    fused_lif._CHUNK = default

            return step

        t_chunk, t_whole = _ab(run(default), run(current[0].numel()), iters)
        print(
            f"LIF {tuple(shape)} chunks {t_chunk * 1e3:7.1f} ms  whole tensor "
            f"{t_whole * 1e3:7.1f} ms  whole/chunks {t_whole / t_chunk:4.2f}x"
        )


def torchvision_import(iters: int) -> None:
    """Item 3: wall time of ``import torchvision`` (after ``import torch``) in a fresh process."""
    code = (
        "import time, torch; t = time.perf_counter(); import torchvision; "
        "print(time.perf_counter() - t)"
    )
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(iters)
    ]
    print(
        f"import torchvision: {', '.join(f'{t:.1f}' for t in times)} s "
        f"(median {statistics.median(times):.1f} s)"
    )


def frechet() -> None:
    """Item 4: our Fréchet distance against pytorch-fid's at 2048 dimensions (wall time)."""
    import numpy as np
    from pytorch_fid.fid_score import calculate_frechet_distance

    from pipelines.metrics.frechet import frechet_distance, gaussian_stats

    rng = np.random.default_rng(0)
    mu1, s1 = gaussian_stats(rng.standard_normal((4096, 2048)))
    mu2, s2 = gaussian_stats(rng.standard_normal((4096, 2048)) * 1.1 + 0.1)
    start = time.perf_counter()
    ours = frechet_distance(mu1, s1, mu2, s2)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    theirs = calculate_frechet_distance(mu1, s1, mu2, s2)
    t_theirs = time.perf_counter() - start
    print(
        f"Frechet 2048-d: ours {t_ours:.1f} s ({ours:.6f}), pytorch-fid/sqrtm {t_theirs:.1f} s "
        f"({theirs:.6f}), speed-up {t_theirs / t_ours:.1f}x"
    )


def lif_fused_vs_loop(iters: int) -> None:
    """Item 5: the fused LIF against a plain autograd loop over T (reset gradient kept)."""
    torch.manual_seed(0)
    current = (torch.randn(16, 64, 32, 16, 16) * 0.2).requires_grad_()
    lif = neurons.LIF()

    def fused() -> None:
        current.grad = None
        lif(current).sum().backward()

    def loop() -> None:
        current.grad = None
        mem, spk, out = None, None, []
        for i_t in current.unbind(0):
            mem = i_t if mem is None else 0.25 * mem * (1 - spk) + i_t
            spk = lif.fire(mem)
            out.append(spk)
        torch.stack(out).sum().backward()

    t_fused, t_loop = _ab(fused, loop, iters)
    print(
        f"LIF fused {t_fused * 1e3:7.1f} ms  autograd loop {t_loop * 1e3:7.1f} ms  "
        f"fused speed-up {t_loop / t_fused:4.2f}x"
    )


def main(threads: int, iters: int, only: int | None = None) -> None:
    """Run the items (or item ``only``) and print their results."""
    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, {threads} thread(s), median of {iters}")
    items = {
        1: lambda: layouts(iters),
        2: lambda: lif_chunks(iters),
        3: lambda: torchvision_import(max(3, iters // 2)),
        4: frechet,
        5: lambda: lif_fused_vs_loop(iters),
    }
    for number, item in items.items():
        if only in (None, number):
            item()


if __name__ == "__main__":
    argv = sys.argv[1:]
    only = None
    if "--only" in argv:
        at = argv.index("--only")
        only = int(argv[at + 1])
        del argv[at : at + 2]
    args = [int(a) for a in argv]
    main(*(args + [1, 5][len(args) :]), only=only)
