"""Operation-count conventions applied to the spike recorder's records.

The recorder is :class:`fsvae.spike_recorder.SpikeRecorder`.

The records describe the plain layer-by-layer computation (the recorder turns a model's
``use_shortcuts`` off), so every count here is the same whatever the model ran with.
Three conventions (docs/metrics.md, "Computational cost"):

* **reference**: the counters of the FSVAE reference code (``CountMulAddANN`` for a
  network without spike sources, ``CountMulAddSNN`` otherwise), quirks included;
* **corrected**: true multiply-accumulates, dense (every connection) and spike-driven
  (non-zero inputs; binary inputs make additions only);
* **NeuroBench**: dense synaptic operations, effective MACs / ACs, activation sparsity,
  neuron (membrane) updates.

What the corrected and NeuroBench counts charge for the first layer (its input, the
image, is the same at every step) and the output layer (a linear map of spikes that can
follow the time integration) is a declared :class:`CountConvention`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from torch import nn

from fsvae.spike_recorder import SpikeRecorder, SynapseCall

FIRST_LAYER = ("per_step", "once")
OUTPUT_LAYER = ("per_step", "integrated")


@dataclass(frozen=True)
class CountConvention:
    """What the corrected / NeuroBench counts charge.

    Attributes:
        first_layer: ``per_step``: a layer whose real-valued input repeats at every step
            is charged T times (the plain computation, as the reference counts it);
            ``once``: once (a conv of a repeated input is the repeat of the conv).
        output_layer: ``per_step``: the last synaptic layer is charged on its T spike
            frames; ``integrated``: once, on the time-integrated (real-valued, counted
            dense) input, as the membrane output allows.

    """

    first_layer: str = "per_step"
    output_layer: str = "per_step"

    def __post_init__(self) -> None:
        if self.first_layer not in FIRST_LAYER:
            raise ValueError(f"first_layer must be one of {FIRST_LAYER}, not {self.first_layer!r}")
        if self.output_layer not in OUTPUT_LAYER:
            raise ValueError(
                f"output_layer must be one of {OUTPUT_LAYER}, not {self.output_layer!r}"
            )

    def describe(self) -> str:
        """One-line protocol field."""
        return f"first_layer={self.first_layer}; output_layer={self.output_layer}"


@dataclass(frozen=True)
class OpCounts:
    """Additions and multiplications of one run."""

    additions: float
    multiplications: float


def _geometry(layer: nn.Module) -> tuple[int, int]:
    """Return ``(k_h * k_w * C_out, s_h * s_w)`` of a conv, ``(out_features, 1)`` of a Linear."""
    if isinstance(layer, nn.Linear):
        return layer.out_features, 1
    kh, kw = layer.kernel_size
    sh, sw = layer.stride
    return kh * kw * layer.out_channels, sh * sw


def reference_ann(rec: SpikeRecorder) -> OpCounts:
    """``CountMulAddANN`` of the reference, quirks reproduced.

    It takes the input shape as the output shape (the bias additions are the input's
    size), counts a Linear as ``N x in x in`` and multiplies a ConvTranspose's cost by
    stride^2 where a Conv's is divided by it.
    """
    mul = add = 0.0
    for c in rec.synapses:
        fan, stride = _geometry(c.layer)
        if isinstance(c.layer, nn.Linear):
            m = c.in_shape[0] * c.in_shape[1] * c.in_shape[1]
        elif isinstance(c.layer, nn.ConvTranspose2d):
            m = c.in_numel * fan * stride
        else:
            m = c.in_numel * fan / stride
        mul += m
        add += m + c.in_numel
    return OpCounts(add, mul)


def _prefix_weights(names: list[str], steps: int) -> list[int]:
    """Weight ``T - s`` for the s-th of exactly T one-step calls of a layer, else 1.

    The reference re-runs FSVAE's autoregressive posterior (and, when sampling, its prior)
    on every prefix ``1..t``, where we stream one step at a time: step s is computed once
    here and ``T - s`` times there.
    """
    total = Counter(names)
    seen: Counter[str] = Counter()
    weights = []
    for name in names:
        s = seen[name]
        seen[name] += 1
        weights.append(steps - s if steps > 1 and total[name] == steps else 1)
    return weights


def reference_snn(rec: SpikeRecorder, first_conv_real: bool = True) -> OpCounts:
    """``CountMulAddSNN`` of the reference, quirks and prefix re-runs reproduced.

    Additions: input spikes x k^2 x C_out / stride^2 (x stride^2 for a ConvTranspose,
    x out_features for a Linear) plus one bias addition per output, plus one membrane
    addition per LIF neuron-step. Multiplications: the first conv on the real-valued
    image (``in x k^2 x C_out / stride^2``, its "bias" additions the input's size) and
    one decay multiply per non-spiking LIF neuron-step.

    Args:
        rec: Records of one run.
        first_conv_real: Whether the first conv is flagged real-valued (the reference's
            ``FSVAE``; its ``FSVAELarge`` leaves the flag unset, so the image is counted
            as if it were spikes).

    """
    mul = add = 0.0
    weights = _prefix_weights([c.name for c in rec.synapses], rec.steps)
    for c, w in zip(rec.synapses, weights, strict=True):
        fan, stride = _geometry(c.layer)
        if first_conv_real and c.repeated and not c.binary and isinstance(c.layer, nn.Conv2d):
            m = c.in_numel * fan / stride
            mul += w * m
            add += w * (m + c.in_numel)
            continue
        scale = stride if isinstance(c.layer, nn.ConvTranspose2d) else 1 / stride
        add += w * (c.in_sum * fan * scale + c.out_numel)
    lif = [n for n in rec.neurons if n.lif]
    for n, w in zip(lif, _prefix_weights([n.name for n in lif], rec.steps), strict=True):
        add += w * n.slots
        mul += w * (n.slots - n.spikes)
    return OpCounts(add, mul)


def reference_counts(rec: SpikeRecorder, first_conv_real: bool = True) -> OpCounts:
    """The reference counter the network would get: SNN if it has spike sources, else ANN."""
    return reference_snn(rec, first_conv_real) if rec.neurons else reference_ann(rec)


@dataclass(frozen=True)
class SynapticCounts:
    """Synaptic operations of one run under a :class:`CountConvention`.

    Attributes:
        dense: Connections for all-non-zero inputs (NeuroBench "dense").
        macs: Effective multiply-accumulates (non-zero real-valued inputs).
        acs: Effective accumulates (spikes: binary inputs).

    """

    dense: float
    macs: float
    acs: float


def _charged(c: SynapseCall, is_output: bool, steps: int, conv: CountConvention) -> tuple:
    """Return ``(dense, macs, acs)`` one call is charged under ``conv``."""
    if conv.first_layer == "once" and c.repeated and not c.binary:
        return c.dense / steps, c.effective / steps, 0.0
    if conv.output_layer == "integrated" and is_output and steps > 1:
        return c.dense / steps, c.dense / steps, 0.0
    if c.binary:
        return float(c.dense), 0.0, float(c.effective)
    return float(c.dense), float(c.effective), 0.0


def synaptic_counts(rec: SpikeRecorder, conv: CountConvention) -> SynapticCounts:
    """Dense and effective synaptic operations (NeuroBench definitions) of one run."""
    dense = macs = acs = 0.0
    last = len(rec.synapses) - 1
    for i, c in enumerate(rec.synapses):
        d, m, a = _charged(c, i == last and bool(rec.neurons), rec.steps, conv)
        dense, macs, acs = dense + d, macs + m, acs + a
    return SynapticCounts(dense, macs, acs)


def neuron_updates(rec: SpikeRecorder) -> int:
    """Membrane updates: one per LIF neuron-step (NeuroBench "membrane updates")."""
    return sum(n.slots for n in rec.neurons if n.lif)


def activation_sparsity(rec: SpikeRecorder) -> float | None:
    """Fraction of zero outputs of the spike sources (None without any)."""
    slots = sum(n.slots for n in rec.neurons)
    return 1.0 - sum(n.spikes for n in rec.neurons) / slots if slots else None
