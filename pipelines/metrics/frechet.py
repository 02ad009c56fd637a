"""Gaussian statistics of features and the Fréchet distance between two Gaussians, in float64.

The routine is pytorch-fid's ``calculate_frechet_distance`` (itself D. Sutherland's
stable version) without scipy's deprecated ``disp`` argument, which warns on
scipy 1.17 and is removed in 1.18; ``tests/pipelines/metrics`` checks it against
pytorch-fid's own function and the closed form for diagonal covariances.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and the unbiased covariance of features, in float64.

    Args:
        features: Array (N, D), N >= 2.

    Returns:
        ``(mu, sigma)`` of shapes (D,) and (D, D).

    """
    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] < 2:
        raise ValueError(f"need features of shape (N >= 2, D), got {feats.shape}")
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Return ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` computed in float64.

    Args:
        mu1: Mean of the first Gaussian (D,).
        sigma1: Covariance of the first Gaussian (D, D).
        mu2: Mean of the second Gaussian (D,).
        sigma2: Covariance of the second Gaussian (D, D).
        eps: Diagonal offset added to both covariances when their product is singular.

    Returns:
        The squared Fréchet distance.

    Raises:
        ValueError: On mismatched shapes or a large imaginary part of the matrix root.

    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1 = np.atleast_2d(sigma1).astype(np.float64)
    sigma2 = np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            f"statistics do not match: mu {mu1.shape} vs {mu2.shape}, "
            f"sigma {sigma1.shape} vs {sigma2.shape}"
        )
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        # A rank-deficient product (fewer samples than dimensions) has no finite root.
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"imaginary component {np.max(np.abs(covmean.imag))} in sqrtm")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))
