"""Output layer of FSVAE: the membrane potential of a non-firing leaky integrator.

Kept apart from :mod:`fsvae.layers` with its fast path, which swaps the integration
over time with the (linear) last transposed convolution.
"""

from __future__ import annotations

import torch
from torch import nn

from fsvae.layers import SpikingBlock


class MembraneOutput(nn.Module):
    """Final membrane potential of a non-firing leaky integrator: ``sum_t decay^(T-t) y_t``.

    Args:
        decay: Leak factor (reference: 0.8, hard-coded there).

    """

    def __init__(self, decay: float = 0.8) -> None:
        super().__init__()
        self.decay = float(decay)

    def coefficients(self, steps: int, like: torch.Tensor) -> torch.Tensor:
        """Return ``decay^(T-1), ..., decay, 1`` with ``like``'s dtype and device."""
        exponents = torch.arange(steps - 1, -1, -1, device=like.device, dtype=like.dtype)
        return torch.pow(
            torch.as_tensor(self.decay, dtype=like.dtype, device=like.device), exponents
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Integrate a ``(T, N, ...)`` sequence into ``(N, ...)``."""
        return torch.tensordot(self.coefficients(y.shape[0], y), y, dims=([0], [0]))

    def through(self, block: SpikingBlock, x: torch.Tensor) -> torch.Tensor:
        """Integrate ``block(x)`` for a block that is linear (no tdBN, no neuron).

        ``sum_t c_t (W * x_t + b) = W * (sum_t c_t x_t) + b * sum_t c_t``: integrating
        first runs the synaptic op once on ``(N, ...)`` instead of on ``(T*N, ...)``.
        Equal to ``forward(block(x))`` up to float rounding.

        Args:
            block: A non-spiking block without tdBN (the reference's last convT).
            x: ``(T, N, ...)`` block input.

        Returns:
            ``(N, ...)`` output membrane potential.

        """
        if block.bn is not None or block.lif is not None:
            raise ValueError("only a linear block (no tdBN, no neuron) commutes with the sum")
        coef = self.coefficients(x.shape[0], x)
        y = block.op(block._fold(weighted_time_sum(coef, x).unsqueeze(0)))
        bias = getattr(block.op, "bias", None)
        if bias is None:
            return y
        shape = [1] * y.dim()
        shape[1] = -1
        return y + (coef.sum() - 1) * bias.view(shape)


def weighted_time_sum(coef: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``sum_t coef[t] * x[t]`` as one matrix-vector product over memory order.

    ``tensordot`` would first copy a channels-last ``x`` into logical order; permuting
    the non-time axes into memory order makes the flattening a view instead.

    Args:
        coef: ``(T,)`` weights.
        x: ``(T, N, ...)`` sequence (any dense layout).

    Returns:
        ``(N, ...)`` weighted sum, in ``x[0]``'s layout.

    """
    order = sorted(range(1, x.dim()), key=lambda d: -x.stride(d))
    xp = x.permute(0, *order)
    if not xp.is_contiguous():
        xp = xp.contiguous()
    out = (coef @ xp.reshape(x.shape[0], -1)).view(xp.shape[1:])
    inverse = sorted(range(len(order)), key=lambda i: order[i])
    return out.permute(inverse)
