"""Spiking cost: firing rates, synaptic operations (NeuroBench definitions), energy estimate.

Counted from the records of :class:`fsvae.spike_recorder.SpikeRecorder`, the project's one
spike-instrumentation path (the tests and ``spike_stats`` read the same records). The
recorder runs a model's plain computation, so no number here depends on its shortcuts
(``use_shortcuts``); what the first layer (repeated image) and the output layer (after the time
integration) are charged is the declared :class:`CountConvention`, recorded in
``cost_<label>_convention``. Definitions (NeuroBench; docs/metrics.md):

* dense ops: multiply-accumulates the layer would do on an all-non-zero input
  (padding taps excluded);
* effective ops: only those driven by non-zero inputs; binary (spike) inputs make
  accumulates (AC), real-valued inputs multiply-accumulates (MAC). The ANN is counted by
  the same hooks (all MACs);
* neuron updates: one membrane update per LIF neuron-step; activation sparsity: the
  fraction of zero outputs of the spike sources.

Energy: Horowitz's 45 nm figures (:data:`ENERGY_PRESETS`), an op-count estimate of the
synaptic operations only (compute, forward pass, no memory access, no neuron updates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from fsvae.spike_recorder import SpikeRecorder, layer_ops
from pipelines.metrics.cost_conventions import (
    CountConvention,
    activation_sparsity,
    neuron_updates,
    synaptic_counts,
)

__all__ = ["ENERGY_PRESETS", "PJ_PER_AC", "PJ_PER_MAC", "SpikingCost", "layer_ops"]

#: ``(pJ per AC, pJ per MAC)`` from Horowitz (ISSCC 2014), 45 nm: an addition, and a
#: multiplication plus an addition. fp32 is the default; fp16 and int8 are optional.
ENERGY_PRESETS: dict[str, tuple[float, float]] = {
    "45nm_fp32": (0.9, 4.6),
    "45nm_fp16": (0.4, 1.5),
    "45nm_int8": (0.03, 0.23),
}
PJ_PER_AC, PJ_PER_MAC = ENERGY_PRESETS["45nm_fp32"]


def record_run(model: nn.Module, run: Callable[[], Any]) -> SpikeRecorder:
    """Run ``run()`` once, without gradients, with a recorder on ``model``; return it."""
    recorder = SpikeRecorder(model)
    with torch.no_grad(), recorder:
        run()
    return recorder


class SpikingCost:
    """Measure firing rates and synaptic operations of one model call.

    Args:
        label: What the call does (``recon`` or ``sample``), part of every key.
        pj_per_ac: Energy per accumulate.
        pj_per_mac: Energy per multiply-accumulate.
        convention: What the first and the output layer are charged.

    """

    def __init__(
        self,
        label: str = "recon",
        pj_per_ac: float = PJ_PER_AC,
        pj_per_mac: float = PJ_PER_MAC,
        convention: CountConvention | None = None,
    ) -> None:
        self.label, self.pj_per_ac, self.pj_per_mac = label, pj_per_ac, pj_per_mac
        self.convention = convention or CountConvention()

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
        return self.from_records(record_run(model, run), num_samples)

    def from_records(self, rec: SpikeRecorder, num_samples: int) -> dict[str, Any]:
        """The metric's fields from the records of one run of ``num_samples`` images."""
        p = f"cost_{self.label}_"
        n = float(num_samples)
        ops = synaptic_counts(rec, self.convention)
        acs, macs = ops.acs / n, ops.macs / n
        out: dict[str, Any] = {
            f"{p}num_samples": num_samples,
            f"{p}convention": self.convention.describe(),
            f"{p}synops_dense_per_sample": ops.dense / n,
            f"{p}synops_ac_per_sample": acs,
            f"{p}synops_mac_per_sample": macs,
            f"{p}neuron_updates_per_sample": neuron_updates(rec) / n,
            f"{p}energy_pj_per_sample_estimate_45nm": acs * self.pj_per_ac + macs * self.pj_per_mac,
            f"{p}energy_protocol": (
                f"op-count estimate: {self.pj_per_ac} pJ/AC, {self.pj_per_mac} pJ/MAC (45 nm); "
                "effective synaptic ops (non-zero inputs), NeuroBench definitions; "
                "compute only, forward pass, every synaptic layer"
            ),
            f"{p}num_spiking_layers": len({c.name for c in rec.neurons}),
        }
        sparsity = activation_sparsity(rec)
        if sparsity is not None:
            out[f"{p}activation_sparsity"] = sparsity
            out[f"{p}firing_rate_mean"] = 1.0 - sparsity
        rates = rec.rates()
        for key, value in rates.items():
            if key.endswith(".firing_rate"):
                out[f"{p}firing_rate/{key.removesuffix('.firing_rate')}"] = value
        per_layer: dict[str, float] = {}
        for c in rec.synapses:
            per_layer[c.name] = per_layer.get(c.name, 0.0) + c.effective / n
        for name, value in per_layer.items():
            out[f"{p}synops_effective_per_sample/{name}"] = value
        return out
