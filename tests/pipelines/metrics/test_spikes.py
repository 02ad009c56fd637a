import snntorch
import torch
from torch import nn

from pipelines.metrics.spikes import PJ_PER_AC, PJ_PER_MAC, SpikingCost, layer_ops


def test_linear_counts():
    layer = nn.Linear(4, 3)
    assert layer_ops(layer, torch.tensor([[1.0, 0, 1, 0]])) == 6
    assert layer_ops(layer, torch.ones(2, 4)) == 24


def test_conv_counts_exclude_padding():
    conv = nn.Conv2d(1, 1, 3, padding=1)
    centre = torch.zeros(1, 1, 3, 3)
    centre[0, 0, 1, 1] = 1
    corner = torch.zeros(1, 1, 3, 3)
    corner[0, 0, 0, 0] = 1
    assert layer_ops(conv, centre) == 9
    assert layer_ops(conv, corner) == 4
    # Dense: 4 corners x 4 taps + 4 edges x 6 taps + centre 9 taps.
    assert layer_ops(conv, torch.ones(1, 1, 3, 3)) == 49
    two_out = nn.Conv2d(1, 2, 3, padding=1)
    assert layer_ops(two_out, centre) == 18


def test_conv_transpose_counts():
    convt = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1)
    x = torch.zeros(1, 1, 2, 2)
    x[0, 0, 0, 0] = 1  # touches outputs rows/cols {0, 1} only (index -1 is cropped)
    assert layer_ops(convt, x) == 4


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 3, bias=False)
        self.lif = snntorch.Leaky(beta=0.5, threshold=0.5, init_hidden=False)
        self.fc2 = nn.Linear(3, 2, bias=False)
        with torch.no_grad():
            self.fc1.weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1.0, 0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spk, _ = self.lif(self.fc1(x))
        return self.fc2(spk)


def test_spiking_cost_on_hand_computable_network():
    net = _Tiny()
    x = torch.tensor([[0.7, 0.0, 0.9, 0.0]])  # real-valued input: MACs in fc1
    out = SpikingCost("recon")(net, lambda: net(x), num_samples=1)
    # fc1: 2 non-zero inputs x 3 outputs = 6 MACs; lif spikes at neurons 0 and 2 (> 0.5);
    # fc2 sees a binary input with 2 non-zeros x 2 outputs = 4 ACs.
    assert out["cost_recon_synops_mac_per_sample"] == 6
    assert out["cost_recon_synops_ac_per_sample"] == 4
    assert out["cost_recon_synops_dense_per_sample"] == 12 + 6
    assert out["cost_recon_firing_rate/lif"] == 2 / 3
    assert out["cost_recon_firing_rate_mean"] == 2 / 3
    energy = 4 * PJ_PER_AC + 6 * PJ_PER_MAC
    assert abs(out["cost_recon_energy_pj_per_sample_estimate_45nm"] - energy) < 1e-9
    assert not any(h for m in net.modules() for h in m._forward_hooks.values())


def test_ann_counts_macs_only():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.LeakyReLU(0.01), nn.Linear(3, 1))
    x = torch.randn(2, 1, 3, 3)
    out = SpikingCost("sample")(net, lambda: net(x), num_samples=2)
    assert out["cost_sample_synops_ac_per_sample"] == 0
    assert out["cost_sample_num_spiking_layers"] == 0
    # Per sample: conv 49 taps x 2 outputs; linear 6 rows x 3 non-zero inputs x 1 output.
    assert out["cost_sample_synops_mac_per_sample"] == 98 + 18
