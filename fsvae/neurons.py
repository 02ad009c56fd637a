"""FSVAE's leaky integrate-and-fire neuron, built on snntorch's neuron base class.

Dynamics (docs/reference.md §2.1), for an input current ``I_t`` and ``u_0 = o_0 = 0``::

    u_t = decay * u_{t-1} * (1 - o_{t-1}) + I_t
    o_t = 1[u_t > threshold]

with a rectangular surrogate gradient ``do/du = 1/(2a)`` on ``|u - center| < a``
(the reference centres the window on ``u = 0``, not on the threshold).

``snntorch.Leaky`` with ``reset_mechanism="zero"`` has the same forward pass but
detaches the reset term in backward; the reference lets gradient flow through
``(1 - o_{t-1})``. :class:`LIF` therefore runs its own fused time loop with a
hand-written backward that keeps the reset gradient, and stores only the membrane
potentials (spikes and surrogate values are recomputed from them in backward): that
loop is :mod:`fsvae.fused_lif`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import snntorch
import torch

from fsvae.fused_lif import FusedLIF, NoGradContext


class _BoxcarSpike(torch.autograd.Function):
    """Heaviside spike of a shifted membrane potential with a rectangular surrogate."""

    @staticmethod
    def forward(ctx, shifted: torch.Tensor, half_width: float, offset: float) -> torch.Tensor:
        ctx.save_for_backward(shifted)
        ctx.half_width = half_width
        ctx.offset = offset
        return (shifted > 0).to(shifted.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (shifted,) = ctx.saved_tensors
        window = (shifted + ctx.offset).abs() < ctx.half_width
        return grad_out * window.to(grad_out.dtype) / (2 * ctx.half_width), None, None


def boxcar_surrogate(
    half_width: float = 0.5, center: float = 0.0, threshold: float = 0.2
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Build a snntorch-style ``spike_grad`` with a rectangular surrogate gradient.

    snntorch calls ``spike_grad(mem - threshold)``; the window is expressed in terms of
    the unshifted potential so it can sit where the reference puts it.

    Args:
        half_width: Half-width ``a`` of the window; the gradient inside is ``1/(2a)``.
        center: Membrane potential the window is centred on (reference: 0).
        threshold: Firing threshold the neuron subtracts before calling the surrogate.

    Returns:
        A callable mapping ``mem - threshold`` to spikes in {0, 1}.

    """
    offset = threshold - center

    def spike_grad(shifted: torch.Tensor) -> torch.Tensor:
        return _BoxcarSpike.apply(shifted, half_width, offset)

    return spike_grad


@dataclass
class LIFState:
    """Explicit membrane state of one LIF layer while streaming over time.

    The caller owns it; the neuron module itself keeps nothing between calls.

    Attributes:
        mem: Membrane potential after the last processed step (None before the first).

    """

    mem: torch.Tensor | None = None


class LIF(snntorch.SpikingNeuron):
    """FSVAE's LIF neuron with hard reset, fused over time.

    Input and output are sequences with time as the leading axis, ``(T, N, ...)``.
    Spikes are exactly 0 or 1.

    Args:
        threshold: Firing threshold ``Vth``.
        decay: Leak factor ``tau`` multiplying the previous potential.
        surrogate_half_width: Half-width ``a`` of the rectangular surrogate window.
        surrogate_center: Potential the window is centred on.

    """

    def __init__(
        self,
        threshold: float = 0.2,
        decay: float = 0.25,
        surrogate_half_width: float = 0.5,
        surrogate_center: float = 0.0,
    ) -> None:
        super().__init__(
            # float64 so a model cast to double compares against exactly the same
            # threshold as the fused loop (a float32 buffer would be 0.2000000030).
            threshold=torch.tensor(threshold, dtype=torch.float64),
            spike_grad=boxcar_surrogate(surrogate_half_width, surrogate_center, threshold),
            init_hidden=False,
            reset_mechanism="zero",
        )
        # snntorch appends every neuron to a class-level registry used to reset hidden
        # state of all instances at once (snntorch issue 438). This neuron keeps no
        # hidden state, and the registry would keep every model alive forever, so opt out.
        registry = snntorch.SpikingNeuron.instances
        for i in range(len(registry) - 1, -1, -1):
            if registry[i] is self:
                del registry[i]
        self.decay = float(decay)
        self.vth = float(threshold)
        self.surrogate_half_width = float(surrogate_half_width)
        self.surrogate_center = float(surrogate_center)

    def forward(self, current: torch.Tensor, state: LIFState | None = None) -> torch.Tensor:
        """Run the neuron over a sequence of input currents.

        Args:
            current: Input currents, shape ``(T, N, ...)``.
            state: Membrane state to continue from and update in place (streaming);
                None starts from rest. Gradients do not flow into a carried state
                (streaming is used only without gradients).

        Returns:
            Spikes in {0, 1}, same shape as ``current``.

        """
        if current.dtype in (torch.float16, torch.bfloat16):
            # Under autocast the synaptic op runs in half precision, but the membrane
            # potential and the threshold test stay in float32: rounding u near the
            # threshold would flip spikes.
            current = current.float()
        if state is None:
            if torch.is_grad_enabled() and current.requires_grad:
                return FusedLIF.apply(
                    current,
                    self.decay,
                    self.vth,
                    self.surrogate_half_width,
                    self.surrogate_center,
                )
            with torch.no_grad():
                return FusedLIF.forward(
                    NoGradContext(),
                    current,
                    self.decay,
                    self.vth,
                    self.surrogate_half_width,
                    self.surrogate_center,
                )
        return self._stream(current, state)

    def _stream(self, current: torch.Tensor, state: LIFState) -> torch.Tensor:
        spikes = []
        mem = state.mem
        for i_t in current.unbind(0):
            if mem is None:
                mem = i_t.detach().clone()
            else:
                keep = (mem <= self.vth).to(mem.dtype)
                mem = torch.addcmul(i_t.detach(), mem, keep, value=self.decay)
            spikes.append(self.fire(mem))
        state.mem = mem
        return torch.stack(spikes)
