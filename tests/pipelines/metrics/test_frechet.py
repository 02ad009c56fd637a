import warnings

import numpy as np
import pytest
from pytorch_fid.fid_score import calculate_frechet_distance

from pipelines.metrics.frechet import frechet_distance, frechet_distance_to, gaussian_stats


def test_closed_form_for_diagonal_covariances():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    d1, d2 = rng.uniform(0.1, 3, size=5), rng.uniform(0.1, 3, size=5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(d1 + d2 - 2 * np.sqrt(d1 * d2))
    got = frechet_distance(mu1, np.diag(d1), mu2, np.diag(d2))
    assert got == pytest.approx(expected, rel=1e-10)


def test_matches_pytorch_fid_routine():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 16)), rng.normal(1.0, 2.0, size=(300, 16))
    s1, s2 = gaussian_stats(a), gaussian_stats(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # scipy's `disp` argument
        theirs = calculate_frechet_distance(*s1, *s2)
    assert frechet_distance(*s1, *s2) == pytest.approx(theirs, rel=1e-9)


def test_same_gaussian_is_zero_and_float64():
    rng = np.random.default_rng(2)
    mu, sigma = gaussian_stats(rng.normal(size=(100, 8)).astype(np.float32))
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-8


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="do not match"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_exact_when_fewer_samples_than_dimensions():
    # Tr((S1 S2)^1/2) = nuclear norm of A1^T A2 / sqrt((n1-1)(n2-1)), A = centred features^T.
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(20, 64)), rng.normal(0.5, 1.5, size=(30, 64))
    (mu1, s1), (mu2, s2) = gaussian_stats(a), gaussian_stats(b)
    a1, a2 = (a - mu1).T, (b - mu2).T
    nuclear = np.linalg.svd(a1.T @ a2, compute_uv=False).sum() / np.sqrt(19 * 29)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * nuclear
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_low_rank_path_equals_covariance_path():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(20, 64)), rng.normal(0.5, 1.5, size=(500, 64))
    mu2, s2 = gaussian_stats(b)
    full = frechet_distance(*gaussian_stats(a), mu2, s2)
    assert frechet_distance_to(a, mu2, s2) == pytest.approx(full, rel=1e-9)
    assert frechet_distance_to(b, mu2, s2) == pytest.approx(0.0, abs=1e-8)  # n > D path
