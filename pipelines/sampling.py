"""Generate images from a trained model: uint8 arrays and PNG grids for people to look at."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torchvision.utils import make_grid, save_image
from tqdm import tqdm

from fsvae.contract import GenerativeModel


@torch.no_grad()
def generate(
    model: GenerativeModel,
    n: int,
    seed: int,
    batch_size: int = 250,
    progress: bool = True,
) -> torch.Tensor:
    """Draw ``n`` images in batches with a seeded generator.

    Args:
        model: A model in eval mode.
        n: Number of images.
        seed: Seed of the generator (the same seed gives the same images).
        batch_size: Images per call to ``model.sample``.
        progress: Show a progress bar.

    Returns:
        Float images in [-1, 1], shape (n, C, H, W), on the CPU.

    """
    if n < 1:
        raise ValueError(f"number of samples must be >= 1, got {n}")
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    chunks = []
    with tqdm(total=n, desc="sampling", unit="img", disable=not progress) as bar:
        while sum(len(c) for c in chunks) < n:
            size = min(batch_size, n - sum(len(c) for c in chunks))
            chunks.append(model.sample(size, generator=generator).clamp(-1, 1).cpu())
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


def to_uint8_hwc(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] floats (N, C, H, W) -> uint8 (N, H, W, C), rounded like real images are stored."""
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).numpy()


def save_npz_atomic(path: str | Path, **arrays: np.ndarray) -> None:
    """Write an ``.npz`` through a temporary file so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_grid(images: torch.Tensor, path: str | Path, nrow: int = 8) -> None:
    """Save [-1, 1] images as one PNG grid (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = make_grid(images, nrow=nrow, padding=2, normalize=True, value_range=(-1, 1))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        save_image(grid, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def reconstruction_grid(originals: torch.Tensor, recons: torch.Tensor) -> torch.Tensor:
    """Interleave rows of originals and their reconstructions (8 per row) for a grid."""
    rows = []
    for start in range(0, len(originals), 8):
        rows += [originals[start : start + 8], recons[start : start + 8]]
    return torch.cat(rows)
