"""Every fast path against the plain computation it replaces."""

import copy

import pytest
import torch

from fsvae.layers import TdBatchNorm
from fsvae.membrane_output import MembraneOutput, weighted_time_sum
from fsvae.model import FSVAE
from fsvae.neurons import LIF
from pipelines.process.allocator import tune_allocator
from tests.fsvae.test_model import lively


def _pair(steps: int = 4) -> tuple[FSVAE, FSVAE]:
    torch.manual_seed(0)
    fast = FSVAE.build("mnist", n_steps=steps)
    plain = copy.deepcopy(fast)
    plain.use_shortcuts = False
    return fast, plain


def test_training_step_matches_plain_path():
    fast, plain = _pair()
    x = torch.rand(6, 1, 32, 32) * 2 - 1
    losses = []
    for model in (fast, plain):
        torch.manual_seed(1)  # same candidate indices and scheduled-sampling draws
        out = model.loss(x)
        out["loss"].backward()
        losses.append(out)
    for key in losses[0]:
        assert torch.allclose(losses[0][key], losses[1][key], rtol=1e-5, atol=1e-6), key
    for (name, p), q in zip(fast.named_parameters(), plain.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-6), name
    for (name, b), c in zip(fast.named_buffers(), plain.buffers(), strict=True):
        # Includes the first layer's running variance with the T-fold count correction.
        assert torch.allclose(b.double(), c.double(), rtol=1e-5, atol=1e-7), name


def test_eval_outputs_match_plain_path():
    fast, plain = (lively(m).eval() for m in _pair(steps=5))
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        for fn in (lambda m, g: m.reconstruct(x, g), lambda m, g: m.sample(4, g)):
            a = fn(fast, torch.Generator().manual_seed(3))
            b = fn(plain, torch.Generator().manual_seed(3))
            assert torch.allclose(a, b, atol=1e-5)


def test_lif_on_repeated_input_equals_materialised_input():
    torch.manual_seed(0)
    neuron = LIF()
    step = (0.3 * torch.randn(3, 4, 5, 5, dtype=torch.float64)).contiguous(
        memory_format=torch.channels_last
    )
    base = step.clone().requires_grad_()
    out = neuron(base.unsqueeze(0).expand(7, *step.shape))
    materialised = step.unsqueeze(0).repeat(7, 1, 1, 1, 1).requires_grad_()
    ref = neuron(materialised)
    weight = torch.randn(ref.shape, dtype=torch.float64)
    (g,) = torch.autograd.grad((out * weight).sum(), base)
    (g_ref,) = torch.autograd.grad((ref * weight).sum(), materialised)
    assert torch.equal(out, ref)
    assert torch.allclose(g, g_ref.sum(0), atol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_tdbn_repeated_equals_tdbn_of_the_repeat(training):
    torch.manual_seed(0)
    a = TdBatchNorm(3).train(training)
    b = copy.deepcopy(a)
    x = torch.randn(4, 3, 5, 5, dtype=torch.float64)
    a, b = a.double(), b.double()
    once = a.forward_repeated(x, 6)
    repeated = b(x.unsqueeze(0).expand(6, *x.shape).flatten(0, 1))
    assert torch.allclose(once.unsqueeze(0).expand(6, *x.shape).flatten(0, 1), repeated)
    assert torch.allclose(a.running_mean, b.running_mean)
    assert torch.allclose(a.running_var, b.running_var, rtol=1e-12)


def test_output_integration_commutes_with_the_last_convt():
    torch.manual_seed(0)
    model = FSVAE.build("mnist", n_steps=4)
    block = model.final_layer[1]
    spikes = (torch.rand(4 * 2, 32, 32, 32) < 0.3).float()
    spikes = spikes.contiguous(memory_format=torch.channels_last).unflatten(0, (4, 2))
    out = MembraneOutput(0.8)
    assert torch.allclose(out.through(block, spikes), out(block(spikes)), atol=1e-5)
    coef = out.coefficients(4, spikes)
    assert torch.allclose(
        weighted_time_sum(coef, spikes), torch.tensordot(coef, spikes, dims=([0], [0]))
    )


def test_tune_allocator_keeps_results():
    fast, _ = _pair(steps=2)
    fast = lively(fast).eval()
    with torch.no_grad():
        before = fast.sample(2, torch.Generator().manual_seed(0))
        assert isinstance(tune_allocator(), bool)
        after = fast.sample(2, torch.Generator().manual_seed(0))
    assert torch.equal(before, after)


def test_bf16_autocast_keeps_spikes_mostly_and_state_fp32():
    """The CUDA mixed-precision path, exercised with CPU autocast.

    bf16 currents flip spikes whose potential sits near the threshold (docs/performance.md: up
    to ~11%); the neuron itself must still integrate and threshold in float32.
    """
    fast, _ = _pair(steps=4)
    fast = lively(fast).eval()
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        ref = fast.encode(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            half = fast.encode(x)
            current = torch.randn(3, 5, dtype=torch.bfloat16)
            assert LIF()(current).dtype == torch.float32
    assert half.dtype == torch.float32 and ((half == 0) | (half == 1)).all()
    assert (half == ref).float().mean() > 0.8
    fast.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = fast.loss(x)["loss"]
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in fast.parameters())


def test_fast_is_a_deprecated_alias_of_use_shortcuts():
    model = FSVAE.build("mnist", n_steps=2)
    assert model.use_shortcuts is True
    with pytest.warns(DeprecationWarning, match="use_shortcuts"):
        model.fast = False
    assert model.use_shortcuts is False
    with pytest.warns(DeprecationWarning):
        assert model.fast is False
