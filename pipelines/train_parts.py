"""The training loop's parts that need no Trainer: run state, data order, logs, test loss.

Also the loss as a module (for DDP and torch.compile) and whether a saved run can be
resumed with this run's settings and device.

Kept apart from :mod:`pipelines.train` (which re-exports them) so that module stays about
the loop itself.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from benchcore.contract import GenerativeModel
from pipelines.data.atomic import write_text_atomic
from pipelines.process.device import device_type, seeded_fork
from pipelines.train_config import TrainConfig


@dataclass
class RunState:
    """Where a run is: what a checkpoint records besides weights and RNG states."""

    epoch: int = 0
    batch_in_epoch: int = 0
    step: int = 0
    best_test_loss: float = math.inf
    finished: bool = False
    train_log: list[dict[str, float]] | None = None
    test_log: list[dict[str, float]] | None = None


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Return the shuffled batches of one epoch, a pure function of (seed, epoch).

    Args:
        n: Dataset size.
        batch_size: Batch size (the last batch may be smaller).
        seed: Run seed.
        epoch: Epoch index.

    Returns:
        Lists of dataset indices.

    """
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(n, generator=gen).tolist()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def write_csv_atomic(path: Path, rows: Sequence[dict[str, float]]) -> None:
    """Write log rows as CSV through a temporary file and a rename (nothing if no rows)."""
    if not rows:
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def to_float(value: torch.Tensor) -> float:
    """A 0-d tensor's value (a device sync on a GPU): the default ``read_scalar``."""
    return float(value)


@torch.no_grad()
def test_loss(
    model: GenerativeModel,
    images: torch.utils.data.Dataset,
    cfg: TrainConfig,
    device: str,
    read_scalar: Callable[[torch.Tensor], float] = to_float,
) -> dict[str, float]:
    """Mean of each loss term over the test images, in eval mode, with a fixed seed.

    The CPU generator and ``device``'s own are forked and seeded (no other device's is
    touched), so measuring the test loss never shifts the training run's random stream,
    on the CPU or on a GPU.

    Args:
        model: The model (left in train mode afterwards).
        images: The test set.
        cfg: The run's settings (seed, batch size).
        device: The resolved device.
        read_scalar: Turns a 0-d tensor into a float (``.item()``; a seam for ``meta``).

    """
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    with seeded_fork(device, cfg.seed):
        for x in DataLoader(images, batch_size=cfg.batch_size, shuffle=False):
            terms = model.loss(x.to(device))
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + read_scalar(value) * len(x)
            count += len(x)
    model.train()
    return {key: value / count for key, value in sums.items()}


class LossModule(nn.Module):
    """``model.loss`` as a forward pass, so DDP and torch.compile see the training step."""

    def __init__(self, model: GenerativeModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return the model's loss terms for a batch."""
        return self.model.loss(x)


def same_settings(ckpt: dict[str, Any], config: TrainConfig) -> bool:
    """Whether a checkpoint was written by a run with these training settings.

    Options added later (absent from older checkpoints) count as their defaults;
    ``device`` moved to ``runtime`` (older checkpoints have it in their train_config).
    """
    saved = {**TrainConfig(model=config.model).to_dict(), **ckpt["train_config"]}
    saved.pop("device", None)
    return saved == config.to_dict()


def device_change(ckpt: dict[str, Any], device: str) -> str | None:
    """Why the checkpoint's device type differs from this run's (None: same or unknown).

    ``cuda:0`` -> ``cuda:1`` is the same device type and resumes; CPU <-> CUDA does
    not (checkpoints from before the ``runtime`` record count as unknown).
    """
    saved = (ckpt.get("runtime") or {}).get("device")
    if saved is None or device_type(saved) == device_type(device):
        return None
    return f"last.pt was written on {saved}, this run is on {device}"
