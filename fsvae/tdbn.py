"""Threshold-dependent batch norm (tdBN) on time-folded tensors.

tdBN (Zheng et al. 2021) normalises over every axis but the channel axis, here of a
``(T*N, C[, H, W])`` tensor, i.e. over (N, H, W, T). Three ways in: a whole sequence
(:meth:`TdBatchNorm.forward`), one step repeated T times (direct encoding,
:meth:`TdBatchNorm.forward_repeated`), and a sequence fed step by step
(:meth:`TdBatchNorm.stream`). Training-mode statistics on the CPU come from
:mod:`fsvae.batchnorm` where PyTorch's own kernel would lose float32 accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fsvae.batchnorm import batch_norm_train, needs_accurate_path


@dataclass
class PrefixStats:
    """Per-channel sums of the pre-normalisation values a streamed tdBN has seen so far.

    Attributes:
        bn_count: Number of values per channel seen so far (training-mode tdBN).
        bn_sum: Per-channel sum of the pre-normalisation values seen so far.
        bn_sumsq: Per-channel sum of their squares.

    """

    bn_count: int = 0
    bn_sum: torch.Tensor | None = None
    bn_sumsq: torch.Tensor | None = None


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

    def _tracks(self) -> bool:
        return self.running_mean is not None and self.running_var is not None

    def _update_running(self, mean: torch.Tensor, var: torch.Tensor, count: int) -> None:
        """Fold batch statistics into the running ones, as ``F.batch_norm`` does.

        Args:
            mean: Batch mean per channel.
            var: Biased batch variance per channel.
            count: Values per channel the statistics stand for (unbiased ``n/(n-1)``).

        """
        self.num_batches_tracked.add_(1)
        if not self._tracks():
            return
        momentum = self.momentum
        if momentum is None:  # cumulative moving average, as nn.BatchNorm2d
            momentum = 1.0 / float(self.num_batches_tracked)
        with torch.no_grad():
            dtype = self.running_mean.dtype
            self.running_mean.mul_(1 - momentum).add_(mean.to(dtype), alpha=momentum)
            unbiased = momentum * count / max(count - 1, 1)
            self.running_var.mul_(1 - momentum).add_(var.to(dtype), alpha=unbiased)

    def _accurate(self, x: torch.Tensor, count: int) -> torch.Tensor:
        y, mean, var = batch_norm_train(x, self.weight * self.scale, self.bias, self.eps)
        self._update_running(mean, var, count)
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise with batch statistics (training) or running statistics (eval)."""
        self._check_input_dim(x)
        if self.training and self._tracks() and needs_accurate_path(x):
            return self._accurate(x, x.numel() // x.shape[1])
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
        count = x.numel() // x.shape[1] * steps
        if needs_accurate_path(x):
            return self._accurate(x, count)
        out = F.batch_norm(x, None, None, self.weight * self.scale, self.bias, True, 0.0, self.eps)
        with torch.no_grad():
            dims = [d for d in range(x.dim()) if d != 1]
            var, mean = torch.var_mean(x, dim=dims, correction=0)
        self._update_running(mean, var, count)
        return out

    def stream(
        self, x: torch.Tensor, state: PrefixStats, update_running: bool = False
    ) -> torch.Tensor:
        """Normalise the next chunk of a sequence that is fed step by step.

        Eval mode uses the running statistics, so streaming equals the full pass. In
        training mode the statistics are those of the whole prefix seen so far
        (accumulated in ``state``): the closest a single pass can get to the
        reference's per-prefix re-runs. With ``update_running`` the running statistics
        then take one momentum update with that prefix's mean and variance (unbiased
        over the prefix's count), as the reference's re-run on the same prefix does:
        same number of updates, same momentum schedule, same statistics wherever the
        prefix's pre-normalisation values are the same (exactly so in the first layer).

        Args:
            x: Folded chunk, ``(B, C)`` or ``(B, C, H, W)``.
            state: The accumulated sums (a block's :class:`fsvae.layers.BlockState`).
            update_running: Fold the prefix statistics into the running statistics.

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
        if update_running:
            self._update_running(mean, var, state.bn_count)
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
