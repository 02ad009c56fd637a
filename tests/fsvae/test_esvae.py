"""ESVAE: parameter counts, the rate spike sampler, the RBF MMD, seeded sampling, stats."""

import itertools
import math

import pytest
import torch

from benchcore.datasets import dataset_shape
from fsvae.backbone import SpikingVAE
from fsvae.esvae import ESVAE
from fsvae.model import FSVAE
from fsvae.rate_latent import RateSpikeSampler, rbf_mmd2
from pipelines.metrics.spikes import SpikingCost
from pipelines.registry import build_model, model_from_config
from tests.fsvae.test_model import lively


@pytest.mark.parametrize(
    ("dataset", "count", "latent", "large"),
    [
        ("mnist", 855_905, 32, False),
        ("fashion-mnist", 855_905, 32, False),
        ("cifar10", 1_069_411, 128, False),
        ("celeba", 3_696_227, 128, True),
    ],
)
def test_parameter_counts_latent_and_class(dataset, count, latent, large):
    model = build_model("esvae", dataset)
    assert type(model) is ESVAE and model.is_large is large
    assert model.num_parameters() == count
    assert model.config.latent_dim == latent
    again = model_from_config("esvae", model.config.to_dict())
    assert type(again) is ESVAE and again.is_large is large


def test_shares_fsvae_network_and_differs_only_in_the_latent():
    torch.manual_seed(0)
    es = ESVAE.build("cifar10", n_steps=2)
    fs = FSVAE.build("cifar10", n_steps=2)
    assert isinstance(es, SpikingVAE) and isinstance(fs, SpikingVAE)
    shared = {"encoder", "before_latent_layer", "decoder_input", "decoder", "final_layer"}
    for name in shared:
        a = {k: v.shape for k, v in getattr(es, name).state_dict().items()}
        b = {k: v.shape for k, v in getattr(fs, name).state_dict().items()}
        assert a == b, name
    own = {n.split(".")[0] for n, _ in es.named_parameters()} - shared
    assert own == {"sample_layer"}


def test_sampler_rate_matches_within_sampling_error():
    gen = torch.Generator().manual_seed(0)
    rate = torch.tensor([[0.0, 0.1, 0.5, 0.9, 1.0]])
    steps = 20_000
    spikes = RateSpikeSampler()(rate, steps, gen)
    assert spikes.shape == (steps, 1, 5)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    mean = spikes.mean(0)[0]
    sd = (rate[0] * (1 - rate[0]) / steps).sqrt()
    assert torch.all((mean - rate[0]).abs() <= 4 * sd + 1e-12), (mean, rate)
    assert mean[0] == 0 and mean[-1] == 1


def test_sampler_gradient_against_hand_computed_case(monkeypatch):
    # r = (0.2, 0.7), T = 2, uniforms fixed: u = [[0.9, 0.1], [0.5, 0.65]].
    # window 1[|r - u| < a] / (2a) with a = 0.5: |0.2-0.9|=0.7 -> 0; |0.7-0.1|=0.6 -> 0;
    # |0.2-0.5|=0.3 -> 1; |0.7-0.65|=0.05 -> 1. Upstream grad g_t = (t+1) * (1, 10).
    # dL/dr = sum_t g_t * window: (0 + 2*1, 0 + 2*10) = (2, 20).
    u = torch.tensor([[[0.9, 0.1]], [[0.5, 0.65]]])
    monkeypatch.setattr("fsvae.rate_latent.uniform_like", lambda *_args: u)
    rate = torch.tensor([[0.2, 0.7]], requires_grad=True)
    z = RateSpikeSampler(0.5)(rate, 2)
    assert z.tolist() == [[[0.0, 1.0]], [[0.0, 1.0]]]
    upstream = torch.tensor([[[1.0, 10.0]], [[2.0, 20.0]]])
    (z * upstream).sum().backward()
    assert rate.grad.tolist() == [[2.0, 20.0]]
    # A narrower window (a = 0.25) scales by 1/(2a) = 2 and drops |r - u| = 0.3.
    rate.grad = None
    (RateSpikeSampler(0.25)(rate, 2) * upstream).sum().backward()
    assert rate.grad.tolist() == [[0.0, 40.0]]


def _mmd_double_loop(a, b, kernels=5, mul=2.0):
    total = torch.cat([a, b]).double()
    n = len(total)
    d = [[float((total[i] - total[j]).square().sum()) for j in range(n)] for i in range(n)]
    mean_d = sum(d[i][j] for i in range(n) for j in range(n) if i != j) / (n * n - n)
    hs = [mean_d / mul ** (kernels // 2) * mul**i for i in range(kernels)]

    def k(i, j):
        return sum(math.exp(-d[i][j] / h) for h in hs)

    m = len(a)
    ia, ib = range(m), range(m, n)

    def mean(rows, cols):
        return sum(k(i, j) for i, j in itertools.product(rows, cols)) / (len(rows) * len(cols))

    return mean(ia, ia) + mean(ib, ib) - mean(ia, ib) - mean(ib, ia)


def test_mmd_equals_direct_double_loop_and_vanishes_for_equal_sets():
    gen = torch.Generator().manual_seed(3)
    a = torch.rand(5, 4, generator=gen, dtype=torch.float64)
    b = torch.rand(5, 4, generator=gen, dtype=torch.float64) * 0.5
    assert float(rbf_mmd2(a, b)) == pytest.approx(_mmd_double_loop(a, b), rel=1e-10)
    assert float(rbf_mmd2(a, b, kernels=3, kernel_mul=3.0)) == pytest.approx(
        _mmd_double_loop(a, b, 3, 3.0), rel=1e-10
    )
    assert abs(float(rbf_mmd2(a, a.clone()))) < 1e-12
    assert float(rbf_mmd2(a, b)) > 1e-3
    same = torch.ones(3, 4)  # all rows equal: zero bandwidth, no NaN
    assert float(rbf_mmd2(same, same)) == 0.0


def test_loss_terms_and_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = ESVAE.build("mnist", n_steps=3)
    x = torch.rand(4, *dataset_shape("mnist")) * 2 - 1
    out = model.loss(x)
    assert set(out) == {"loss", "recon", "mmd"}
    expected = out["recon"] + 0.001 * out["mmd"]
    assert torch.allclose(out["loss"], expected)
    out["loss"].backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, missing


@pytest.mark.parametrize("dataset", ["mnist", "celeba"])
def test_seeded_sample_and_reconstruct_are_reproducible(dataset):
    torch.manual_seed(0)
    model = lively(ESVAE.build(dataset, n_steps=2)).eval()
    x = torch.rand(2, *dataset_shape(dataset)) * 2 - 1
    with torch.no_grad():
        s1 = model.sample(3, torch.Generator().manual_seed(5))
        s2 = model.sample(3, torch.Generator().manual_seed(5))
        s3 = model.sample(3, torch.Generator().manual_seed(6))
        r1 = model.reconstruct(x, torch.Generator().manual_seed(5))
        r2 = model.reconstruct(x, torch.Generator().manual_seed(5))
    assert s1.shape == (3, *dataset_shape(dataset)) and r1.shape == x.shape
    assert torch.equal(s1, s2) and torch.equal(r1, r2)
    assert not torch.equal(s1, s3)
    assert s1.abs().max() <= 1 and r1.abs().max() <= 1


def test_spike_stats_and_cost_include_the_latent_sampler():
    torch.manual_seed(0)
    model = ESVAE.build("mnist", n_steps=2).eval()
    with torch.no_grad(), model.recording_spikes():
        model.sample(4, torch.Generator().manual_seed(0))
    stats = model.spike_stats()
    assert 0 < stats["latent_sampler.firing_rate"] < 1
    assert "decoder_input.op.input_nonzero" in stats
    gen = torch.Generator().manual_seed(0)
    cost = SpikingCost("sample")(model, lambda: model.sample(4, gen), 4)
    assert cost["cost_sample_firing_rate/latent_sampler"] == stats["latent_sampler.firing_rate"]
    # The prior's linear layer reads real-valued noise: multiply-accumulates, not ACs.
    assert cost["cost_sample_synops_mac_per_sample"] >= 32 * 32
