"""Training-mode batch norm with float32 accuracy on CPU, for any memory layout.

PyTorch's CPU batch-norm kernel for channels-last float32 input sums each channel's
rows one after another in float32: on a ``(1024, 32, 16, 16)``
tensor the batch mean, the forward output and every gradient come out ~30x less
accurate than from the NCHW kernel, which accumulates in float64. In FSVAE that is
enough to flip spikes and move the gradients of a training step by ~1e-4 (relative)
instead of ~1e-6. :func:`batch_norm_train` computes the same function with PyTorch's
pairwise-summing reductions (accurate in float32 whatever the layout) and keeps the
centred input for the backward pass, so it reads and writes about as much memory as
the native kernel (docs/performance.md).
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable


def needs_accurate_path(x: torch.Tensor) -> bool:
    """Whether the native kernel would sum in float32: float32 4-D on CPU, not NCHW.

    CUDA kernels and float64 are accurate already; the CPU's NCHW float32 kernel
    accumulates in float64. 2-D ``(B, C)`` input (linear layers) goes through the
    float32-summing kernel in any layout, so the plain computation has the same
    accuracy; with B = T*N rows (1,024 to 4,000 here) it stays near 1e-6 and keeps
    the faster native kernel.

    Args:
        x: Batch-norm input ``(B, C)`` or ``(B, C, H, W)``.

    Returns:
        True where :func:`batch_norm_train` should replace ``F.batch_norm``.

    """
    if x.device.type != "cpu" or x.dtype != torch.float32:
        return False
    return x.dim() == 4 and not x.is_contiguous()


def _channel_view(x: torch.Tensor) -> tuple[int, ...]:
    shape = [1] * x.dim()
    shape[1] = -1
    return tuple(shape)


class _BatchNormTrain(torch.autograd.Function):
    """``y = weight * (x - mean) / sqrt(var + eps) + bias`` with batch statistics."""

    @staticmethod
    def forward(
        ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        dims = [d for d in range(x.dim()) if d != 1]
        count = x.numel() // x.shape[1]
        view = _channel_view(x)
        mean = x.sum(dims) / count
        # Centre first: the variance of the centred values has no cancellation.
        centred = x - mean.view(view)
        y = torch.mul(centred, centred)
        var = y.sum(dims) / count
        invstd = (var + eps).rsqrt()
        scale = weight * invstd
        torch.addcmul(bias.view(view), centred, scale.view(view), out=y)
        ctx.save_for_backward(centred, scale, invstd)
        ctx.count = count
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    @once_differentiable
    def backward(
        ctx, grad_y: torch.Tensor, _grad_mean: torch.Tensor, _grad_var: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, None]:
        centred, scale, invstd = ctx.saved_tensors
        dims = [d for d in range(centred.dim()) if d != 1]
        view = _channel_view(centred)
        grad_bias = grad_y.sum(dims)
        # sum(g * (x - mean)) per channel; invstd turns it into sum(g * x_hat).
        grad_x = torch.mul(grad_y, centred)
        dot = grad_x.sum(dims)
        grad_weight = dot * invstd
        # dx = scale * (g - mean(g) - x_hat * mean(g * x_hat)), as one affine map of g
        # and one of (x - mean), written over the product's buffer.
        coef = -scale * dot * invstd * invstd / ctx.count
        shift = -scale * grad_bias / ctx.count
        torch.addcmul(shift.view(view), grad_y, scale.view(view), out=grad_x)
        grad_x.addcmul_(centred, coef.view(view))
        return grad_x, grad_weight, grad_bias, None


def batch_norm_train(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalise with the batch's statistics, accurately in float32 on any layout.

    Args:
        x: ``(B, C)`` or ``(B, C, H, W)`` input, any memory layout.
        weight: Per-channel scale ``(C,)``.
        bias: Per-channel shift ``(C,)``.
        eps: Added to the variance.

    Returns:
        The output (``x``'s layout) and the batch mean and biased variance (no gradient),
        for the caller's running statistics.

    """
    return _BatchNormTrain.apply(x, weight, bias, eps)
