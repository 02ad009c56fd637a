"""Check a user's image set against the protocol before any metric runs; convert only on request.

The sample metrics expect uint8 (N, H, W, C) pixels at the dataset's model resolution
(32x32 grayscale for MNIST / Fashion-MNIST, 32x32 RGB for CIFAR-10, 64x64 RGB for CelebA).
Anything else is refused with one line naming what was expected and found, unless the
user asks for a conversion explicitly:

- ``resize``: the paper's preprocessing (``pipelines.data.reference_transform``: PIL bilinear
  28x28 -> 32x32 for MNIST / Fashion-MNIST; centre-crop 148 then resize to 64x64 for CelebA
  originals of 218x178). Only from those original sizes: other sizes have no paper recipe.
- ``convert_channels``: RGB -> L (PIL's ITU-R 601-2 luma) or L -> RGB (channel repeated).
- ``value_range``: non-uint8 arrays are accepted only with a declared range ``[0,1]``,
  ``[-1,1]`` or ``[0,255]``; they are mapped linearly to [-1, 1] and quantised exactly as the
  pipeline quantises its own samples (``pipelines.data.to_uint8``: ``(x+1)/2*255``, round
  half to even, clamp), before any resize, like the real images (uint8 before PIL).

Whatever was done is returned as one text, recorded in every metric's protocol fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import numpy as np
import torch
from PIL import Image

from benchcore.datasets import DATASET_FACTS, dataset_facts, dataset_shape
from pipelines.data import DataFormatError, DataNotFoundError, load_image_set, reference_transform
from pipelines.data.arrays import to_uint8
from pipelines.data.prepare import preprocess_split
from pipelines.data.raw import RawSplit
from pipelines.metrics.registry import metric_spec

VALUE_RANGES = MappingProxyType(
    {"[0,1]": (0.0, 1.0), "[-1,1]": (-1.0, 1.0), "[0,255]": (0.0, 255.0)}
)
# The reference's transform is defined for these original sizes (H, W) only (CIFAR-10: none).
ORIGINAL_SIZES = MappingProxyType(
    {n: f.original_size for n, f in DATASET_FACTS.items() if f.original_size != f.shape[1:]}
)
# Float noise allowed beyond a declared bound, as a fraction of the range (values are clamped).
RANGE_TOLERANCE = 1e-4
_CHUNK = 1024  # images quantised at a time (bounds the float copy of large sets)


class ImageInputError(DataFormatError):
    """An image set does not match the protocol; the message says what to change."""


@dataclass(frozen=True)
class InputOptions:
    """Conversions the user asked for explicitly.

    Attributes:
        resize: Apply the paper's preprocessing from the dataset's original size.
        convert_channels: Convert RGB <-> grayscale to the dataset's channels.
        value_range: Declared range of a non-uint8 array (a key of ``VALUE_RANGES``).

    """

    resize: bool = False
    convert_channels: bool = False
    value_range: str | None = None


@dataclass(frozen=True)
class ProtocolImages:
    """Images ready for the metrics and how they were obtained.

    Attributes:
        images: uint8 (N, H, W, C) at the dataset's model resolution.
        preprocessing: What was done to the given images, in words.

    """

    images: np.ndarray
    preprocessing: str


def parse_value_range(text: str) -> str:
    """Normalise a declared range (``0,1``, ``[0, 1]``, ``-1,1``, ...) to a ``VALUE_RANGES`` key."""
    key = "[" + text.replace(" ", "").strip("[]()") + "]"
    if key not in VALUE_RANGES:
        raise ImageInputError(f"value range {text!r}: one of {', '.join(VALUE_RANGES)}")
    return key


def read_images(path: str | Path) -> np.ndarray:
    """Read an ``.npz`` (array ``images``, any numeric dtype) or a folder of PNG/JPEG files.

    Raises:
        DataNotFoundError: If the path or the images are missing.
        ImageInputError: If the file cannot be read as images.

    """
    path = Path(path)
    if path.is_dir():
        try:
            return load_image_set(path)
        except (DataFormatError, DataNotFoundError):
            raise
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
            raise ImageInputError(f"{path}: an image could not be read ({err})") from err
    if not path.is_file():
        raise DataNotFoundError(f"{path} not found: give an .npz file or a folder of images")
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            raise ImageInputError(f"{path} is a .npy array, not an .npz with an 'images' array")
        with data:
            keys = list(data.keys())
            images = data["images"] if "images" in keys else None
    except ImageInputError:
        raise
    except Exception as err:  # noqa: BLE001 - any parse failure means "not a readable .npz"
        raise ImageInputError(
            f"{path} is not a readable .npz file ({type(err).__name__}: {err})"
        ) from err
    if not isinstance(images, np.ndarray):
        found = f"keys: {keys}" if images is None else f"'images' holds {type(images).__name__}"
        raise ImageInputError(f"{path} has no 'images' numpy array ({found})")
    return images


def _layout(images: np.ndarray, expected: str, source: str) -> np.ndarray:
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim == 4 and images.shape[-1] not in (1, 3) and images.shape[1] in (1, 3):
        raise ImageInputError(
            f"{source}: found {images.shape}, which looks like (N, C, H, W); expected "
            f"(N, H, W, C) = {expected}: transpose with images.transpose(0, 2, 3, 1)"
        )
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ImageInputError(
            f"{source}: expected images (N, H, W) or (N, H, W, C) = {expected}, found "
            f"shape {images.shape}"
        )
    if images.shape[0] == 0:
        raise ImageInputError(f"{source}: holds no image (shape {images.shape})")
    return images


def _pixels(images: np.ndarray, value_range: str | None, source: str) -> tuple[np.ndarray, str]:
    """Return uint8 pixels and how they were obtained."""
    if images.dtype == np.uint8:
        if value_range not in (None, "[0,255]"):
            raise ImageInputError(
                f"{source}: uint8 images are pixels in [0,255], not {value_range}: "
                "leave out the value range or convert the array to float"
            )
        return images, "uint8 pixels as given"
    if images.dtype.kind not in "uif":
        raise ImageInputError(f"{source}: images must be numeric, found dtype {images.dtype}")
    if value_range is None:
        raise ImageInputError(
            f"{source}: found {images.dtype} images; uint8 pixels are expected, or declare the "
            f"range of the values with --value-range ({', '.join(VALUE_RANGES)})"
        )
    lo, hi = VALUE_RANGES[value_range]
    slack = RANGE_TOLERANCE * (hi - lo)
    out = np.empty(images.shape, dtype=np.uint8)
    for start in range(0, len(images), _CHUNK):
        chunk = images[start : start + _CHUNK].astype(np.float64)
        bad = int(np.size(chunk) - np.count_nonzero(np.isfinite(chunk)))
        if bad:
            raise ImageInputError(f"{source}: {bad} NaN or infinite value(s) in images")
        low, high = float(chunk.min()), float(chunk.max())
        if low < lo - slack or high > hi + slack:
            raise ImageInputError(
                f"{source}: values span [{low:.6g}, {high:.6g}], outside the declared range "
                f"{value_range}"
            )
        model_range = torch.from_numpy((chunk - lo) * (2.0 / (hi - lo)) - 1.0).to(torch.float32)
        out[start : start + _CHUNK] = to_uint8(model_range).numpy()
    how = (
        f"{images.dtype} values in {value_range} mapped to [-1, 1] and quantised to uint8 "
        "like the pipeline's samples ((x+1)/2*255, round half to even, clamp)"
    )
    return out, how


def to_protocol(
    images: np.ndarray, dataset: str, options: InputOptions = InputOptions(), source: str = "images"
) -> ProtocolImages:
    """Validate an image array for a dataset and apply only the conversions asked for.

    Args:
        images: (N, H, W) or (N, H, W, C) array.
        dataset: Dataset whose protocol applies.
        options: Explicit conversions.
        source: Name used in error messages.

    Returns:
        uint8 (N, H, W, C) images at model resolution and the preprocessing text.

    Raises:
        ImageInputError: Naming the expected and found shape, channels, dtype or range.

    """
    channels, height, width = dataset_shape(dataset)
    expected = f"(N, {height}, {width}, {channels})"
    if not isinstance(images, np.ndarray):
        raise ImageInputError(f"{source}: expected a numpy array, found {type(images).__name__}")
    images = _layout(images, expected, source)
    found_c, found_hw = images.shape[-1], tuple(images.shape[1:3])
    steps: list[str] = []
    if found_c != channels:
        names = {1: "grayscale", 3: "RGB"}
        if not options.convert_channels:
            raise ImageInputError(
                f"{source}: {dataset} images are {names[channels]} {expected}, found "
                f"{names[found_c]} {images.shape}; pass --convert-channels to convert them"
            )
        steps.append(
            "RGB -> L with PIL convert('L') (ITU-R 601-2 luma)"
            if channels == 1
            else "L -> RGB with PIL convert('RGB') (channel repeated)"
        )
    resize = found_hw != (height, width)
    if resize:
        original = ORIGINAL_SIZES.get(dataset)
        if not options.resize:
            hint = (
                f"; pass --resize for the paper's preprocessing from {original[0]}x{original[1]}"
                if original and found_hw == original
                else ""
            )
            raise ImageInputError(
                f"{source}: {dataset} images must be at the model resolution {expected}, found "
                f"{images.shape}{hint}"
            )
        if found_hw != original:
            paper = f"from {original[0]}x{original[1]} only" if original else "none: no resize"
            raise ImageInputError(
                f"{source}: --resize applies the paper's {dataset} preprocessing ({paper}), "
                f"found {found_hw[0]}x{found_hw[1]} images {images.shape}; resize them yourself"
            )
        chain = " then ".join(dataset_facts(dataset).preprocessing_steps)
        steps.append(
            f"resized {found_hw[0]}x{found_hw[1]} -> {height}x{width} with the paper's "
            f"preprocessing (torchvision {chain} on PIL images, bilinear)"
        )
    pixels, how = _pixels(images, options.value_range, source)
    if steps:
        transform = reference_transform(dataset) if resize else (lambda image: image)
        pixels = preprocess_split(RawSplit(pixels), dataset, transform, None, "preprocess")
    return ProtocolImages(pixels, "; ".join([how, *steps]) if steps else f"{how}, no conversion")


def load_for_scoring(
    path: str | Path, dataset: str, options: InputOptions = InputOptions()
) -> ProtocolImages:
    """Read an image set (``.npz`` or folder) and validate/convert it for a dataset."""
    return to_protocol(read_images(path), dataset, options, str(path))


def check_model_images(images: Any, dataset: str) -> None:
    """Refuse anything but uint8 (N, H, W, C) images at the dataset's model resolution."""
    channels, height, width = dataset_shape(dataset)
    shape = getattr(images, "shape", None)
    if getattr(images, "dtype", None) != np.uint8 or shape is None or len(shape) != 4:
        raise ImageInputError(
            f"expected uint8 images (N, {height}, {width}, {channels}), found "
            f"{getattr(images, 'dtype', type(images).__name__)} {shape}: use to_protocol first"
        )
    if tuple(shape[1:]) != (height, width, channels) or shape[0] == 0:
        raise ImageInputError(
            f"{dataset} images must be (N, {height}, {width}, {channels}), found {tuple(shape)}"
        )


def check_sample_counts(
    num_images: int, metrics: Iterable[str], num_samples: int, num_afd_samples: int | None
) -> None:
    """Refuse a metric whose declared sample count exceeds the images given.

    Raises:
        ImageInputError: Naming the metric, its count and the number of images.

    """
    counts = SimpleNamespace(num_samples=num_samples, num_afd_samples=num_afd_samples)
    for name in metrics:
        spec = metric_spec(name)
        need, option = spec.sample_count(counts), spec.count_option(counts)
        if need < 1:
            raise ImageInputError(f"{name}: sample count must be >= 1, got {need}")
        if need > num_images:
            raise ImageInputError(
                f"{name} is set to use {need} images ({option}) but only "
                f"{num_images} were given: give more images or lower the count"
            )


def preprocessing_fields(metrics: Iterable[str], preprocessing: str) -> dict[str, str]:
    """Return ``{<metric>_input_preprocessing: text}`` for each metric's protocol fields."""
    return {f"{name}_input_preprocessing": preprocessing for name in metrics}
