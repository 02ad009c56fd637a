"""Moved: the model contract lives in :mod:`benchcore.contract` (models and pipelines share it).

``from fsvae.contract import GenerativeModel, ModelConfig`` is the documented import path
of earlier releases and keeps working; the dataset table it used to hold is
:mod:`benchcore.datasets`.
"""

from benchcore.contract import GenerativeModel, ModelConfig
from benchcore.datasets import DATASET_SHAPES, dataset_shape

__all__ = ["DATASET_SHAPES", "GenerativeModel", "ModelConfig", "dataset_shape"]
