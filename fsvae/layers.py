"""Time-folded spiking layers: synaptic op + tdBN + LIF blocks, their streaming state, PSP.

Tensors carry time as the LEADING axis, ``(T, N, ...)``. Synaptic ops and tdBN see
the sequence folded into the batch, ``(T*N, ...)``: one large conv/matmul instead of
T small ones, and ``BatchNorm`` on the folded tensor has exactly tdBN's statistics
over (N, H, W, T). Only the neuron iterates over time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from fsvae.neurons import LIF, LIFState
from fsvae.tdbn import PrefixStats, TdBatchNorm

__all__ = ["BlockState", "NeuronParams", "SpikingBlock", "TdBatchNorm", "psp"]


@dataclass
class BlockState(PrefixStats):
    """Streaming state of one :class:`SpikingBlock` (owned by the caller).

    Holds its tdBN's prefix sums (:class:`fsvae.tdbn.PrefixStats`) and its neuron's state.

    Attributes:
        lif: Membrane state of the block's neuron.

    """

    lif: LIFState = field(default_factory=LIFState)


@dataclass(frozen=True)
class NeuronParams:
    """LIF and tdBN constants shared by all blocks of a network.

    Attributes:
        threshold: Firing threshold.
        decay: Membrane leak factor.
        surrogate_half_width: Half-width of the surrogate window.
        surrogate_center: Centre of the surrogate window.

    """

    threshold: float = 0.2
    decay: float = 0.25
    surrogate_half_width: float = 0.5
    surrogate_center: float = 0.0

    def neuron(self) -> LIF:
        """Return a fresh LIF neuron with these constants."""
        return LIF(self.threshold, self.decay, self.surrogate_half_width, self.surrogate_center)


class SpikingBlock(nn.Module):
    """Synaptic op -> optional tdBN -> optional LIF, applied to a ``(T, N, ...)`` sequence.

    Args:
        op: Conv2d, ConvTranspose2d or Linear (applied to the time-folded tensor).
        channels: Output channels of ``op`` (tdBN size).
        neuron: Neuron constants.
        bn_alpha: tdBN alpha; None disables tdBN.
        spiking: Whether a LIF neuron follows (False: real-valued output).

    """

    def __init__(
        self,
        op: nn.Module,
        channels: int,
        neuron: NeuronParams,
        bn_alpha: float | None = 1.0,
        spiking: bool = True,
    ) -> None:
        super().__init__()
        self.op = op
        self.bn = TdBatchNorm(channels, bn_alpha, neuron.threshold) if bn_alpha else None
        self.lif = neuron.neuron() if spiking else None
        # Memory layout of 4-D activations: channels-last unless a model measures better.
        self.channels_last = True

    def _fold(self, x: torch.Tensor) -> torch.Tensor:
        folded = x.flatten(0, 1)
        if folded.dim() == 4:
            # oneDNN's (transposed) convolutions are faster on channels-last input on CPU
            # (docs/performance.md); LIF and tdBN are layout-agnostic, so the layout carries
            # through. ``channels_last = False`` runs the block in NCHW.
            fmt = torch.channels_last if self.channels_last else torch.contiguous_format
            folded = folded.contiguous(memory_format=fmt)
        return folded

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Process a whole sequence.

        Args:
            x: ``(T, N, ...)`` input.

        Returns:
            ``(T, N, ...)`` spikes (or currents if not spiking).

        """
        steps = x.shape[0]
        y = self.op(self._fold(x))
        if self.bn is not None:
            y = self.bn(y)
        y = y.unflatten(0, (steps, -1))
        return self.lif(y) if self.lif is not None else y

    def forward_repeated(self, x: torch.Tensor, steps: int) -> torch.Tensor:
        """Process an input that is the same at every step (direct encoding).

        Equals ``forward(x.expand(steps, ...))`` but runs the synaptic op and tdBN once
        instead of T times (a conv of a repeated input is the repeat of the conv); only
        the neuron sees T steps, reading the single step T times.

        Args:
            x: ``(N, ...)`` input, repeated over ``steps`` time steps.
            steps: Number of time steps T.

        Returns:
            ``(T, N, ...)`` spikes (or currents if not spiking).

        """
        y = self.op(self._fold(x.unsqueeze(0)))
        if self.bn is not None:
            y = self.bn.forward_repeated(y, steps)
        y = y.unsqueeze(0).expand(steps, *y.shape)
        return self.lif(y) if self.lif is not None else y

    def stream(
        self, x: torch.Tensor, state: BlockState, update_running: bool = False
    ) -> torch.Tensor:
        """Process the next chunk of a sequence, continuing from ``state``.

        Args:
            x: ``(T', N, ...)`` chunk (usually one step).
            state: The block's streaming state, updated in place.
            update_running: Training mode: update tdBN running statistics with the
                prefix's statistics (:meth:`TdBatchNorm.stream`).

        Returns:
            ``(T', N, ...)`` spikes (or currents if not spiking).

        """
        steps = x.shape[0]
        y = self.op(self._fold(x))
        if self.bn is not None:
            y = self.bn.stream(y, state, update_running)
        y = y.unflatten(0, (steps, -1))
        return self.lif(y, state.lif) if self.lif is not None else y


def psp(x: torch.Tensor, tau_s: float = 2.0) -> torch.Tensor:
    """First-order synaptic filter along the leading time axis.

    ``s_t = s_{t-1} + (x_t - s_{t-1}) / tau_s`` with ``s_0 = 0``.

    Args:
        x: ``(T, ...)`` sequence.
        tau_s: Synaptic time constant.

    Returns:
        The filtered sequence, same shape.

    """
    out = []
    s = torch.zeros_like(x[0])
    for x_t in x.unbind(0):
        s = s + (x_t - s) / tau_s
        out.append(s)
    return torch.stack(out)
