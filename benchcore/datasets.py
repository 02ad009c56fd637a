"""One table of facts about the four datasets, read by the models and the pipeline alike.

Each fact is the reference implementation's choice (docs/reference.md, docs/data.md):
the input shape after its preprocessing (28 -> 32 resize; CelebA crop 148 -> 64), its
random horizontal flips at train time, and the dataset's spelling in
``quoted/published-results.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class DatasetFacts:
    """What the benchmark knows about one dataset.

    Attributes:
        name: Our name (CLI ``--dataset``, file names, params.yaml).
        label: The spelling used by ``quoted/published-results.csv`` and the tables.
        channels: Image channels the models see (1 grayscale, 3 RGB).
        size: Model input height and width in pixels.
        original_size: (H, W) of the official images, the only size the paper's
            preprocessing is defined for.
        center_crop: Side of the centre crop taken before resizing (None: no crop).
        hflip: The reference augments training images with random horizontal flips.

    """

    name: str
    label: str
    channels: int
    size: int
    original_size: tuple[int, int]
    center_crop: int | None = None
    hflip: bool = False

    @property
    def shape(self) -> tuple[int, int, int]:
        """The (C, H, W) input shape the models see."""
        return (self.channels, self.size, self.size)

    @property
    def preprocessing_steps(self) -> tuple[str, ...]:
        """The reference's torchvision transforms from the original images, in order."""
        crop = (f"CenterCrop({self.center_crop})",) if self.center_crop else ()
        return (*crop, f"Resize(({self.size}, {self.size}))")


DATASET_FACTS: MappingProxyType[str, DatasetFacts] = MappingProxyType(
    {
        facts.name: facts
        for facts in (
            DatasetFacts("mnist", "MNIST", 1, 32, (28, 28)),
            DatasetFacts("fashion-mnist", "FashionMNIST", 1, 32, (28, 28)),
            DatasetFacts("cifar10", "CIFAR10", 3, 32, (32, 32), hflip=True),
            DatasetFacts("celeba", "CelebA", 3, 64, (218, 178), center_crop=148, hflip=True),
        )
    }
)

DATASETS: tuple[str, ...] = tuple(DATASET_FACTS)
# Derived views kept for the modules that index them by name.
DATASET_SHAPES = MappingProxyType({name: f.shape for name, f in DATASET_FACTS.items()})
DATASET_LABELS = MappingProxyType({name: f.label for name, f in DATASET_FACTS.items()})


def dataset_facts(dataset: str) -> DatasetFacts:
    """Return the facts of a dataset.

    Args:
        dataset: One of ``mnist``, ``fashion-mnist``, ``cifar10``, ``celeba``.

    Returns:
        Its row of the table.

    Raises:
        ValueError: If the dataset name is unknown.

    """
    try:
        return DATASET_FACTS[dataset]
    except KeyError:
        known = ", ".join(DATASET_FACTS)
        raise ValueError(f"unknown dataset {dataset!r}; expected one of: {known}") from None


def dataset_shape(dataset: str) -> tuple[int, int, int]:
    """Return the (C, H, W) input shape of a dataset (ValueError if unknown)."""
    return dataset_facts(dataset).shape


def uses_hflip(dataset: str) -> bool:
    """Return whether the reference augments this dataset with random horizontal flips."""
    return dataset in DATASET_FACTS and DATASET_FACTS[dataset].hflip
