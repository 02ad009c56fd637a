"""Generate images from a trained model: uint8 arrays and PNG grids for people to look at."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from benchcore.contract import GenerativeModel
from pipelines.data.atomic import atomic_target


@torch.no_grad()
def generate(
    model: GenerativeModel,
    n: int,
    seed: int,
    batch_size: int = 250,
    progress: bool = True,
) -> torch.Tensor:
    """Draw ``n`` images in batches with a seeded generator, in eval mode.

    The sample command and the evaluate stage both draw through here, so the same seed
    gives them the same images. Values are not clamped: the uint8 quantiser
    (``pipelines.data.to_uint8``) and the grids clamp.

    Args:
        model: The model (put in eval mode).
        n: Number of images.
        seed: Seed of the generator (the same seed gives the same images).
        batch_size: Images per call to ``model.sample``.
        progress: Show a progress bar.

    Returns:
        Float32 images, nominally in [-1, 1], shape (n, C, H, W), on the CPU.

    """
    if n < 1:
        raise ValueError(f"number of samples must be >= 1, got {n}")
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    chunks = []
    with tqdm(total=n, desc="sampling", unit="img", disable=not progress) as bar:
        for start in range(0, n, batch_size):
            size = min(batch_size, n - start)
            chunks.append(model.sample(size, generator=generator).float().cpu())
            bar.update(size)
    return torch.cat(chunks)


@torch.no_grad()
def reconstruct(
    model: GenerativeModel, images: torch.Tensor, seed: int, batch_size: int = 250
) -> torch.Tensor:
    """Reconstruct images (float, [-1, 1]) with a seeded generator; returns CPU floats."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    out = [
        model.reconstruct(chunk.to(device), generator=generator).clamp(-1, 1).cpu()
        for chunk in images.split(batch_size)
    ]
    return torch.cat(out)


def grid_pixels(images: torch.Tensor, nrow: int = 8, padding: int = 2) -> np.ndarray:
    """Tile [-1, 1] images into one uint8 RGB grid, as torchvision's grid and save do.

    Same pixels as ``save_image(make_grid(images, nrow, padding, normalize=True,
    value_range=(-1, 1)))``: clamped, scaled to [0, 1], black padding, gray to RGB.

    Written out rather than imported: ``import torchvision`` pulls in ``torch._dynamo``,
    seconds per sample stage (docs/performance.md); tests/pipelines/test_sampling_grid.py checks the
    pixels against torchvision's.

    Args:
        images: ``(N, C, H, W)`` with C = 1 or 3, values in [-1, 1] (clamped).
        nrow: Images per row.
        padding: Pixels between and around the tiles.

    Returns:
        ``(height, width, 3)`` uint8 pixels.

    """
    x = (images.detach().float().cpu().clamp(-1, 1) + 1) / 2
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    n, c, h, w = x.shape
    if n == 1:  # make_grid returns a lone image unpadded
        grid = x[0]
    else:
        cols = min(nrow, n)
        rows = -(-n // cols)
        grid = torch.zeros(c, rows * (h + padding) + padding, cols * (w + padding) + padding)
        for i in range(n):
            top, left = (i // cols) * (h + padding) + padding, (i % cols) * (w + padding) + padding
            grid[:, top : top + h, left : left + w] = x[i]
    return grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()


def save_grid(images: torch.Tensor, path: str | Path, nrow: int = 8) -> None:
    """Save [-1, 1] images as one PNG grid (atomically)."""
    pixels = grid_pixels(images, nrow=nrow)
    with atomic_target(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")


def reconstruction_grid(originals: torch.Tensor, recons: torch.Tensor) -> torch.Tensor:
    """Interleave rows of originals and their reconstructions (8 per row) for a grid."""
    rows = []
    for start in range(0, len(originals), 8):
        rows += [originals[start : start + 8], recons[start : start + 8]]
    return torch.cat(rows)
