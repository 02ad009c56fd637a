"""Native-resolution splits and their provenance, as handed from sources to prepare."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

MIRROR_ENV = "FSVAE_DATA_MIRROR"


@dataclass(frozen=True)
class RawSplit:
    """One split at native resolution: an in-memory array or a list of image files.

    Attributes:
        images: uint8 (N, H, W) or (N, H, W, C), or ``None`` when ``files`` is used.
        files: Image files, read lazily (full CelebA does not fit in memory natively).
        labels: Class labels when known.

    """

    images: np.ndarray | None = None
    files: tuple[Path, ...] | None = None
    labels: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images) if self.images is not None else len(self.files or ())

    def pil(self, index: int) -> Image.Image:
        """Return image ``index`` as the PIL image the reference's dataset class yields."""
        if self.images is not None:
            pixels = self.images[index]
            # PIL reads grey images only without a channel axis.
            return Image.fromarray(
                pixels[..., 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels
            )
        with Image.open(self.files[index]) as img:  # type: ignore[index]
            return img.convert("RGB")


@dataclass(frozen=True)
class RawDataset:
    """Both splits plus where they came from.

    Attributes:
        train: Training split.
        test: Test split.
        source: JSON-ready provenance (kind, origin, verified files, notes).
        preprocessed: True when the images are already at model resolution and framing
            (the CelebA mirror subset), so the reference transform must not run again.

    """

    train: RawSplit
    test: RawSplit
    source: dict[str, Any] = field(default_factory=dict)
    preprocessed: bool = False


def resolve_mirror(mirror: str | Path | None) -> Path | None:
    """Return the mirror folder: the argument, else ``$FSVAE_DATA_MIRROR``, else None."""
    chosen = mirror if mirror not in (None, "") else os.environ.get(MIRROR_ENV) or None
    return Path(chosen).expanduser() if chosen is not None else None


def mirror_label(mirror: Path) -> str:
    """Name a mirror in provenance by how it was handed over, never by where it lives.

    ``meta.json`` feeds every downstream DVC hash, so an absolute path there would make
    the hashes (and the tables' "data used" lines) depend on the machine. The files'
    checksums, recorded beside this label, say exactly what was read.
    """
    env = os.environ.get(MIRROR_ENV)
    if env and Path(env).expanduser().resolve() == mirror.expanduser().resolve():
        return f"mirror (${MIRROR_ENV})"
    return "mirror (--mirror / data.mirror)"


def root_label(data_root: Path) -> str:
    """Name the data root in provenance: as given when relative, else without its location."""
    return f"the data root ({data_root})" if not data_root.is_absolute() else "the data root"
