"""The one spike-instrumentation path: forward hooks that record what each layer received.

Spiking layers are ``snntorch.SpikingNeuron`` modules and other spike sources that set
``emits_spikes = True`` (ESVAE's latent sampler); synaptic layers are
Conv2d / ConvTranspose2d / Linear. Hooks exist only while recording. Each call of a layer
leaves one record (:class:`SynapseCall` or :class:`NeuronCall`) with everything the
operation counts need: input size, non-zeros, sum, whether the input is binary or the
same at every time step, dense and effective connection counts, output size.

While recording, a model with a ``use_shortcuts`` attribute runs its plain
layer-by-layer computation (``use_shortcuts = False``; restored afterwards): the
shortcuts (the first conv run once on the repeated image, the output convT after the
time integration) compute the same function with fewer operations, and what is
counted must be the network, not the shortcut. Which of the two a cost figure charges
is then a declared convention applied to these records
(``pipelines/metrics/cost_conventions.py``, docs/metrics.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import snntorch
import torch
import torch.nn.functional as F
from torch import nn

SYNAPTIC_TYPES = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def is_spike_source(module: nn.Module) -> bool:
    """Whether a module's output is spikes: a snntorch neuron or ``emits_spikes = True``."""
    return isinstance(module, snntorch.SpikingNeuron) or bool(
        getattr(module, "emits_spikes", False)
    )


def layer_ops(layer: nn.Module, mask: torch.Tensor) -> int:
    """Return the synaptic operations a layer performs for the non-zero entries of ``mask``.

    Args:
        layer: Conv2d, ConvTranspose2d or Linear (zero padding assumed).
        mask: Float 0/1 tensor shaped like the layer's input.

    Returns:
        Number of (input, output) connections driven by non-zero inputs (padding taps
        excluded): the conv of the mask with all-ones weights and no bias, summed.

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


@dataclass(frozen=True)
class SynapseCall:
    """One call of a synaptic layer.

    Attributes:
        name: Module name in the model.
        layer: The layer (for its geometry: kernel, stride, channels, features).
        in_shape: Input shape as the layer saw it (time folded into the batch).
        in_nonzero: Non-zero input elements.
        in_sum: Sum of the inputs (the spike count for binary inputs).
        binary: Whether every input is 0 or 1.
        repeated: Whether the input is the same at every one of the ``steps`` time steps
            (direct encoding of an image); False for ``steps`` = 1.
        dense: Connections for an all-non-zero input.
        effective: Connections driven by non-zero inputs.
        out_numel: Output elements.

    """

    name: str
    layer: nn.Module
    in_shape: tuple[int, ...]
    in_nonzero: int
    in_sum: float
    binary: bool
    repeated: bool
    dense: int
    effective: int
    out_numel: int

    @property
    def in_numel(self) -> int:
        """Input elements."""
        n = 1
        for d in self.in_shape:
            n *= d
        return n


@dataclass(frozen=True)
class NeuronCall:
    """One call of a spike source.

    Attributes:
        name: Module name in the model.
        spikes: Spikes emitted.
        slots: Neuron-steps (output elements): the membrane updates of a LIF layer.
        lif: Whether the source is a neuron with a membrane (not a random sampler).

    """

    name: str
    spikes: float
    slots: int
    lif: bool


def _repeated(x: torch.Tensor, steps: int) -> bool:
    if steps < 2 or x.shape[0] % steps:
        return False
    seq = x.unflatten(0, (steps, -1))
    return bool((seq == seq[:1]).all())


class SpikeRecorder:
    """Records every synaptic and spiking layer call of a model while active.

    Args:
        model: The network to observe.
        steps: Time steps T (for the repeated-input check); default the model's
            ``config.n_steps``, else 1.

    """

    def __init__(self, model: nn.Module, steps: int | None = None) -> None:
        self._model = model
        config = getattr(model, "config", None)
        self.steps = int(steps if steps is not None else getattr(config, "n_steps", 1))
        self._handles: list[Any] = []
        self._saved_shortcuts: bool | None = None
        # Dense counts depend on the layer and the input shape only: computed once each.
        self._dense: dict[tuple[str, tuple[int, ...]], int] = {}
        self.synapses: list[SynapseCall] = []
        self.neurons: list[NeuronCall] = []

    @property
    def active(self) -> bool:
        """Whether hooks are attached."""
        return bool(self._handles)

    def start(self) -> None:
        """Attach hooks and switch the model to its plain computation (idempotent)."""
        if self.active:
            return
        for name, module in self._model.named_modules():
            if is_spike_source(module):
                self._handles.append(module.register_forward_hook(self._neuron_hook(name)))
            elif isinstance(module, SYNAPTIC_TYPES):
                self._handles.append(module.register_forward_hook(self._synapse_hook(name)))
        if hasattr(self._model, "use_shortcuts"):
            self._saved_shortcuts = bool(self._model.use_shortcuts)
            self._model.use_shortcuts = False

    def stop(self) -> None:
        """Remove the hooks and restore ``use_shortcuts``; the last records stay readable."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._saved_shortcuts is not None:
            self._model.use_shortcuts = self._saved_shortcuts
            self._saved_shortcuts = None

    def __enter__(self) -> SpikeRecorder:
        self.clear()
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def clear(self) -> None:
        """Forget the records (the models call it at the start of each call)."""
        self.synapses = []
        self.neurons = []

    def _neuron_hook(self, name: str):  # noqa: ANN202 - hook factory
        def hook(module: nn.Module, _inputs: tuple[Any, ...], out: Any) -> None:
            spikes = (out[0] if isinstance(out, tuple) else out).detach()
            lif = isinstance(module, snntorch.SpikingNeuron)
            self.neurons.append(NeuronCall(name, float(spikes.sum()), spikes.numel(), lif))

        return hook

    def _synapse_hook(self, name: str):  # noqa: ANN202 - hook factory
        def hook(module: nn.Module, inputs: tuple[Any, ...], out: torch.Tensor) -> None:
            x = inputs[0].detach()
            nonzero = (x != 0).to(torch.float32)
            key = (name, tuple(x.shape))
            if key not in self._dense:
                self._dense[key] = layer_ops(module, torch.ones_like(nonzero))
            self.synapses.append(
                SynapseCall(
                    name=name,
                    layer=module,
                    in_shape=tuple(x.shape),
                    in_nonzero=int(nonzero.sum().item()),
                    in_sum=float(x.double().sum().item()),
                    binary=bool(((x == 0) | (x == 1)).all()),
                    repeated=_repeated(x, self.steps),
                    dense=self._dense[key],
                    effective=layer_ops(module, nonzero),
                    out_numel=out.numel(),
                )
            )

        return hook

    def rates(self) -> dict[str, float]:
        """Return ``{layer.firing_rate | layer.input_nonzero: fraction}`` over the records."""
        sums: dict[str, list[float]] = {}
        for n in self.neurons:
            acc = sums.setdefault(f"{n.name}.firing_rate", [0.0, 0])
            acc[0] += n.spikes
            acc[1] += n.slots
        for s in self.synapses:
            acc = sums.setdefault(f"{s.name}.input_nonzero", [0.0, 0])
            acc[0] += s.in_nonzero
            acc[1] += s.in_numel
        return {k: total / count for k, (total, count) in sums.items() if count}
