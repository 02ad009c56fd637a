"""Spiking cost: firing rates, synaptic operations (NeuroBench definitions), energy estimate.

Forward hooks on every Conv2d / ConvTranspose2d / Linear count operations from the
input the layer actually received; hooks on every spike source (``snntorch.SpikingNeuron``
or a module with ``emits_spikes = True``, such as ESVAE's latent sampler) count spikes.
Spiking layers see time-folded tensors (T*N, ...) or per-step calls, so the sums cover
all T steps. Definitions (NeuroBench):

* dense ops: multiply-accumulates the layer would do on an all-non-zero input
  (padding taps excluded);
* effective ops: only those driven by non-zero inputs. For a conv that is, summed over
  non-zero input elements, the number of outputs each touches: computed exactly by
  running the conv on the non-zero mask with all-ones weights and no bias;
* binary (spike) inputs make accumulates (AC), real-valued inputs multiply-accumulates
  (MAC). The ANN is counted by the same hooks (all MACs).

Energy: 0.9 pJ per AC and 4.6 pJ per MAC (45 nm figures), an op-count estimate only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from fsvae.stats import is_spike_source

PJ_PER_AC = 0.9
PJ_PER_MAC = 4.6
SYNAPTIC_TYPES = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def layer_ops(layer: nn.Module, mask: torch.Tensor) -> int:
    """Return the synaptic operations a layer performs for the non-zero entries of ``mask``.

    Args:
        layer: Conv2d, ConvTranspose2d or Linear (zero padding assumed).
        mask: Float 0/1 tensor shaped like the layer's input.

    Returns:
        Number of (input, output) connections driven by non-zero inputs.

    """
    if isinstance(layer, nn.Linear):
        return int(mask.sum().item()) * layer.out_features
    ones = torch.ones_like(layer.weight, dtype=mask.dtype)
    if isinstance(layer, nn.Conv2d):
        out = F.conv2d(mask, ones, None, layer.stride, layer.padding, layer.dilation, layer.groups)
    elif isinstance(layer, nn.ConvTranspose2d):
        out = F.conv_transpose2d(
            mask,
            ones,
            None,
            layer.stride,
            layer.padding,
            layer.output_padding,
            layer.groups,
            layer.dilation,
        )
    else:
        raise TypeError(f"not a synaptic layer: {type(layer).__name__}")
    # Sums of small integers are exact in float64.
    return int(out.double().sum().item())


class _Tally:
    """Per-layer counters filled by the hooks of one measurement."""

    def __init__(self) -> None:
        self.dense: dict[str, int] = {}
        self.ac: dict[str, int] = {}
        self.mac: dict[str, int] = {}
        self.spikes: dict[str, float] = {}
        self.slots: dict[str, int] = {}

    def synapse_hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], _out: Any) -> None:
            x = inputs[0].detach()
            nonzero = (x != 0).to(torch.float32)
            dense = layer_ops(module, torch.ones_like(nonzero))
            effective = layer_ops(module, nonzero)
            binary = bool(((x == 0) | (x == 1)).all())
            self.dense[name] = self.dense.get(name, 0) + dense
            target = self.ac if binary else self.mac
            target[name] = target.get(name, 0) + effective

        return hook

    def neuron_hook(self, name: str) -> Callable[..., None]:
        def hook(_module: nn.Module, _inputs: Any, out: Any) -> None:
            spikes = out[0] if isinstance(out, tuple) else out
            self.spikes[name] = self.spikes.get(name, 0.0) + float(spikes.detach().sum())
            self.slots[name] = self.slots.get(name, 0) + spikes.numel()

        return hook


class SpikingCost:
    """Measure firing rates and synaptic operations of one model call.

    Args:
        label: What the call does (``recon`` or ``sample``), part of every key.
        pj_per_ac: Energy per accumulate.
        pj_per_mac: Energy per multiply-accumulate.

    """

    def __init__(
        self, label: str = "recon", pj_per_ac: float = PJ_PER_AC, pj_per_mac: float = PJ_PER_MAC
    ) -> None:
        self.label, self.pj_per_ac, self.pj_per_mac = label, pj_per_ac, pj_per_mac

    @torch.no_grad()
    def __call__(
        self, model: nn.Module, run: Callable[[], Any], num_samples: int
    ) -> dict[str, Any]:
        """Run ``run()`` once with hooks on ``model`` and return per-sample costs.

        Args:
            model: The network whose layers are observed.
            run: The call to measure (e.g. ``lambda: model.sample(n, gen)``).
            num_samples: Images the call processes (the per-sample divisor).

        Returns:
            Flat dict prefixed ``cost_<label>_``: per-layer firing rates, mean rate,
            dense / AC / MAC operations per sample and the 45 nm energy estimate.

        """
        tally = _Tally()
        handles = []
        for name, module in model.named_modules():
            if isinstance(module, SYNAPTIC_TYPES):
                handles.append(module.register_forward_hook(tally.synapse_hook(name)))
            elif is_spike_source(module):
                handles.append(module.register_forward_hook(tally.neuron_hook(name)))
        try:
            run()
        finally:
            for handle in handles:
                handle.remove()
        p = f"cost_{self.label}_"
        n = float(num_samples)
        acs, macs = sum(tally.ac.values()) / n, sum(tally.mac.values()) / n
        out: dict[str, Any] = {
            f"{p}num_samples": num_samples,
            f"{p}synops_dense_per_sample": sum(tally.dense.values()) / n,
            f"{p}synops_ac_per_sample": acs,
            f"{p}synops_mac_per_sample": macs,
            f"{p}energy_pj_per_sample_estimate_45nm": acs * self.pj_per_ac + macs * self.pj_per_mac,
            f"{p}energy_protocol": (
                f"op-count estimate: {self.pj_per_ac} pJ/AC, {self.pj_per_mac} pJ/MAC (45 nm); "
                "effective ops (non-zero inputs), NeuroBench definitions"
            ),
            f"{p}num_spiking_layers": len(tally.slots),
        }
        if tally.slots:
            out[f"{p}firing_rate_mean"] = sum(tally.spikes.values()) / sum(tally.slots.values())
            for name in tally.slots:
                out[f"{p}firing_rate/{name}"] = tally.spikes[name] / tally.slots[name]
        for name in tally.dense:
            effective = tally.ac.get(name, 0) + tally.mac.get(name, 0)
            out[f"{p}synops_effective_per_sample/{name}"] = effective / n
        return out
