"""Process-level settings: C allocator, thread count, rank/world of a torchrun job.

FSVAE allocates many large, short-lived tensors ((T*N, C, H, W) activations of tens to
hundreds of MiB). glibc serves blocks above ``M_MMAP_THRESHOLD`` with fresh ``mmap``
pages and gives freed heap memory back to the kernel above ``M_TRIM_THRESHOLD``, so
every training step page-faults (and the kernel zeroes) its activations again. Raising
both thresholds keeps freed memory in the heap for reuse: measured 1.5-1.7x on FSVAE
training and sampling on the 2-core CPU (docs/performance.md). Peak memory is
unchanged; the process simply does not return its peak to the kernel between steps.

Thread count: PyTorch's intra-op threads meet at a barrier after every parallel op.
When other processes keep some of the cores busy, one of our threads is often
descheduled and the others wait for it for a whole scheduler time slice, thousands of
times per FSVAE step (the LIF loop is many small ops): on the 2-core machine, sampling
under load ran 4x faster on 1 thread than on 2 (docs/performance.md).
:func:`choose_num_threads` therefore uses only the cores other processes leave free.

Neither setting is applied on import or by ``build_model``: the ``fsvae-bench`` command
line applies both (:func:`tune_process`) and library users opt in with the same call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# glibc mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# mallopt takes an int: the largest threshold it can express.
_INT_MAX = 2**31 - 1


def tune_allocator(mmap_threshold: int = 1 << 30, trim_threshold: int = _INT_MAX) -> bool:
    """Keep large freed blocks in glibc's heap instead of unmapping them.

    Equivalent to starting the process with ``MALLOC_MMAP_THRESHOLD_`` and
    ``MALLOC_TRIM_THRESHOLD_`` set, but can be called at run time. Results are not
    affected: only where memory comes from.

    Args:
        mmap_threshold: Blocks at least this large still get their own mapping (bytes).
        trim_threshold: Free memory at the top of the heap kept before trimming (bytes).

    Returns:
        Whether the settings were applied (False off Linux/glibc, e.g. macOS or musl).

    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(_M_MMAP_THRESHOLD, min(mmap_threshold, _INT_MAX))
    ok &= mallopt(_M_TRIM_THRESHOLD, min(trim_threshold, _INT_MAX))
    return bool(ok)


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


@dataclass(frozen=True)
class DistContext:
    """Rank and world size of this process in a ``torchrun`` job (1 process: rank 0 of 1).

    Attributes:
        rank: Global rank.
        world: Number of processes.
        local_rank: Rank on this machine (selects the GPU).
        owns_group: Whether :meth:`from_env` created the process group (and so
            :meth:`shutdown` destroys it).

    """

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @classmethod
    def from_env(cls, device: str) -> DistContext:
        """Join the process group torchrun describes (``WORLD_SIZE``, ``RANK``, ...).

        Uses an already initialised group if there is one (e.g. tests that spawn
        processes themselves); NCCL on CUDA, gloo on the CPU.

        Args:
            device: The training device string (``cpu``, ``cuda``, ``cuda:i``).

        Returns:
            The context; a single-process one when no distributed job is set up.

        """
        import torch.distributed as dist

        owns = False
        if not dist.is_initialized():
            if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
                return cls()
            dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
            owns = True
        local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
        return cls(dist.get_rank(), dist.get_world_size(), local, owns)

    @property
    def is_main(self) -> bool:
        """Whether this process writes checkpoints and logs."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every rank (no-op in a single process)."""
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def all_gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order (``[obj]`` in a single process)."""
        if self.world == 1:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if self.world == 1:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of ``values`` over ranks (for logging; identity in one process)."""
        if self.world == 1:
            return values
        import torch
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return t.tolist()

    def shutdown(self) -> None:
        """Destroy the process group if :meth:`from_env` created it."""
        if self.owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()
