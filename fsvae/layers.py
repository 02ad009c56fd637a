"""Time-folded spiking layers: tdBN, synaptic op + tdBN + LIF blocks, membrane output, PSP.

Tensors carry time as the LEADING axis, ``(T, N, ...)``. Synaptic ops and tdBN see
the sequence folded into the batch, ``(T*N, ...)``: one large conv/matmul instead of
T small ones, and ``BatchNorm`` on the folded tensor has exactly tdBN's statistics
over (N, H, W, T). Only the neuron iterates over time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from fsvae.neurons import LIF, LIFState


class TdBatchNorm(nn.BatchNorm2d):
    """Threshold-dependent batch norm (Zheng et al. 2021) on time-folded tensors.

    ``y = gamma * alpha * Vth * (x - mean) / sqrt(var + eps) + beta`` with statistics
    over every axis but the channel axis. Accepts ``(B, C)`` (linear layers) and
    ``(B, C, H, W)`` (conv layers), ``B = T*N``.

    Args:
        num_features: Channels.
        alpha: Scale factor (reference: 1 in encoder/decoder, 2 in prior/posterior).
        threshold: Neuron threshold ``Vth``.

    """

    def __init__(self, num_features: int, alpha: float = 1.0, threshold: float = 0.2) -> None:
        super().__init__(num_features)
        self.scale = float(alpha) * float(threshold)

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() not in (2, 4):
            raise ValueError(f"expected a 2-D or 4-D time-folded input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise with batch statistics (training) or running statistics (eval)."""
        self._check_input_dim(x)
        if self.training:
            self.num_batches_tracked.add_(1)
        # Folding alpha*Vth into the affine weight is exactly gamma * (alpha*Vth*x_hat).
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight * self.scale,
            self.bias,
            self.training,
            self.momentum,
            self.eps,
        )

    def forward_repeated(self, x: torch.Tensor, steps: int) -> torch.Tensor:
        """Normalise one step of a sequence that repeats ``x`` at every one of ``steps``.

        The batch mean and biased variance of a T-fold repeat equal those of ``x``, so
        normalising ``x`` once gives exactly the repeated sequence's output. Only the
        running variance differs: it receives the unbiased estimate with the repeated
        count ``n = T*N*H*W``, i.e. ``var * n / (n - 1)``, which is applied here (not
        ``F.batch_norm``'s ``N*H*W``), so running statistics match the plain path.

        Args:
            x: Folded single step, ``(N, C)`` or ``(N, C, H, W)``.
            steps: Number of time steps T the input is repeated over.

        Returns:
            The normalised step, same shape as ``x``.

        """
        self._check_input_dim(x)
        if not self.training:
            return self(x)
        out = F.batch_norm(x, None, None, self.weight * self.scale, self.bias, True, 0.0, self.eps)
        self.num_batches_tracked.add_(1)
        if self.running_mean is not None and self.running_var is not None:
            momentum = self.momentum
            if momentum is None:  # cumulative moving average, as nn.BatchNorm2d
                momentum = 1.0 / float(self.num_batches_tracked)
            with torch.no_grad():
                dims = [d for d in range(x.dim()) if d != 1]
                var, mean = torch.var_mean(x, dim=dims, correction=0)
                n = x.numel() // x.shape[1] * steps
                self.running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
                self.running_var.mul_(1 - momentum).add_(var, alpha=momentum * n / max(n - 1, 1))
        return out

    def stream(self, x: torch.Tensor, state: BlockState) -> torch.Tensor:
        """Normalise the next chunk of a sequence that is fed step by step.

        Eval mode uses the running statistics, so streaming equals the full pass. In
        training mode the statistics are those of the whole prefix seen so far
        (accumulated in ``state``), without touching the running statistics: the
        closest a single pass can get to the reference's per-prefix re-runs.

        Args:
            x: Folded chunk, ``(B, C)`` or ``(B, C, H, W)``.
            state: The block's streaming state, holding the accumulated sums.

        Returns:
            The normalised chunk.

        """
        if not self.training:
            return self(x)
        dims = [d for d in range(x.dim()) if d != 1]
        xd = x.detach().double()
        count = x.numel() // x.shape[1]
        state.bn_count += count
        state.bn_sum = xd.sum(dims) + (0 if state.bn_sum is None else state.bn_sum)
        state.bn_sumsq = (xd * xd).sum(dims) + (0 if state.bn_sumsq is None else state.bn_sumsq)
        mean = state.bn_sum / state.bn_count
        var = (state.bn_sumsq / state.bn_count - mean * mean).clamp_min(0)
        return F.batch_norm(
            x,
            mean.to(self.weight.dtype),
            var.to(self.weight.dtype),
            self.weight * self.scale,
            self.bias,
            False,
            0.0,
            self.eps,
        )


@dataclass
class BlockState:
    """Streaming state of one :class:`SpikingBlock` (owned by the caller).

    Attributes:
        lif: Membrane state of the block's neuron.
        bn_count: Number of values per channel seen so far (training-mode tdBN).
        bn_sum: Per-channel sum of the pre-normalisation values seen so far.
        bn_sumsq: Per-channel sum of their squares.

    """

    lif: LIFState = field(default_factory=LIFState)
    bn_count: int = 0
    bn_sum: torch.Tensor | None = None
    bn_sumsq: torch.Tensor | None = None


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

    def _fold(self, x: torch.Tensor) -> torch.Tensor:
        folded = x.flatten(0, 1)
        if folded.dim() == 4:
            # oneDNN's (transposed) convolutions are 2-4x faster on channels-last input
            # on CPU; LIF and tdBN are layout-agnostic, so the layout carries through.
            folded = folded.contiguous(memory_format=torch.channels_last)
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

    def stream(self, x: torch.Tensor, state: BlockState) -> torch.Tensor:
        """Process the next chunk of a sequence, continuing from ``state``.

        Args:
            x: ``(T', N, ...)`` chunk (usually one step).
            state: The block's streaming state, updated in place.

        Returns:
            ``(T', N, ...)`` spikes (or currents if not spiking).

        """
        steps = x.shape[0]
        y = self.op(self._fold(x))
        if self.bn is not None:
            y = self.bn.stream(y, state)
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
