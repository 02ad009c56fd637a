"""Rank and world of a ``torchrun`` job, and the device its collectives run on.

An NCCL group has no CPU backend: every tensor it reduces lives on this rank's GPU, and
``torch.cuda.set_device(local_rank)`` comes before the group is created, so object
collectives (which use the current CUDA device) do not all land on ``cuda:0``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """Rank and world size of this process in a ``torchrun`` job (1 process: rank 0 of 1).

    Attributes:
        rank: Global rank.
        world: Number of processes.
        local_rank: Rank on this machine (selects the GPU).
        owns_group: Whether :meth:`from_env` created the process group (and so
            :meth:`shutdown` destroys it).
        device: Where collective tensors live: this rank's GPU for NCCL, else ``cpu``.

    """

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False
    device: str = "cpu"

    @classmethod
    def from_env(cls, device: str) -> DistContext:
        """Join the process group torchrun describes (``WORLD_SIZE``, ``RANK``, ...).

        Uses an already initialised group if there is one (e.g. tests that spawn
        processes themselves); NCCL on CUDA, gloo on the CPU.

        Args:
            device: The resolved training device (``cpu``, ``meta`` or ``cuda:i``;
                :func:`pipelines.process.device.resolve_device` gives ``cuda:LOCAL_RANK``
                under torchrun).

        Returns:
            The context; a single-process one when no distributed job is set up.

        """
        owns = False
        cuda = torch.device(device).type == "cuda"
        if not dist.is_initialized():
            if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
                return cls()
            if cuda:
                torch.cuda.set_device(torch.device(device))  # before NCCL binds a device
            dist.init_process_group(backend="nccl" if cuda else "gloo")
            owns = True
        elif cuda:
            torch.cuda.set_device(torch.device(device))
        local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
        comm = device if dist.get_backend() == "nccl" else "cpu"
        return cls(dist.get_rank(), dist.get_world_size(), local, owns, comm)

    @property
    def is_main(self) -> bool:
        """Whether this process writes checkpoints and logs."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every rank (no-op in a single process)."""
        if self.world > 1:
            dist.barrier()

    def all_gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order (``[obj]`` in a single process)."""
        if self.world == 1:
            return [obj]
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if self.world == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0, device=torch.device(self.device))
        return box[0]

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of ``values`` over ranks (for logging; identity in one process)."""
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.cpu().tolist()

    def shutdown(self) -> None:
        """Destroy the process group if :meth:`from_env` created it."""
        if self.owns_group:
            dist.destroy_process_group()
