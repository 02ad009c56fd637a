"""FSVAE's latent distance terms between posterior and prior rates (docs/reference.md §3.4)."""

from __future__ import annotations

import torch

from fsvae.layers import psp


def mmd_loss(q_z: torch.Tensor, p_z: torch.Tensor, tau_s: float = 2.0) -> torch.Tensor:
    """MMD with the PSP kernel, as the reference code computes it.

    ``mean over (N, C, T) of (PSP(pi_q) - PSP(pi_p))^2`` where ``pi`` is the mean of
    the k candidate spikes (a mean, not the paper's sum over t and C).

    Args:
        q_z: Posterior candidates ``(T, N, C, k)``.
        p_z: Prior candidates ``(T, N, C, k)``.
        tau_s: PSP time constant.

    Returns:
        Scalar loss.

    """
    pi_q = q_z.mean(-1)
    pi_p = p_z.mean(-1)
    return (psp(pi_q, tau_s) - psp(pi_p, tau_s)).square().mean()


def kld_loss(q_z: torch.Tensor, p_z: torch.Tensor, eps: float = 0.01) -> torch.Tensor:
    """Bernoulli KL(q || p) of the spike rates, smoothed by ``eps`` as in the reference.

    Summed over (C, T) and averaged over the batch.

    Args:
        q_z: Posterior candidates ``(T, N, C, k)``.
        p_z: Prior candidates ``(T, N, C, k)``.
        eps: Additive smoothing inside the logarithms.

    Returns:
        Scalar loss.

    """
    pi_q = q_z.mean(-1)
    pi_p = p_z.mean(-1)
    kl = pi_q * torch.log((pi_q + eps) / (pi_p + eps)) + (1 - pi_q) * torch.log(
        (1 - pi_q + eps) / (1 - pi_p + eps)
    )
    return kl.sum(dim=(0, 2)).mean()
