"""ESVAE's latent: rate-coded Bernoulli spikes with a surrogate gradient, and the RBF MMD.

The posterior is the firing rate ``r`` of the encoder's last spiking layer; latent
spikes are ``z_t = 1[r > u_t]`` with fresh uniforms ``u_t`` (a Bernoulli train of
rate ``r``), and the gradient passes through the comparison with a rectangular window
around the threshold (docs/reference.md §E2). The prior is a sigmoid of a linear map of
Gaussian noise; the loss matches the two rate distributions with an MMD^2 over a
mixture of Gaussian kernels (docs/reference.md §E3).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn


class _RateSpike(torch.autograd.Function):
    """``z = 1[r > u]``; backward ``grad * 1[|r - u| < a] / (2a)`` to ``r`` only."""

    @staticmethod
    def forward(ctx: Any, rate: torch.Tensor, uniform: torch.Tensor, half_width: float) -> Any:
        ctx.save_for_backward(rate, uniform)
        ctx.half_width = half_width
        return (rate > uniform).to(rate.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        rate, uniform = ctx.saved_tensors
        a = ctx.half_width
        window = ((rate - uniform).abs() < a).to(grad.dtype) / (2 * a)
        return grad * window, None, None


def uniform_like(
    shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor
) -> torch.Tensor:
    """Draw U[0, 1) on the generator's device, then move to ``like``'s device and dtype.

    Args:
        shape: Output shape.
        generator: Random generator (None: global RNG of ``like``'s device).
        like: Tensor whose device and dtype the result takes.

    Returns:
        The uniforms.

    """
    device = generator.device if generator is not None else like.device
    u = torch.rand(shape, generator=generator, device=device, dtype=torch.float32)
    return u.to(device=like.device, dtype=like.dtype)


def normal_like(
    shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor
) -> torch.Tensor:
    """Draw N(0, 1) on the generator's device, then move to ``like``'s device and dtype."""
    device = generator.device if generator is not None else like.device
    n = torch.randn(shape, generator=generator, device=device, dtype=torch.float32)
    return n.to(device=like.device, dtype=like.dtype)


class RateSpikeSampler(nn.Module):
    """Turn rates ``(N, C)`` into a Bernoulli spike train ``(T, N, C)``.

    A module (not a function) so spike statistics see its output as a spiking layer:
    ``emits_spikes`` marks it for :func:`fsvae.spike_recorder.is_spike_source`.

    Args:
        half_width: Half-width ``a`` of the surrogate window (reference: 0.5).

    """

    emits_spikes: ClassVar[bool] = True

    def __init__(self, half_width: float = 0.5) -> None:
        super().__init__()
        self.half_width = float(half_width)

    def forward(
        self, rate: torch.Tensor, steps: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draw ``steps`` independent spikes per unit with probability ``rate``.

        Args:
            rate: Rates in [0, 1], ``(N, C)``.
            steps: Time steps T.
            generator: Random generator for the uniforms (None: global RNG).

        Returns:
            Spikes ``(T, N, C)`` in {0, 1}, differentiable with respect to ``rate``.

        """
        repeated = rate.unsqueeze(0).expand(steps, *rate.shape)
        uniform = uniform_like(tuple(repeated.shape), generator, rate)
        return _RateSpike.apply(repeated, uniform, self.half_width)


def rbf_mmd2(
    a: torch.Tensor, b: torch.Tensor, kernels: int = 5, kernel_mul: float = 2.0
) -> torch.Tensor:
    """Biased MMD^2 of two samples with a mixture of Gaussian kernels (docs/reference.md §E3).

    ``k(x, y) = sum_i exp(-||x - y||^2 / h_i)`` with ``h_i = D / m^(K // 2) * m^i``,
    ``D`` the mean squared distance over the pairs of distinct rows of the pooled sample
    (treated as a constant, as the reference's ``.data``), ``m = kernel_mul``. The
    estimator is ``mean K_aa + mean K_bb - mean K_ab - mean K_ba``.

    Args:
        a: ``(N, C)`` sample.
        b: ``(M, C)`` sample.
        kernels: Number of kernels K.
        kernel_mul: Bandwidth ratio m.

    Returns:
        Scalar MMD^2.

    """
    total = torch.cat([a, b])
    n = total.shape[0]
    # Explicit differences, as the reference: exact zeros on the diagonal.
    dist2 = (total.unsqueeze(0) - total.unsqueeze(1)).square().sum(-1)
    bandwidth = dist2.detach().sum() / max(n * n - n, 1)
    # All rows equal: every distance is 0 and every kernel 1 (the reference divides by 0).
    bandwidth = bandwidth.clamp_min(torch.finfo(dist2.dtype).tiny)
    base = bandwidth / kernel_mul ** (kernels // 2)
    k = sum(torch.exp(-dist2 / (base * kernel_mul**i)) for i in range(kernels))
    m = a.shape[0]
    return k[:m, :m].mean() + k[m:, m:].mean() - k[:m, m:].mean() - k[m:, :m].mean()
