"""Every registered model runs on a non-CPU device without creating CPU tensors.

PyTorch's ``meta`` device stands in for CUDA: tensors there have shapes and devices
but no data, so a whole training step of the full-size models costs milliseconds. A
dispatch mode records the device of every op's outputs; a CPU tensor made during a
call on ``meta`` would be a host tensor (and a host-device copy or sync) on a GPU.

The documented exceptions (docs/performance.md, "Device-clean"):

* ``torch.optim.Adam`` keeps each parameter's ``step`` counter as a 0-dim CPU tensor
  (``lift_fresh`` + ``add_``) unless built with ``capturable=True`` or ``fused=True``;
  that is the optimiser's, not the model's.
* FSVAE draws its scheduled-sampling decisions (``T - 1`` uniforms, one per step,
  shared by the batch) with ``torch.rand`` on the CPU: they decide Python control
  flow, so they must be host values; drawing them on the GPU would force a sync.
* A generator passed to ``reconstruct``/``sample`` draws on its own device
  (``randint``/``rand``/``randn``) and the draw is moved to the model's device: a CPU
  generator reproduces a CPU run's samples on a GPU; ``torch.Generator(device="cuda")``
  keeps the draw on the GPU.
"""

from __future__ import annotations

import pytest
import torch

from pipelines.profiling.op_counter import OpCounter
from pipelines.registry import build_model

CONFIGS = [
    pytest.param("ann_vae", "mnist", {}, id="ann_vae-mnist"),
    pytest.param("ann_vae", "celeba", {}, id="ann_vae-celeba"),
    pytest.param("fsvae", "mnist", {"posterior_sampling": "stream"}, id="fsvae-mnist-stream"),
    pytest.param("fsvae", "mnist", {"posterior_sampling": "prefix"}, id="fsvae-mnist-prefix"),
    pytest.param("fsvae", "celeba", {"posterior_sampling": "stream"}, id="fsvae-celeba-stream"),
    pytest.param("fsvae", "celeba", {"posterior_sampling": "prefix"}, id="fsvae-celeba-prefix"),
    pytest.param("esvae", "mnist", {}, id="esvae-mnist"),
    pytest.param("esvae", "celeba", {}, id="esvae-celeba"),
]
OPTIMISER_SCALARS = {"aten.lift_fresh.default", "aten.add_.Tensor"}
SCHEDULED_DRAWS = {"aten.rand.default"}
GENERATOR_DRAWS = {"aten.randint.low_generator", "aten.rand.generator", "aten.randn.generator"}


def meta_model(name: str, dataset: str, options: dict, **extra) -> torch.nn.Module:
    """Build a registered model with its parameters and buffers on ``meta``."""
    with torch.device("meta"):
        return build_model(name, dataset, **options, **extra)


def meta_images(dataset: str, batch: int) -> torch.Tensor:
    """A batch of images of the dataset's shape on ``meta``."""
    side, channels = (64, 3) if dataset == "celeba" else (32, 1)
    return torch.empty(batch, channels, side, side, device="meta")


def train_step(model: torch.nn.Module, x: torch.Tensor, optimiser: torch.optim.Optimizer) -> None:
    """Loss, backward and optimiser step, as the Trainer does."""
    model.train()
    optimiser.zero_grad()
    model.loss(x)["loss"].backward()
    optimiser.step()


def cpu_ops(counter: OpCounter, allowed: set[str]) -> dict[str, int]:
    """The ops that returned CPU tensors, apart from the allowed ones."""
    return {op: n for op, n in counter.cpu_outputs.items() if op not in allowed}


@pytest.mark.parametrize(("name", "dataset", "options"), CONFIGS)
def test_training_step_makes_no_cpu_tensors(name, dataset, options):
    model = meta_model(name, dataset, options)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = meta_images(dataset, 8)
    with OpCounter() as counter:
        train_step(model, x, optimiser)
    assert all(p.grad is not None and p.grad.is_meta for p in model.parameters())
    assert cpu_ops(counter, OPTIMISER_SCALARS | SCHEDULED_DRAWS) == {}
    # The Adam counters are the 0-dim step tensors, one of each op per parameter.
    params = len(list(model.parameters()))
    assert counter.cpu_outputs["aten.lift_fresh.default"] == params


@pytest.mark.parametrize(("name", "dataset", "options"), CONFIGS)
def test_reconstruct_and_sample_make_no_cpu_tensors(name, dataset, options):
    model = meta_model(name, dataset, options).eval()
    x = meta_images(dataset, 8)
    with torch.no_grad(), OpCounter() as counter:
        recon = model.reconstruct(x)
        samples = model.sample(5)
    assert recon.is_meta and recon.shape == x.shape
    assert samples.is_meta and samples.shape == (5, *x.shape[1:])
    assert dict(counter.cpu_outputs) == {}


@pytest.mark.parametrize(("name", "dataset", "options"), CONFIGS)
def test_a_cpu_generator_only_draws_on_the_cpu(name, dataset, options):
    model = meta_model(name, dataset, options).eval()
    x = meta_images(dataset, 4)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad(), OpCounter() as counter:
        assert model.reconstruct(x, gen).is_meta
        assert model.sample(3, gen).is_meta
    assert cpu_ops(counter, GENERATOR_DRAWS) == {}
    # Each draw runs where its generator lives (on CUDA a mismatch raises).
    assert counter.generator_mismatches == []
