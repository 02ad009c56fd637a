"""Seed every random generator a run touches."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and CUDA) global generators.

    Args:
        seed: The seed.

    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
