"""Per-layer spike statistics gathered by forward hooks that exist only while recording.

Spiking layers are ``snntorch.SpikingNeuron`` modules and other spike sources that set
``emits_spikes = True`` (ESVAE's latent sampler); synaptic layers are
Conv2d / ConvTranspose2d / Linear. Hooks see time-folded tensors (and, while the
latent is streamed, one step at a time), so sums cover all T steps automatically.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import snntorch
import torch
from torch import nn

SYNAPTIC_TYPES = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def is_spike_source(module: nn.Module) -> bool:
    """Whether a module's output is spikes: a snntorch neuron or ``emits_spikes = True``."""
    return isinstance(module, snntorch.SpikingNeuron) or bool(
        getattr(module, "emits_spikes", False)
    )


class SpikeRecorder:
    """Accumulates firing rates of neurons and input densities of synaptic layers.

    Args:
        model: The network to observe.

    """

    def __init__(self, model: nn.Module) -> None:
        self._model = model
        self._handles: list[Any] = []
        self._sums: dict[str, list[float]] = {}

    @property
    def active(self) -> bool:
        """Whether hooks are attached."""
        return bool(self._handles)

    def start(self) -> None:
        """Attach hooks (idempotent)."""
        if self.active:
            return
        for name, module in self._model.named_modules():
            if is_spike_source(module):
                self._handles.append(module.register_forward_hook(self._neuron_hook(name)))
            elif isinstance(module, SYNAPTIC_TYPES):
                self._handles.append(module.register_forward_hook(self._synapse_hook(name)))

    def stop(self) -> None:
        """Remove the hooks; the last statistics stay readable."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def clear(self) -> None:
        """Forget accumulated statistics (called at the start of each model call)."""
        self._sums = {}

    def _add(self, key: str, total: torch.Tensor, count: int) -> None:
        acc = self._sums.setdefault(key, [0.0, 0])
        acc[0] += float(total)
        acc[1] += count

    def _neuron_hook(self, name: str):  # noqa: ANN202 - hook factory
        def hook(_module: nn.Module, _inputs: tuple[Any, ...], output: torch.Tensor) -> None:
            self._add(f"{name}.firing_rate", output.detach().sum(), output.numel())

        return hook

    def _synapse_hook(self, name: str):  # noqa: ANN202 - hook factory
        def hook(_module: nn.Module, inputs: tuple[Any, ...], _output: torch.Tensor) -> None:
            x = inputs[0].detach()
            self._add(f"{name}.input_nonzero", (x != 0).sum(), x.numel())

        return hook

    def rates(self) -> dict[str, float]:
        """Return ``{layer.firing_rate | layer.input_nonzero: fraction}``."""
        return {k: total / count for k, (total, count) in self._sums.items() if count}

    def iter_keys(self) -> Iterator[str]:
        """Yield the recorded keys."""
        yield from self._sums
