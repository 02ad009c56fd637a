"""Reconstruction MSE on a test split, in the models' [-1, 1] pixel range."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from benchcore.contract import GenerativeModel
from pipelines.data import to_model_range


class ReconstructionMSE:
    """Mean squared error of ``model.reconstruct`` over every pixel of a split.

    The reference averaged per-batch means with equal weight; here every pixel counts
    once (identical when the batch size divides the split size).

    Args:
        split: Split name recorded in the protocol.
        batch_size: Images per call.
        seed: Seed of the ``torch.Generator`` given to ``reconstruct`` (latent draws).
        device: Torch device.
        progress: Show a tqdm bar.

    """

    name = "recon_mse"

    def __init__(
        self,
        split: str = "test",
        batch_size: int = 250,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = True,
    ) -> None:
        self.split, self.batch_size, self.seed = split, batch_size, seed
        self.device = torch.device(device)
        self.progress = progress

    @torch.no_grad()
    def __call__(self, model: GenerativeModel, images_uint8: np.ndarray) -> dict[str, Any]:
        """Reconstruct uint8 images (N, H, W, C) in eval mode and return the MSE.

        Args:
            model: The model (switched to eval mode).
            images_uint8: The split's images as stored.

        Returns:
            Flat dict: ``recon_mse`` and its protocol fields.

        """
        model.eval()
        gen = torch.Generator(device=self.device).manual_seed(self.seed)
        total, count = 0.0, 0
        starts = range(0, len(images_uint8), self.batch_size)
        for start in tqdm(starts, desc="reconstruction", disable=not self.progress):
            batch = torch.from_numpy(images_uint8[start : start + self.batch_size])
            x = to_model_range(batch).permute(0, 3, 1, 2).contiguous().to(self.device)
            x_hat = model.reconstruct(x, generator=gen)
            total += float(torch.sum((x_hat.double() - x.double()) ** 2))
            count += x.numel()
        return {
            self.name: total / count,
            f"{self.name}_protocol": "mean over all pixels of the split, [-1, 1] range, eval mode",
            f"{self.name}_split": self.split,
            f"{self.name}_num_images": len(images_uint8),
            f"{self.name}_seed": self.seed,
        }
