"""The reference's operation counters, reproduced, on networks whose counts are known by hand."""

import snntorch
import torch
from torch import nn

from baselines.ann_vae import VanillaVAE
from fsvae.spike_recorder import SpikeRecorder
from pipelines.metrics.cost_conventions import (
    CountConvention,
    reference_ann,
    reference_snn,
    synaptic_counts,
)
from pipelines.metrics.spikes import record_run


def test_ann_vae_reference_convention_gives_the_papers_figure():
    model = VanillaVAE.build("mnist").eval()
    x = torch.zeros(2, 1, 32, 32)
    counts = reference_ann(record_run(model, lambda: model.reconstruct(x)))
    per_image = counts.multiplications / 2
    assert per_image == 29_614_080
    # The paper's 7.4e9 is this per test batch of 250 images.
    assert per_image * 250 == 7_403_520_000


class _HandSpikes(snntorch.SpikingNeuron):
    """A spike source that emits a fixed tensor, whatever its input."""

    def __init__(self, spikes: torch.Tensor) -> None:
        super().__init__()
        self.spikes = spikes

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        return self.spikes


class _TinySNN(nn.Module):
    """Repeated image -> conv -> hand spikes -> convT -> hand spikes -> linear (T = 2, N = 1)."""

    def __init__(self) -> None:
        super().__init__()
        s1 = torch.zeros(2, 2, 2, 2)
        s1.view(-1)[[0, 3, 5, 8, 15]] = 1  # 5 spikes in 16 neuron-steps
        s2 = torch.zeros(2, 1, 4, 4)
        s2.view(-1)[[1, 2, 4, 9, 20, 30, 31]] = 1  # 7 spikes in 32 neuron-steps
        self.conv = nn.Conv2d(1, 2, 3, stride=2, padding=1)
        self.lif1 = _HandSpikes(s1)
        self.convt = nn.ConvTranspose2d(2, 1, 3, stride=2, padding=1, output_padding=1)
        self.lif2 = _HandSpikes(s2)
        self.fc = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.lif1(self.conv(x.expand(2, -1, -1, -1)))
        h = self.lif2(self.convt(h))
        return self.fc(h.flatten(1))


def test_reference_snn_counter_equals_a_hand_count():
    net = _TinySNN()
    rec = SpikeRecorder(net, steps=2)
    with torch.no_grad(), rec:
        net(torch.rand(1, 1, 4, 4) * 2 - 1)
    counts = reference_snn(rec)
    # first conv (real image, repeated over T = 2): 32 inputs x 9 x 2 / 4 multiplications,
    # plus as many additions and the input's size (the counter's "bias" additions)
    conv_mul = 32 * 9 * 2 / 4
    conv_add = conv_mul + 32
    # LIF: one addition per neuron-step, one multiply per non-spiking neuron-step
    lif_add, lif_mul = 16 + 32, (16 - 5) + (32 - 7)
    # convT: 5 spikes x 9 x 1 x stride^2 4, plus one bias per output (2 x 1 x 4 x 4)
    convt_add = 5 * 9 * 1 * 4 + 32
    # linear: 7 spikes x 3 outputs plus 2 x 3 biases
    fc_add = 7 * 3 + 2 * 3
    assert counts.multiplications == conv_mul + lif_mul == 180
    assert counts.additions == conv_add + lif_add + convt_add + fc_add == 463


def test_reference_counter_weights_streamed_steps_as_prefix_reruns():
    """A layer called T times, one step each, is charged T - s times at step s."""
    fc = nn.Linear(2, 3)
    net = nn.Sequential(fc)
    rec = SpikeRecorder(net, steps=3)
    spikes = [torch.tensor([[1.0, 0]]), torch.tensor([[1.0, 1]]), torch.tensor([[0.0, 0]])]
    with torch.no_grad(), rec:
        for s in spikes:
            net(s)
    # step s: (spikes x 3 + 3 biases) x (3 - s)
    expected = (1 * 3 + 3) * 3 + (2 * 3 + 3) * 2 + (0 + 3) * 1
    # no LIF here: the SNN counter is asked directly
    assert reference_snn(rec).additions == expected


def test_corrected_convention_first_layer_once_or_per_step():
    net = _TinySNN()
    rec = SpikeRecorder(net, steps=2)
    with torch.no_grad(), rec:
        net(torch.rand(1, 1, 4, 4) + 0.5)  # no zero pixel: effective = dense on the conv
    per_step = synaptic_counts(rec, CountConvention())
    once = synaptic_counts(rec, CountConvention(first_layer="once"))
    conv_dense = rec.synapses[0].dense
    assert per_step.macs - once.macs == conv_dense / 2
    assert per_step.acs == once.acs > 0
    integrated = synaptic_counts(rec, CountConvention(output_layer="integrated"))
    fc = rec.synapses[-1]
    assert integrated.acs == per_step.acs - fc.effective
    assert integrated.macs == per_step.macs + fc.dense / 2


def test_reference_large_variant_counts_the_image_as_spikes():
    """The reference's FSVAELarge leaves is_first_conv unset: the image sum is its "spikes"."""
    net = _TinySNN()
    rec = SpikeRecorder(net, steps=2)
    with torch.no_grad(), rec:
        net(torch.full((1, 1, 4, 4), 0.5))
    counts = reference_snn(rec, first_conv_real=False)
    # conv: input sum 32 x 0.5 = 16 "spikes" x 9 x 2 / 4, plus 2 x 2 x 2 x 2 bias additions
    conv_add = 16 * 9 * 2 / 4 + 16
    assert counts.additions == conv_add + (16 + 32) + (5 * 9 * 4 + 32) + (7 * 3 + 2 * 3)
    assert counts.multiplications == (16 - 5) + (32 - 7)
