"""Prepared uint8 arrays to model tensors and back, and reading a user's image sets.

The prepared arrays hold exactly the pixels the reference's PIL pipeline produced, so
converting them here with the same float operations as ``ToTensor`` followed by
``2x - 1`` gives bit-identical model inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from benchcore.datasets import uses_hflip
from pipelines.data.errors import DataFormatError, DataNotFoundError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def to_model_range(images_uint8: torch.Tensor) -> torch.Tensor:
    """Map uint8 pixels to float32 in [-1, 1] exactly as ``ToTensor`` then ``2x - 1``.

    Args:
        images_uint8: uint8 tensor of any shape (layout is left to the caller).

    Returns:
        float32 tensor of the same shape.

    """
    # Same op order as torchvision's ToTensor (to float, div 255) and the reference's
    # SetRange lambda (2 * x - 1), so the floats match bit for bit.
    return images_uint8.to(torch.float32).div(255).mul(2).sub(1)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Quantise model-range images in [-1, 1] to uint8 pixels (rounded, clamped).

    The inverse of :func:`to_model_range`: ``to_uint8(to_model_range(x)) == x``.

    Args:
        images: Float tensor with values nominally in [-1, 1].

    Returns:
        uint8 tensor of the same shape.

    """
    scaled = (images.detach().to(torch.float32) + 1).div(2).mul(255)
    return scaled.round().clamp(0, 255).to(torch.uint8)


def as_nhwc(images: np.ndarray, source: str = "array") -> np.ndarray:
    """Validate a uint8 image batch and give it an explicit channel axis.

    Args:
        images: uint8 (N, H, W) or (N, H, W, C) with C in 1, 3.
        source: Name used in error messages.

    Returns:
        uint8 (N, H, W, C).

    Raises:
        DataFormatError: On another dtype or shape.

    """
    if images.dtype != np.uint8:
        raise DataFormatError(
            f"{source}: images must be uint8 pixels 0..255, got {images.dtype}; convert first"
        )
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise DataFormatError(
            f"{source}: images must be (N, H, W) or (N, H, W, C) with C 1 or 3, got {images.shape}"
        )
    return images


class ImageArrayDataset(Dataset[torch.Tensor]):
    """Model-ready float images from a uint8 (N, H, W[, C]) array.

    Items are float32 (C, H, W) tensors in [-1, 1]. With ``hflip`` each item is
    flipped left-right with probability 1/2, drawn from torch's RNG like
    ``RandomHorizontalFlip``, so ``torch.manual_seed`` makes it repeatable.
    """

    def __init__(self, images: np.ndarray, hflip: bool = False) -> None:
        """Wrap an array without copying it.

        Args:
            images: uint8 (N, H, W) or (N, H, W, C).
            hflip: Random horizontal flips (training-time augmentation only).

        """
        self.images = as_nhwc(np.asarray(images))
        self.hflip = hflip

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        pixels = torch.from_numpy(np.ascontiguousarray(self.images[index])).permute(2, 0, 1)
        image = to_model_range(pixels.contiguous())
        if self.hflip and torch.rand(1).item() < 0.5:
            image = image.flip(-1)
        return image


def make_dataset(images: np.ndarray, dataset: str, train: bool) -> ImageArrayDataset:
    """Build a split's dataset with the reference's augmentation: flips at train time only."""
    return ImageArrayDataset(images, hflip=train and uses_hflip(dataset))


def _folder_images(folder: Path) -> np.ndarray:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataNotFoundError(f"{folder} holds no {'/'.join(IMAGE_SUFFIXES)} images")
    pictures = []
    for path in files:
        with Image.open(path) as img:
            img.load()
            pictures.append(img)
    # Keep grey images single-channel; anything else (RGB, RGBA, palette) becomes RGB.
    mode = "L" if all(p.mode == "L" for p in pictures) else "RGB"
    arrays = [np.asarray(p.convert(mode)) for p in pictures]
    sizes = {a.shape for a in arrays}
    if len(sizes) != 1:
        raise DataFormatError(f"{folder}: images differ in size {sorted(sizes)}; resize them first")
    return np.stack(arrays)


def load_image_set(path: str | Path) -> np.ndarray:
    """Read a user's images: an ``.npz`` with key ``images`` or a folder of PNG/JPEG files.

    Args:
        path: ``.npz`` file (``images`` uint8 (N, H, W[, C])) or folder (files sorted by name).

    Returns:
        uint8 (N, H, W, C).

    Raises:
        DataNotFoundError: If the path or the images are missing.
        DataFormatError: If the content is not uint8 images of one size.

    """
    path = Path(path)
    if path.is_dir():
        return as_nhwc(_folder_images(path), str(path))
    if not path.is_file():
        raise DataNotFoundError(f"{path} not found: give an .npz file or a folder of images")
    try:
        with np.load(path) as data:
            if "images" not in data:
                raise DataFormatError(f"{path} has no 'images' array (keys: {list(data.keys())})")
            images = data["images"]
    except (OSError, ValueError) as err:
        if isinstance(err, DataFormatError):
            raise
        raise DataFormatError(f"{path} is not a readable .npz file ({err})") from err
    return as_nhwc(images, str(path))
