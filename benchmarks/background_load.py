"""A fixed, bounded CPU load for benchmarks: one process whose threads each run a matmul loop.

Each thread multiplies two 512x512 float32 matrices with one intra-op thread, so the
load occupies exactly ``threads`` cores and does not depend on how its own threads
are scheduled. The process stops by itself after ``max_seconds`` or as soon as its
parent is gone, and :func:`background_load` stops it on leaving the ``with`` block,
Ctrl-C included.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

MATRIX_N = 512


def _spin(threads: int, max_seconds: float, parent: int, ready: mp.Event) -> None:
    import torch

    torch.set_num_threads(1)
    deadline = time.monotonic() + max_seconds

    def loop() -> None:
        a, b = torch.randn(MATRIX_N, MATRIX_N), torch.randn(MATRIX_N, MATRIX_N)
        while time.monotonic() < deadline and os.getppid() == parent:
            for _ in range(10):  # ~10-30 ms of work between checks
                a @ b

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    ready.set()
    for worker in workers:
        worker.join()


@contextmanager
def background_load(threads: int = 2, max_seconds: float = 600.0) -> Iterator[None]:
    """Keep ``threads`` cores busy with matmuls while the block runs.

    Args:
        threads: Cores to occupy.
        max_seconds: Upper bound on the load's life even if nobody stops it.

    Yields:
        Nothing; the load is running (all threads started) inside the block.

    """
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_spin, args=(threads, max_seconds, os.getpid(), ready), daemon=True)
    proc.start()
    try:
        if not ready.wait(timeout=120):
            raise RuntimeError("the background load did not start within 120 s")
        time.sleep(0.5)  # let the scheduler see it as a steady load
        yield
    finally:
        proc.terminate()
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join()
