import pytest
import snntorch
import torch

from fsvae.neurons import LIF, LIFState, boxcar_surrogate


def plain_lif(current: torch.Tensor, neuron: LIF, detach_reset: bool = False) -> torch.Tensor:
    """The same equations with ordinary autograd (reset gradient kept unless detached)."""
    mem, spk, out = None, None, []
    for i_t in current.unbind(0):
        reset = spk.detach() if detach_reset and spk is not None else spk
        mem = i_t if mem is None else 0.25 * mem * (1 - reset) + i_t
        spk = neuron.fire(mem)
        out.append(spk)
    return torch.stack(out)


def test_hand_computed_trajectory():
    # Membrane by hand (decay 0.25, Vth 0.2, hard reset):
    # t1: u=0.1 -> 0 ; t2: u=0.025+0.15=0.175 -> 0 ; t3: u=0.04375+0.3=0.34375 -> 1
    # t4: reset, u=0.1 -> 0 ; t5: u=0.025-0.5=-0.475 -> 0
    current = torch.tensor([0.1, 0.15, 0.3, 0.1, -0.5], dtype=torch.float64).view(5, 1)
    neuron = LIF()
    spikes = neuron(current)
    assert spikes.view(-1).tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    state = LIFState()
    mems = []
    for t in range(5):
        neuron(current[t : t + 1], state)
        mems.append(state.mem.item())
    expected = [0.1, 0.175, 0.34375, 0.1, -0.475]
    assert torch.allclose(
        torch.tensor(mems, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64)
    )


def test_surrogate_gradient_values():
    spike_grad = boxcar_surrogate(half_width=0.5, center=0.0, threshold=0.2)
    mem = torch.tensor([-0.6, -0.49, 0.0, 0.19, 0.21, 0.49, 0.51], requires_grad=True)
    spk = spike_grad(mem - 0.2)
    assert spk.tolist() == [0, 0, 0, 0, 1, 1, 1]
    spk.sum().backward()
    # Window |u| < 0.5 centred on u = 0 (reference code), height 1 / (2 * 0.5) = 1.
    assert mem.grad.tolist() == [0, 1, 1, 1, 1, 1, 0]


def test_fused_gradient_matches_plain_autograd():
    torch.manual_seed(0)
    neuron = LIF()
    current = (0.4 * torch.randn(12, 5, 3, 4, 4, dtype=torch.float64)).requires_grad_()
    weight = torch.randn(12, 5, 3, 4, 4, dtype=torch.float64)
    fused = neuron(current)
    (g_fused,) = torch.autograd.grad((fused * weight).sum(), current)
    plain = plain_lif(current, neuron)
    (g_plain,) = torch.autograd.grad((plain * weight).sum(), current)
    assert torch.equal(fused, plain)
    assert torch.allclose(g_fused, g_plain, atol=1e-12)
    # The reset path matters: detaching it (as snn.Leaky does) changes the gradient.
    detached = plain_lif(current, neuron, detach_reset=True)
    (g_detached,) = torch.autograd.grad((detached * weight).sum(), current)
    assert not torch.allclose(g_fused, g_detached)


def test_channels_last_and_chunking(monkeypatch):
    import fsvae.fused_lif as fused_lif

    monkeypatch.setattr(fused_lif, "_CHUNK", 7)
    neuron = LIF()
    x = 0.4 * torch.randn(6, 2 * 3, 5, 4, 4, dtype=torch.float64)
    x_cl = x.flatten(0, 1).contiguous(memory_format=torch.channels_last).unflatten(0, (6, 6))
    x_cl.requires_grad_()
    out = neuron(x_cl)
    (g,) = torch.autograd.grad(out.sum(), x_cl)
    x2 = x.clone().requires_grad_()
    ref = plain_lif(x2, neuron)
    (g_ref,) = torch.autograd.grad(ref.sum(), x2)
    assert torch.equal(out, ref)
    assert torch.allclose(g, g_ref, atol=1e-12)


def test_streaming_equals_full_sequence():
    neuron = LIF()
    x = 0.4 * torch.randn(9, 4, 7)
    state = LIFState()
    streamed = torch.cat([neuron(x[t : t + 1], state) for t in range(9)])
    assert torch.equal(streamed, neuron(x))


def test_neuron_is_snntorch_neuron_without_registry_entry():
    neuron = LIF()
    assert isinstance(neuron, snntorch.SpikingNeuron)
    assert not neuron.init_hidden
    assert all(inst is not neuron for inst in snntorch.SpikingNeuron.instances)
    assert sum(p.numel() for p in neuron.parameters()) == 0


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "repeated"])
def test_whole_step_path_is_bit_identical_to_cpu_chunks(monkeypatch, dtype, layout):
    """The path of non-CPU devices (whole steps, no chunks) gives the CPU's exact bits."""
    import fsvae.fused_lif as fused_lif

    torch.manual_seed(0)
    neuron = LIF(surrogate_half_width=0.4)  # height 1.25: the scaled window too
    if layout == "repeated":
        step = (0.3 * torch.randn(6, 5, 4, 4, dtype=dtype)).contiguous(
            memory_format=torch.channels_last
        )
        base = step.requires_grad_()
        make = lambda: base.unsqueeze(0).expand(9, *step.shape)  # noqa: E731
        leaf = base
    else:
        x = 0.4 * torch.randn(9, 6, 5, 4, 4, dtype=dtype)
        if layout == "channels_last":
            x = x.flatten(0, 1).contiguous(memory_format=torch.channels_last).unflatten(0, (9, 6))
        leaf = x.requires_grad_()
        make = lambda: leaf  # noqa: E731
    weight = torch.randn(9, 6, 5, 4, 4, dtype=dtype)
    results = []
    for chunked in (True, False):
        monkeypatch.setattr(fused_lif, "_cache_chunked", lambda _x, c=chunked: c)
        monkeypatch.setattr(fused_lif, "_CHUNK", 37)  # several chunks on the CPU path
        out = neuron(make())
        (grad,) = torch.autograd.grad((out * weight).sum(), leaf)
        results.append((out, grad))
    assert torch.equal(results[0][0], results[1][0])
    assert torch.equal(results[0][1], results[1][1])
    ref = plain_lif(make().detach().clone().requires_grad_(), neuron)
    assert torch.equal(results[1][0], ref)


def test_whole_step_path_on_meta_issues_few_ops():
    """Off the CPU the loop costs two ops per step forward and three backward, not per chunk."""
    from pipelines.profiling.op_counter import OpCounter

    neuron = LIF()
    x = torch.empty(16, 250, 32, 16, 16, device="meta", requires_grad=True)
    with OpCounter() as counter:
        out = neuron(x)
        out.backward(torch.empty_like(out))
    assert counter.total <= 2 * 16 + 3 * 16 + 16, counter.by_op
