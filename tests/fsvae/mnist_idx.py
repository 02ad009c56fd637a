"""Tiny reader of the official MNIST IDX files, for tests only (no pipelines.data)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

from tests.mirror import data_mirror

MNIST_TRAIN = "MNIST/raw/train-images-idx3-ubyte.gz"


def mnist_train_file() -> Path:
    """The mirror's MNIST training images; skips the test without ``$FSVAE_DATA_MIRROR``."""
    return data_mirror() / MNIST_TRAIN


def load_mnist_images(n: int, path: Path | None = None) -> torch.Tensor:
    """Return the first n training images as (n, 1, 32, 32) in [-1, 1], as the reference."""
    with gzip.open(path or mnist_train_file(), "rb") as f:
        data = f.read()
    magic, count, rows, cols = np.frombuffer(data[:16], dtype=">i4")
    assert magic == 2051, "not an IDX image file"
    images = np.frombuffer(data[16:], dtype=np.uint8).reshape(count, rows, cols)[:n]
    tf = transforms.Compose([transforms.Resize(32), transforms.ToTensor()])
    return torch.stack([tf(Image.fromarray(img)) for img in images]) * 2 - 1
