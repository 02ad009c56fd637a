"""The GPU tests' device and sizes (``pytest -m gpu``; benchmarks/gpu_check.sh runs them).

Every test here is marked ``gpu``: the normal suite deselects them (pyproject ``addopts``)
and ``pytest -m gpu`` selects them. They run on CUDA and skip cleanly without it.
``FSVAE_GPU_TEST_DEVICE=cpu`` runs the same tests on the CPU at tiny sizes, which is how
``benchmarks/gpu_check.sh --cpu-dry-run`` checks their logic before a GPU is lent
(docs/gpu-check.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
import torch

DEVICE_ENV = "FSVAE_GPU_TEST_DEVICE"

# (test id, registered model, build options): every registered model, FSVAE in both modes.
MODELS = [
    ("ann_vae", "ann_vae", {}),
    ("fsvae_stream", "fsvae", {"posterior_sampling": "stream"}),
    ("fsvae_prefix", "fsvae", {"posterior_sampling": "prefix"}),
    ("esvae", "esvae", {}),
]


@dataclass(frozen=True)
class GpuTestSizes:
    """Sizes of the GPU tests: small enough for seconds per test, big enough for real kernels."""

    device: str
    batch: int
    n_steps: int
    compile_backend: str  # inductor on CUDA; eager on the CPU (inductor's C++ builds take minutes)

    def options(self, name: str, options: dict) -> dict:
        """Build options with the test's time steps for the spiking models."""
        return options if name == "ann_vae" else {**options, "n_steps": self.n_steps}


@pytest.fixture(scope="session")
def gpu() -> GpuTestSizes:
    """The device under test: CUDA (skips without it), or the CPU for the dry run."""
    device = os.environ.get(DEVICE_ENV, "cuda")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            pytest.skip("CUDA is not available (torch.cuda.is_available() is False)")
        return GpuTestSizes(device, batch=16, n_steps=4, compile_backend="inductor")
    return GpuTestSizes(device, batch=4, n_steps=2, compile_backend="eager")


def on_device(tensor: torch.Tensor, device: str) -> bool:
    """Whether a tensor lives on ``device`` (``cuda`` matches any ``cuda:i``)."""
    return tensor.device.type == torch.device(device).type
