"""The one spike-instrumentation path: counts do not depend on the models' fast paths."""

import pytest
import torch

from fsvae.esvae import ESVAE
from fsvae.model import FSVAE
from pipelines.metrics.spikes import SpikingCost
from tests.fsvae.mnist_idx import load_mnist_images
from tests.mirror import data_mirror


def _mnist_test_images(n: int) -> torch.Tensor:
    return load_mnist_images(n, data_mirror() / "MNIST/raw/t10k-images-idx3-ubyte.gz")


def _costs(model, x: torch.Tensor) -> dict:
    n = x.shape[0]
    gen = torch.Generator().manual_seed(0)
    out = SpikingCost("recon")(model, lambda: model.reconstruct(x, generator=gen), n)
    gen = torch.Generator().manual_seed(0)
    out.update(SpikingCost("sample")(model, lambda: model.sample(n, generator=gen), n))
    return out


@pytest.mark.parametrize("cls", [FSVAE, ESVAE])
def test_counts_are_identical_with_fast_path_on_and_off(cls):
    x = _mnist_test_images(8)
    torch.manual_seed(0)
    model = cls.build("mnist", n_steps=16).eval()
    results = {}
    for fast in (True, False):
        model.use_shortcuts = fast
        results[fast] = _costs(model, x)
        assert model.use_shortcuts is fast  # restored after the measurement
    assert results[True] == results[False]
    assert results[True]["cost_recon_synops_ac_per_sample"] > 0
    # The same records serve the model's own statistics.
    model.use_shortcuts = True
    with torch.no_grad(), model.recording_spikes():
        model.reconstruct(x, generator=torch.Generator().manual_seed(0))
        fast_stats = model.spike_stats()
    model.use_shortcuts = False
    with torch.no_grad(), model.recording_spikes():
        model.reconstruct(x, generator=torch.Generator().manual_seed(0))
        assert model.spike_stats() == fast_stats
