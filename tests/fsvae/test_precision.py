"""float32 training against float64: no further off than the plain NCHW computation."""

import copy

import pytest
import torch

from fsvae.layers import SpikingBlock, TdBatchNorm
from fsvae.model import FSVAE
from fsvae.neurons import LIF
from tests.fsvae.mnist_idx import load_mnist_images


def _train_step(model: FSVAE, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Spikes of every LIF layer and all parameter gradients of one loss + backward."""
    spikes: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: spikes.append(out.detach().double()))
        for m in model.modules()
        if isinstance(m, LIF)
    ]
    torch.manual_seed(1)  # same candidate indices in every run
    model.loss(x)["loss"].backward()
    for hook in hooks:
        hook.remove()
    return spikes, torch.cat([p.grad.double().flatten() for p in model.parameters()])


def _plain_nchw(model: FSVAE) -> FSVAE:
    """The same computation with every block in NCHW (PyTorch's float64-accumulating tdBN)."""
    plain = copy.deepcopy(model)
    for block in plain.modules():
        if isinstance(block, SpikingBlock):
            block.channels_last = False
    return plain


def test_float32_training_is_as_accurate_as_the_plain_nchw_path():
    # With PyTorch's channels-last tdBN kernel this step flips 29 spikes (then the
    # gradients differ by ~4e-3, relative); the NCHW computation flips none.
    torch.manual_seed(0)
    model = FSVAE.build("mnist", n_steps=4)
    exact = copy.deepcopy(model).double()
    plain = _plain_nchw(model)
    x = load_mnist_images(8)
    ref_spikes, ref_grad = _train_step(exact, x.double())
    errors = {}
    for name, candidate in (("ours", model), ("plain", plain)):
        spikes, grad = _train_step(candidate, x)
        flips = sum(int((a != b).sum()) for a, b in zip(spikes, ref_spikes, strict=True))
        errors[name] = (flips, float((grad - ref_grad).norm() / ref_grad.norm()))
    assert errors["plain"][0] == 0, errors  # the baseline itself must not diverge
    assert errors["ours"][0] == 0, errors
    assert 0 < errors["ours"][1] <= 2 * errors["plain"][1], errors


@pytest.mark.parametrize("repeated", [False, True])
def test_tdbn_float32_channels_last_matches_float64(repeated):
    """PyTorch's own channels-last kernel misses this bound by ~10x (float32 row sums)."""
    torch.manual_seed(0)
    x64 = (0.7 * torch.randn(256, 8, 16, 16, dtype=torch.float64) + 0.3).contiguous(
        memory_format=torch.channels_last
    )
    g64 = torch.randn_like(x64)
    bn64 = TdBatchNorm(8, alpha=2.0).double()
    with torch.no_grad():
        bn64.weight.uniform_(0.5, 1.5)
        bn64.bias.normal_()
    results = []
    for dtype in (torch.float64, torch.float32):
        bn = copy.deepcopy(bn64).to(dtype)
        x = x64.to(dtype).clone().requires_grad_()
        y = bn.forward_repeated(x, 3) if repeated else bn(x)
        (y * g64.to(dtype)).sum().backward()
        assert y.is_contiguous(memory_format=torch.channels_last)
        results.append((y, x.grad, bn.weight.grad, bn.bias.grad, bn.running_mean, bn.running_var))
    # In float64 it is PyTorch's function (of the repeated sequence, for forward_repeated).
    ref = copy.deepcopy(bn64)
    seq = x64.unsqueeze(0).expand(3, *x64.shape).flatten(0, 1) if repeated else x64
    assert torch.allclose(results[0][0], ref(seq)[: len(x64)], atol=1e-12)
    assert torch.allclose(results[0][4], ref.running_mean, atol=1e-14)
    assert torch.allclose(results[0][5], ref.running_var, atol=1e-14)
    for got, want in zip(results[1], results[0], strict=True):
        assert (got.double() - want).abs().max() <= 1e-6 * want.abs().max()
