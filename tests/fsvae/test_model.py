import pytest
import snntorch
import torch

from benchcore.datasets import dataset_shape
from fsvae.config import FSVAEConfig
from fsvae.layers import TdBatchNorm
from fsvae.model import FSVAE
from pipelines.registry import build_model, model_from_config


def small(dataset: str = "mnist", **kw) -> FSVAE:
    torch.manual_seed(0)
    return FSVAE.build(dataset, n_steps=kw.pop("n_steps", 3), **kw)


def lively(model: FSVAE) -> FSVAE:
    """Give tdBN random running stats and biases so an untrained model spikes in eval."""
    gen = torch.Generator().manual_seed(7)
    for m in model.modules():
        if isinstance(m, TdBatchNorm):
            m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(0.05 + torch.rand(m.num_features, generator=gen))
            with torch.no_grad():
                m.bias.copy_(0.3 * torch.randn(m.num_features, generator=gen))
    return model


@pytest.mark.parametrize(
    ("dataset", "count", "large"),
    [
        ("mnist", 4_053_601, False),
        ("fashion-mnist", 4_053_601, False),
        ("cifar10", 4_054_755, False),
        ("celeba", 6_681_571, True),
    ],
)
def test_parameter_counts_and_class(dataset, count, large):
    model = build_model("fsvae", dataset)
    assert type(model) is FSVAE
    assert model.is_large is large  # the reference's FSVAELarge network for CelebA
    assert model.num_parameters() == count
    again = model_from_config("fsvae", model.config.to_dict())
    assert type(again) is FSVAE and again.is_large is large


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist", "cifar10", "celeba"])
def test_shapes_and_range(dataset):
    model = small(dataset, n_steps=2)
    shape = dataset_shape(dataset)
    x = torch.rand(2, *shape) * 2 - 1
    out = model.loss(x)
    assert set(out) == {"loss", "recon", "mmd"}
    assert all(v.dim() == 0 for v in out.values())
    model.eval()
    with torch.no_grad():
        rec = model.reconstruct(x)
        gen = model.sample(3)
    assert rec.shape == x.shape and gen.shape == (3, *shape)
    assert gen.abs().max() <= 1 and rec.abs().max() <= 1


def test_kld_variant():
    model = small(loss_func="kld")
    out = model.loss(torch.rand(2, 1, 32, 32) * 2 - 1)
    assert set(out) == {"loss", "recon", "kld"}
    with pytest.raises(ValueError):
        FSVAEConfig(loss_func="bce")


def test_every_activation_after_first_layer_is_binary():
    model = small()
    seen = {}

    def hook(name):
        def fn(_m, _i, out):
            seen[name] = out

        return fn

    for name, m in model.named_modules():
        if isinstance(m, snntorch.SpikingNeuron):
            m.register_forward_hook(hook(name))
    out = model(torch.rand(4, 1, 32, 32) * 2 - 1)
    assert len(seen) == 4 + 1 + 3 + 3 + 1 + 3 + 1
    for name, spikes in seen.items():
        assert ((spikes == 0) | (spikes == 1)).all(), name
    for key in ("q_z", "p_z", "z"):
        assert ((out[key] == 0) | (out[key] == 1)).all()


def test_gradients_reach_every_parameter():
    model = small(n_steps=4)
    model.loss(torch.rand(4, 1, 32, 32) * 2 - 1)["loss"].backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert missing == []


@pytest.mark.parametrize("mode", ["stream", "prefix"])
def test_determinism_with_generator(mode):
    model = lively(small(posterior_sampling=mode)).eval()
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        a = model.sample(4, torch.Generator().manual_seed(1))
        b = model.sample(4, torch.Generator().manual_seed(1))
        c = model.sample(4, torch.Generator().manual_seed(2))
        r1 = model.reconstruct(x, torch.Generator().manual_seed(3))
        r2 = model.reconstruct(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(r1, r2)


def test_two_models_do_not_share_neuron_state():
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    a = lively(small()).eval()
    with torch.no_grad():
        ref = a.reconstruct(x, torch.Generator().manual_seed(0))
        b = small().eval()
        b.sample(5)  # runs b's neurons in between
        snntorch.SpikingNeuron.init()  # a class-wide reset must not matter either
        again = a.reconstruct(x, torch.Generator().manual_seed(0))
    assert torch.equal(ref, again)
    for m in a.modules():
        if isinstance(m, snntorch.SpikingNeuron):
            assert not m.init_hidden and not hasattr(m, "mem")


def test_scheduled_sampling_probability():
    model = small()
    assert model.scheduled_p == pytest.approx(0.1)
    model.begin_epoch(75, 150, 10)
    assert model.scheduled_p == pytest.approx(0.2)
    model.begin_epoch(149, 150, 10)
    assert model.scheduled_p == pytest.approx(0.1 + 0.2 * 149 / 150)


def test_spike_stats_recording():
    model = small()
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    model.loss(x)
    assert model.spike_stats() == {}
    with model.recording_spikes():
        model.loss(x)
    stats = model.spike_stats()
    assert "encoder.0.lif.firing_rate" in stats
    assert "decoder.0.op.input_nonzero" in stats
    assert all(0 <= v <= 1 for v in stats.values())
    # Layers after the first see binary input.
    assert 0 < stats["encoder.1.op.input_nonzero"] < 1
    assert not model._recorder.active
