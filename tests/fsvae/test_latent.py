import torch

from fsvae.autoregressive_latent import draw_indices, pick, sample_posterior, sample_prior
from fsvae.model import FSVAE
from tests.fsvae.test_model import lively


def naive_posterior(net, x_e, index):
    """Oracle: the reference's way, re-running the network on every prefix."""
    hist = [torch.zeros_like(x_e[0])]
    for t in range(x_e.shape[0]):
        q = net(torch.cat([x_e[: t + 1], torch.stack(hist)], -1))
        hist.append(pick(q[-1], index[t]))
    return torch.stack(hist[1:])


def naive_prior(net, index):
    hist = [torch.zeros(index.shape[1], index.shape[2])]
    for t in range(index.shape[0]):
        hist.append(pick(net(torch.stack(hist))[-1], index[t]))
    return torch.stack(hist[1:])


def model_and_input(steps=6):
    torch.manual_seed(0)
    model = lively(FSVAE.build("mnist", n_steps=steps)).eval()
    x = torch.rand(5, 1, 32, 32) * 2 - 1
    return model, x


def test_streamed_posterior_equals_prefix_rerun_in_eval():
    model, x = model_and_input()
    with torch.no_grad():
        x_e = model.encode(x)
        idx = draw_indices(x_e.shape, model.config.k, torch.Generator().manual_seed(0), x.device)
        oracle = naive_posterior(model.posterior, x_e, idx)
        q_stream, z_stream = sample_posterior(model.posterior, x_e, idx, "stream")
        _, z_prefix = sample_posterior(model.posterior, x_e, idx, "prefix")
    assert 0 < oracle.mean() < 1
    assert torch.equal(z_stream, oracle)
    assert torch.equal(z_prefix, oracle)
    # With gradients enabled the two-pass path must agree as well.
    _, z_graph = sample_posterior(model.posterior, x_e, idx, "stream")
    assert torch.equal(z_graph, oracle)
    assert q_stream.shape == (6, 5, 128, 20)


def test_streamed_prior_equals_prefix_rerun_in_eval():
    model, _ = model_and_input()
    idx = draw_indices((6, 4, 128), model.config.k, torch.Generator().manual_seed(1), "cpu")
    with torch.no_grad():
        oracle = naive_prior(model.prior, idx)
        assert 0 < oracle.mean() < 1
        assert torch.equal(sample_prior(model.prior, idx, "stream"), oracle)
        assert torch.equal(sample_prior(model.prior, idx, "prefix"), oracle)


def test_pick_is_a_bernoulli_choice_of_candidates():
    cand = torch.tensor([[[0.0, 1.0, 1.0, 0.0]]])
    idx = torch.tensor([[1]])
    assert pick(cand, idx).item() == 1.0


def _count_full_passes(net):
    calls = []
    net.register_forward_hook(lambda *_: calls.append(1))
    return calls


def test_prefix_mode_streams_in_eval_and_reruns_prefixes_in_training():
    """Eval mode: no prefix re-run in either mode (exact there). Training: prefix re-runs."""
    model, x = model_and_input(steps=5)
    post_calls = _count_full_passes(model.posterior)
    prior_calls = _count_full_passes(model.prior)
    with torch.no_grad():
        x_e = model.encode(x)
        idx = draw_indices(x_e.shape, model.config.k, torch.Generator().manual_seed(0), "cpu")
        sample_posterior(model.posterior, x_e, idx, "prefix")
        sample_prior(model.prior, idx, "prefix")
    assert post_calls == [] and prior_calls == []
    # Eval with gradients: the streamed history plus the one full pass that carries them.
    sample_posterior(model.posterior, x_e, idx, "prefix")
    assert post_calls == [1]
    model.train()
    post_calls.clear()
    with torch.no_grad():
        sample_posterior(model.posterior, x_e, idx, "prefix")
    assert len(post_calls) == 5  # T - 1 prefix re-runs and the full pass
    post_calls.clear()
    with torch.no_grad():
        sample_posterior(model.posterior, x_e, idx, "stream")
    assert len(post_calls) == 1
