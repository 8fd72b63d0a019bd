"""The least-squares-optimal causal filter against a brute-force solution on small data."""

import numpy as np
import pytest
import torch
from scipy.signal import lfilter

from lab2a.data import apply_filter, filter_scores, optimal_filter, optimal_filters


def data_matrix(x: np.ndarray, taps: int) -> np.ndarray:
    """Rows [x[n], x[n-1], ..., x[n-K+1]] with zeros before the clip, all clips stacked."""
    n = x.shape[1]
    return np.concatenate([
        np.stack([np.concatenate([np.zeros(k), clip[:n - k]]) for k in range(taps)], axis=1) for clip in x
    ])


@pytest.mark.parametrize("clips, n, taps", [(3, 50, 1), (3, 50, 7), (2, 40, 40), (5, 200, 81), (1, 9, 3)])
def test_matches_brute_force_least_squares(clips, n, taps):
    rng = np.random.default_rng(taps)
    x = rng.standard_normal((clips, n))
    y = lfilter(rng.standard_normal(5), [1], x, axis=1) + 0.1 * rng.standard_normal((clips, n))
    brute = np.linalg.lstsq(data_matrix(x, taps), y.ravel(), rcond=None)[0]
    h = optimal_filter(list(zip(x, y)), taps)
    np.testing.assert_allclose(h, brute, rtol=1e-9, atol=1e-11)


def test_many_chunks_and_tensor_input():
    # more clips than one FFT batch, given as float32 tensors of shape (1, N) like the dataset
    rng = np.random.default_rng(0)
    x = rng.standard_normal((21, 64)).astype(np.float32)
    y = (0.5 * x + 0.25 * np.roll(x, 1, axis=1)).astype(np.float32)
    pairs = [(torch.from_numpy(a).reshape(1, -1), torch.from_numpy(b).reshape(1, -1)) for a, b in zip(x, y)]
    brute = np.linalg.lstsq(data_matrix(x.astype(np.float64), 4), y.astype(np.float64).ravel(), rcond=None)[0]
    np.testing.assert_allclose(optimal_filter(pairs, 4), brute, rtol=1e-9, atol=1e-11)


def test_recovers_a_known_filter_exactly():
    rng = np.random.default_rng(1)
    true = rng.standard_normal(6)
    x = rng.standard_normal((4, 300))
    y = lfilter(true, [1], x, axis=1)  # zero initial conditions, as in the lab
    np.testing.assert_allclose(optimal_filter(list(zip(x, y)), 6), true, atol=1e-10)
    longer = optimal_filter(list(zip(x, y)), 10)
    np.testing.assert_allclose(longer, np.r_[true, np.zeros(4)], atol=1e-10)


def test_several_lengths_in_one_pass_equal_separate_solves():
    rng = np.random.default_rng(2)
    pairs = list(zip(rng.standard_normal((3, 100)), rng.standard_normal((3, 100))))
    for taps, h in zip([2, 5, 9], optimal_filters(pairs, [2, 5, 9])):
        np.testing.assert_allclose(h, optimal_filter(pairs, taps), rtol=1e-12, atol=1e-14)


def test_no_other_filter_does_better():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 120))
    y = lfilter([1, -0.5], [1, 0.3], x, axis=1)
    pairs = list(zip(x, y))
    h = optimal_filter(pairs, 8)
    best = filter_scores(h, pairs)["mse"]
    for _ in range(20):
        assert filter_scores(h + 1e-3 * rng.standard_normal(8), pairs)["mse"] > best


def test_apply_filter_is_the_labs_causal_convolution():
    rng = np.random.default_rng(4)
    x, h = rng.standard_normal((3, 77)), rng.standard_normal(9)
    np.testing.assert_allclose(apply_filter(h, x), lfilter(h, [1], x, axis=1), atol=1e-12)


def test_scores():
    rng = np.random.default_rng(5)
    y = rng.standard_normal((2, 50))
    x = y + 0.1 * rng.standard_normal((2, 50))
    scores = filter_scores(np.array([1.0]), list(zip(x, y)))
    assert scores["mse"] == pytest.approx(np.mean((x - y) ** 2), rel=1e-12)
    assert scores["snr_out_db"] == pytest.approx(scores["snr_in_db"], rel=1e-12)
    assert scores["snr_in_db"] == pytest.approx(10 * np.log10((y ** 2).sum() / ((x - y) ** 2).sum()), rel=1e-12)


def test_too_many_taps_is_refused():
    with pytest.raises(ValueError, match="81 taps need clips of at least 81 samples"):
        optimal_filter([(np.zeros(10), np.zeros(10))], 81)
