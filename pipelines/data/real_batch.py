"""The first real MNIST training images as the models see them, straight from the mirror.

For benchmarks and tests that need a real batch without a prepared dataset: the official
IDX file is read from the offline mirror (``$FSVAE_DATA_MIRROR``) and put through the
reference preprocessing (``reference_transform``, then ``to_model_range``), the same
pixels ``prepare_dataset`` stores.
"""

from __future__ import annotations

from pathlib import Path

import torch

from pipelines.data.arrays import to_model_range
from pipelines.data.errors import DataNotFoundError
from pipelines.data.mnist import read_idx_gz
from pipelines.data.prepare import preprocess_split, reference_transform
from pipelines.data.raw import MIRROR_ENV, RawSplit, resolve_mirror

MNIST_TRAIN_IMAGES = "MNIST/raw/train-images-idx3-ubyte.gz"


def first_mnist_images(n: int, mirror: str | Path | None = None) -> torch.Tensor:
    """Return the first ``n`` MNIST training images as float32 (n, 1, 32, 32) in [-1, 1].

    Args:
        n: Number of images.
        mirror: Data mirror folder (default: ``$FSVAE_DATA_MIRROR``).

    Raises:
        DataNotFoundError: If no mirror is given or it lacks the MNIST training images.

    """
    folder = resolve_mirror(mirror)
    if folder is None or not (folder / MNIST_TRAIN_IMAGES).is_file():
        raise DataNotFoundError(f"MNIST training images not found: set {MIRROR_ENV} to the mirror")
    images = read_idx_gz(folder / MNIST_TRAIN_IMAGES)[:n]
    pixels = preprocess_split(RawSplit(images), "mnist", reference_transform("mnist"), n, "mnist")
    return to_model_range(torch.from_numpy(pixels)).permute(0, 3, 1, 2).contiguous()
