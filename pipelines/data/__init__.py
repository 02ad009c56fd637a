"""The four datasets with the reference preprocessing, plus a user's own image sets.

``prepare_dataset`` writes uint8 arrays at model resolution once; training and metrics
read them with ``load_split`` and convert with ``ImageArrayDataset`` / ``to_model_range``.
"""

from benchcore.datasets import DATASETS, uses_hflip
from pipelines.data.arrays import (
    ImageArrayDataset,
    load_image_set,
    make_dataset,
    to_model_range,
    to_uint8,
)
from pipelines.data.errors import (
    ChecksumError,
    DataFormatError,
    DataNotFoundError,
    NotPreparedError,
)
from pipelines.data.prepare import load_meta, load_split, prepare_dataset, reference_transform
from pipelines.data.sources import MIRROR_ENV

__all__ = [
    "DATASETS",
    "MIRROR_ENV",
    "ChecksumError",
    "DataFormatError",
    "DataNotFoundError",
    "ImageArrayDataset",
    "NotPreparedError",
    "load_image_set",
    "load_meta",
    "load_split",
    "make_dataset",
    "prepare_dataset",
    "reference_transform",
    "to_model_range",
    "to_uint8",
    "uses_hflip",
]
