"""Process-level settings: the C allocator, and the rank/world of a torchrun job.

FSVAE allocates many large, short-lived tensors ((T*N, C, H, W) activations of tens to
hundreds of MiB). glibc serves blocks above ``M_MMAP_THRESHOLD`` with fresh ``mmap``
pages and gives freed heap memory back to the kernel above ``M_TRIM_THRESHOLD``, so
every training step page-faults (and the kernel zeroes) its activations again. Raising
both thresholds keeps freed memory in the heap for reuse: measured 1.5-1.7x on FSVAE
training and sampling on the 2-core CPU (docs/performance.md). Peak memory is
unchanged; the process simply does not return its peak to the kernel between steps.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from dataclasses import dataclass
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
