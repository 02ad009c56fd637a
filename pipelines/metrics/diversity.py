"""Sample diversity, so that a collapsed generator is reported rather than scored.

A model whose samples are all (nearly) the same image can still get finite FID or
autoencoder-FD numbers, and nothing in a table of them says "this model collapsed". The
sample stage therefore measures, on the images it generates and on as many real test
images:

- the mean pairwise distance: the RMS pixel difference of two images in [0, 1] units,
  averaged over all pairs (0 when every image is the same);
- the number of distinct images (exact uint8 equality).

A run counts as collapsed when its samples are less than ``COLLAPSE_RATIO`` as diverse as
the real images, or when fewer than half of them are distinct. The thresholds are
deliberately loose: blurry samples early in training are much less diverse than real
images (ratios of 0.15 and up in the quick profile) without being collapsed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from pipelines.data.atomic import write_json_atomic

COLLAPSE_RATIO = 0.05
MAX_COMPARED = 256  # pairwise distances grow as n^2; 256 images (32,640 pairs) suffice


def mean_pairwise_distance(images: np.ndarray) -> float:
    """Mean RMS pixel distance over all pairs of uint8 images (N, H, W, C), in [0, 1] units.

    Raises:
        ValueError: With fewer than two images.

    """
    if len(images) < 2:
        raise ValueError(f"diversity needs at least 2 images, got {len(images)}")
    flat = torch.from_numpy(np.ascontiguousarray(images[:MAX_COMPARED])).flatten(1).double()
    flat = flat / 255.0
    # The direct difference, not the matmul expansion: identical images must give exactly 0.
    dist = torch.cdist(flat, flat, compute_mode="donot_use_mm_for_euclid_dist")
    dist = dist / flat.shape[1] ** 0.5
    upper = torch.triu_indices(len(flat), len(flat), offset=1)
    return float(dist[upper[0], upper[1]].mean())


def distinct_images(images: np.ndarray) -> int:
    """Number of pairwise different images (exact pixel equality)."""
    return len(np.unique(images.reshape(len(images), -1), axis=0))


@dataclass(frozen=True)
class Diversity:
    """Diversity of generated images beside that of real test images.

    Attributes:
        num_samples: Generated images measured.
        distinct_images: How many of them differ from each other.
        mean_pairwise_distance: Of the samples (first ``MAX_COMPARED``).
        real_mean_pairwise_distance: Of as many real test images.

    """

    num_samples: int
    distinct_images: int
    mean_pairwise_distance: float
    real_mean_pairwise_distance: float

    @property
    def ratio(self) -> float:
        """Sample diversity over real diversity (1: as diverse as the data)."""
        real = self.real_mean_pairwise_distance
        return self.mean_pairwise_distance / real if real > 0 else float("inf")

    @property
    def collapsed(self) -> bool:
        """Whether the samples are (nearly) all the same image."""
        return self.ratio < COLLAPSE_RATIO or 2 * self.distinct_images < self.num_samples

    def note(self) -> str:
        """One line saying what was measured (used in the tables' collapse marker)."""
        return (
            f"{self.distinct_images} distinct of {self.num_samples} samples; mean pairwise "
            f"distance {self.mean_pairwise_distance:.3g} vs {self.real_mean_pairwise_distance:.3g} "
            f"for real test images (ratio {self.ratio:.2g}, collapse below {COLLAPSE_RATIO})"
        )

    def to_json(self) -> dict[str, float | int | bool]:
        """The metrics record (DVC metrics: flat numbers)."""
        return {**asdict(self), "diversity_ratio": self.ratio, "collapsed": self.collapsed}


def measure(samples: np.ndarray, real: np.ndarray) -> Diversity:
    """Measure uint8 samples (N, H, W, C) against real test images of the same shape.

    Raises:
        ValueError: With fewer than two images on either side or different image shapes.

    """
    if samples.shape[1:] != real.shape[1:]:
        raise ValueError(f"sample shape {samples.shape[1:]} differs from data {real.shape[1:]}")
    n = min(len(samples), MAX_COMPARED)
    return Diversity(
        num_samples=len(samples),
        distinct_images=distinct_images(samples),
        mean_pairwise_distance=mean_pairwise_distance(samples[:n]),
        real_mean_pairwise_distance=mean_pairwise_distance(real[:n]),
    )


def diversity_path(samples_dir: str | Path, name: str) -> Path:
    """Where the sample stage writes a run's diversity: ``<samples_dir>/<name>_diversity.json``."""
    return Path(samples_dir) / f"{name}_diversity.json"


def write_diversity(path: str | Path, diversity: Diversity) -> None:
    """Write the record atomically."""
    write_json_atomic(path, diversity.to_json())


def load_diversity(path: str | Path) -> Diversity | None:
    """Read a record written by :func:`write_diversity`; None when there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    fields = Diversity.__dataclass_fields__
    return Diversity(**{key: data[key] for key in fields})


__all__ = [
    "COLLAPSE_RATIO",
    "Diversity",
    "diversity_path",
    "distinct_images",
    "load_diversity",
    "mean_pairwise_distance",
    "measure",
    "write_diversity",
]
