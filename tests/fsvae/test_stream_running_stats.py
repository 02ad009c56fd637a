"""Streamed tdBN updates running statistics as the reference's per-prefix re-runs do."""

import copy

import pytest
import torch
from torch import nn

from fsvae.autoregressive_latent import prior_input
from fsvae.layers import BlockState, NeuronParams, SpikingBlock
from fsvae.model import FSVAE
from fsvae.tdbn import TdBatchNorm


def _block(kind: str) -> tuple[SpikingBlock, torch.Tensor]:
    torch.manual_seed(0)
    if kind == "linear":
        block, x = SpikingBlock(nn.Linear(6, 5), 5, NeuronParams(), 2.0), torch.randn(4, 8, 6)
    else:
        block = SpikingBlock(nn.Conv2d(3, 4, 3, padding=1), 4, NeuronParams(), 1.0)
        x = torch.randn(4, 2, 3, 5, 5)
    return block.double().train(), x.double()


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_streamed_updates_equal_prefix_reruns(kind):
    rerun, x = _block(kind)
    streamed = copy.deepcopy(rerun)
    untracked = copy.deepcopy(rerun)
    state, state_off = BlockState(), BlockState()
    for t in range(x.shape[0] - 1):
        rerun(x[: t + 1])  # the reference: the whole prefix again, one update per run
        streamed.stream(x[t : t + 1], state, update_running=True)
        untracked.stream(x[t : t + 1], state_off)
    a, b, c = rerun.bn, streamed.bn, untracked.bn
    assert int(a.num_batches_tracked) == int(b.num_batches_tracked) == x.shape[0] - 1
    torch.testing.assert_close(b.running_mean, a.running_mean, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(b.running_var, a.running_var, rtol=1e-12, atol=1e-14)
    # Without the flag the running statistics stay where they were.
    assert torch.equal(c.running_mean, torch.zeros_like(c.running_mean))
    assert not torch.allclose(a.running_mean, c.running_mean)


def _tracked(net: nn.Module) -> list[int]:
    return [int(m.num_batches_tracked) for m in net.modules() if isinstance(m, TdBatchNorm)]


def test_train_step_updates_latent_statistics_as_often_in_both_modes():
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    counts = {}
    for mode in ("stream", "prefix"):
        torch.manual_seed(0)
        model = FSVAE.build("mnist", n_steps=4, posterior_sampling=mode).train()
        model.loss(x)["loss"].backward()
        counts[mode] = (_tracked(model.posterior), _tracked(model.prior))
    assert counts["stream"] == counts["prefix"]
    assert counts["stream"][0] == [4, 4, 4]  # T - 1 prefix runs + the full pass


def test_prior_statistics_move_only_at_scheduled_steps():
    torch.manual_seed(0)
    model = FSVAE.build("mnist", n_steps=5).train()
    z = (torch.rand(5, 3, model.config.latent_dim) < 0.5).float()
    use = [False, True, False, True]
    counts = {}
    for mode in ("stream", "prefix"):
        net = copy.deepcopy(model.prior)
        prior_input(net, z, use, mode)
        counts[mode] = _tracked(net)
    assert counts["stream"] == counts["prefix"] == [2, 2, 2]
