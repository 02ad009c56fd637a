"""torch.compile of the models' loss: few graphs, and the numbers of the eager model.

Compilation on a small CPU is slow, so the models are tiny (T = 2..3, batch 3) and the
fast tests use the ``aot_eager`` backend: Dynamo's graph capture and AOTAutograd's
joint forward/backward graph, run by eager kernels. Inductor's generated code is
checked by the slow tests. Inductor draws random numbers with its own generator
unless ``fallback_random`` is set; with it, a compiled step draws what eager draws.
"""

from __future__ import annotations

import copy

import pytest
import torch

from fsvae.neurons import LIF
from pipelines.registry import build_model
from tests.fsvae.test_neurons import plain_lif

# Scheduled sampling at every step from the first: the prior's re-run and streaming
# branches are all in the traced code, not only the teacher-forced shortcut.
EVERY_STEP = {"scheduled_p_start": 1.0, "scheduled_p_end": 1.0, "scheduled_min_step": 1}
MODELS = [
    pytest.param("fsvae", {"posterior_sampling": "prefix", **EVERY_STEP}, id="fsvae-prefix"),
    pytest.param(
        "fsvae",
        {"posterior_sampling": "stream", **EVERY_STEP},
        id="fsvae-stream",
        marks=pytest.mark.slow,
    ),
    pytest.param("esvae", {}, id="esvae"),
]


def tiny(name: str, options: dict, steps: int) -> torch.nn.Module:
    """A seeded float64 MNIST model with ``steps`` time steps."""
    torch.manual_seed(0)
    return build_model(name, "mnist", n_steps=steps, **options).double()


def images(batch: int = 3) -> torch.Tensor:
    """A reproducible float64 batch in [-1, 1]."""
    gen = torch.Generator().manual_seed(5)
    return torch.rand(batch, 1, 32, 32, generator=gen, dtype=torch.float64) * 2 - 1


def eager_and_compiled_step(name: str, options: dict, backend: str, steps: int) -> list:
    """Loss terms, gradients and buffers of one step, eager then compiled."""
    model = tiny(name, options, steps)
    twin = copy.deepcopy(model)
    x = images()
    results = []
    torch._dynamo.reset()
    with torch._inductor.config.patch(fallback_random=True):
        for net, loss in ((model, model.loss), (twin, torch.compile(twin.loss, backend=backend))):
            torch.manual_seed(1)  # the same indices, decisions and noise for both
            out = loss(x)
            out["loss"].backward()
            grads = {n: p.grad for n, p in net.named_parameters()}
            results.append((out, grads, dict(net.named_buffers())))
    return results


def assert_same_step(results: list, atol: float) -> None:
    """Same loss terms and buffers; gradients equal up to float64 rounding."""
    (out, grads, bufs), (c_out, c_grads, c_bufs) = results
    for key, value in out.items():
        assert torch.allclose(value, c_out[key], rtol=0, atol=atol), key
    for name, grad in grads.items():
        assert torch.allclose(grad, c_grads[name], rtol=0, atol=atol), name
    for name, buf in bufs.items():
        assert torch.allclose(buf.double(), c_bufs[name].double(), rtol=0, atol=atol), name


@pytest.mark.parametrize(("name", "options"), MODELS)
def test_loss_compiles_into_at_most_three_graphs(name, options):
    model = tiny(name, options, steps=3)
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model.loss)(images())
    reasons = [b.reason.splitlines()[0] for b in explanation.break_reasons]
    assert explanation.graph_count <= 3, reasons
    if name == "fsvae":
        # The one break: the scheduled-sampling draws, host values by design.
        assert all("compiler.disable" in r for r in reasons), reasons


@pytest.mark.parametrize(("name", "options"), MODELS)
def test_compiled_training_step_equals_eager(name, options):
    assert_same_step(eager_and_compiled_step(name, options, "aot_eager", steps=3), atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "options"), MODELS[:1] + MODELS[2:])
def test_inductor_training_step_equals_eager(name, options):
    assert_same_step(eager_and_compiled_step(name, options, "inductor", steps=2), atol=1e-10)


@pytest.mark.slow
def test_inductor_lif_equals_plain_autograd():
    torch.manual_seed(0)
    neuron = LIF()
    current = (0.4 * torch.randn(6, 5, 3, 4, 4, dtype=torch.float64)).requires_grad_()
    weight = torch.randn(6, 5, 3, 4, 4, dtype=torch.float64)
    torch._dynamo.reset()
    fused = torch.compile(neuron)(current)
    (g_fused,) = torch.autograd.grad((fused * weight).sum(), current)
    plain = plain_lif(current, neuron)
    (g_plain,) = torch.autograd.grad((plain * weight).sum(), current)
    assert torch.equal(fused, plain)
    assert torch.allclose(g_fused, g_plain, rtol=0, atol=1e-12)
