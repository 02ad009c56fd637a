"""CPU intra-op thread count: load-aware choice, and the one-call opt-in.

PyTorch's intra-op threads meet at a barrier after every parallel op. When other
processes keep some of the cores busy, one of our threads is often descheduled and the
others wait for it for a whole scheduler time slice, thousands of times per FSVAE step
(the LIF loop is many small ops; measurements in docs/performance.md).
:func:`choose_num_threads` therefore uses only the cores other processes leave free.

Neither setting is applied on import or by ``build_model``: the ``fsvae-bench`` command
line applies both (:func:`tune_process`) and library users opt in with the same call.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pipelines.process.allocator import tune_allocator


def busy_cpus(samples: int = 3, interval_s: float = 0.01) -> float:
    """How many cores other processes keep busy right now (Linux; 0.0 elsewhere).

    Counts the runnable threads of every other process in ``/proc``, each weighted by
    its scheduler share against a thread of ours (a ``nice 10`` job beside our
    ``nice 0`` threads counts 0.1), and takes the median of a few snapshots so a
    short-lived command does not count.

    Args:
        samples: Snapshots to take.
        interval_s: Seconds between snapshots.

    Returns:
        The weighted number of other runnable threads.

    """
    proc = Path("/proc")
    if not (proc / "self" / "stat").is_file():
        return 0.0
    me = os.getpid()
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    counts = []
    for i in range(samples):
        if i:
            time.sleep(interval_s)
        busy = 0.0
        for pid in (e.name for e in os.scandir(proc) if e.name.isdigit()):
            if int(pid) == me:
                continue
            try:
                tasks = [t.path for t in os.scandir(proc / pid / "task")]
            except OSError:  # the process just ended, or is not ours to see
                continue
            for task in tasks:
                try:
                    with open(f"{task}/stat", "rb") as handle:
                        stat = handle.read()
                except OSError:
                    continue
                fields = stat[stat.rfind(b")") + 2 :].split()
                if fields[0] == b"R":
                    # CFS weights fall by 1.25x per nice level.
                    busy += min(1.0, 1.25 ** (ours - int(fields[16])))
        counts.append(busy)
    return sorted(counts)[len(counts) // 2]


def default_num_threads() -> int:
    """PyTorch's default thread count: ``OMP_NUM_THREADS``, else the usable physical cores."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    import psutil

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    physical = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    return max(1, min(physical, usable or physical))


def choose_num_threads(max_threads: int | None = None, busy: float | None = None) -> int:
    """Intra-op threads to use now: the cores other processes leave free, at least 1.

    Args:
        max_threads: Upper bound (default :func:`default_num_threads`).
        busy: Cores busy with other work (default: measured by :func:`busy_cpus`).

    Returns:
        The thread count.

    """
    max_threads = max_threads or default_num_threads()
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    busy = busy_cpus() if busy is None else busy
    return max(1, min(max_threads, cores - int(busy + 0.5)))


def tune_process(allocator: bool = True, threads: bool = True) -> int:
    """Apply the benchmarked CPU settings to this process (one line for library users).

    ``fsvae-bench`` calls this once per command; ``build_model`` never does (both
    settings are process-wide). The thread count is chosen once, at this call, so a
    run does not change its float summation order half way; ``OMP_NUM_THREADS`` in the
    environment pins it (for bit-identical repeats on one machine).

    Args:
        allocator: Keep freed memory in glibc's heap (:func:`tune_allocator`).
        threads: Use only the cores other processes leave free (:func:`choose_num_threads`).

    Returns:
        The intra-op thread count now in use.

    """
    import torch

    if allocator:
        tune_allocator()
    if threads and not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(choose_num_threads())
    return torch.get_num_threads()
