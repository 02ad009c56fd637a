"""Our PNG grid writer gives torchvision's make_grid + save_image pixels and bytes."""

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.utils import make_grid, save_image

from pipelines.sampling import save_grid


@pytest.mark.parametrize(("n", "channels", "size"), [(1, 3, 5), (5, 1, 4), (16, 3, 6), (64, 1, 3)])
def test_grid_equals_torchvision(tmp_path, n, channels, size):
    torch.manual_seed(n)
    images = torch.rand(n, channels, size, size) * 2.4 - 1.2  # also outside [-1, 1]
    ours, theirs = tmp_path / "ours.png", tmp_path / "theirs.png"
    save_grid(images, ours)
    save_image(make_grid(images, nrow=8, padding=2, normalize=True, value_range=(-1, 1)), theirs)
    a, b = np.asarray(Image.open(ours)), np.asarray(Image.open(theirs))
    assert a.shape == b.shape
    assert np.array_equal(a, b)
    assert ours.read_bytes() == theirs.read_bytes()
