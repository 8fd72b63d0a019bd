"""The best linear filter: least-squares-optimal causal K-tap FIR, zero initial conditions.

The lab's filter computes y_hat[n] = sum_k h[k] x[n-k] with x[m] = 0 for m < 0. Minimising
sum (y - y_hat)^2 over all clips and samples gives the normal equations R h = p with

    R[j, k] = sum_n x[n-j] x[n-k]        p[j] = sum_n x[n-j] y[n]

accumulated over clips in float64. Both come from correlations computed with FFTs; R is the
Toeplitz matrix of the autocorrelation minus, because samples before 0 are zero and the sum stops at
n = N-1, a correction that involves only the last K samples of each clip (see `_normal_equations`).
"""

import numpy as np
from scipy import fft

CHUNK = 8  # clips per FFT batch: keeps the working memory to a few tens of MB


def _chunks(pairs):
    """(x, y) float64 arrays of shape (clips, N) for CHUNK pairs at a time.

    pairs: a sequence of (x, y), each a tensor or array of shape (..., N) (a list of pairs, a
    Dataset, a random_split Subset).
    """
    def as_rows(clips):
        return np.concatenate([
            np.asarray(c.detach().cpu() if hasattr(c, "detach") else c, np.float64).reshape(-1, np.shape(c)[-1])
            for c in clips])
    for start in range(0, len(pairs), CHUNK):
        chunk = [pairs[i] for i in range(start, min(start + CHUNK, len(pairs)))]
        yield as_rows([x for x, _ in chunk]), as_rows([y for _, y in chunk])


def clip_normal_equations(x: np.ndarray, y: np.ndarray, taps: int) -> tuple[np.ndarray, np.ndarray]:
    """For each clip (row of x, y, float64 arrays of shape (clips, N)): R (clips, K, K) and p (clips, K).

    The clip's squared error of filter h is h^T R h - 2 p^T h + sum(y^2).
    """
    n = x.shape[1]
    if taps > n:
        raise ValueError(f"{taps} taps need clips of at least {taps} samples, got {n}")
    size = fft.next_fast_len(n + taps)
    xf = fft.rfft(x, size, axis=1)
    r = fft.irfft(np.abs(xf) ** 2, size, axis=1)[:, :taps]  # r[d] = sum_m x[m] x[m+d]
    p = fft.irfft(np.conj(xf) * fft.rfft(y, size, axis=1), size, axis=1)[:, :taps]
    # Terms the Toeplitz matrix has but the zero-initial-condition sum lacks, at the end of each
    # clip: T[j, k] = sum_{i=1..j} z[j-i] z[k-i] with z the clip's last K samples reversed,
    # i.e. T = L L^T for the strictly lower-triangular Toeplitz matrix L built from z.
    rows, cols = np.tril_indices(taps, -1)
    z = x[:, ::-1][:, :taps]
    lower = np.zeros((len(x), taps, taps))
    lower[:, rows, cols] = z[:, rows - cols - 1]
    lags = np.abs(np.subtract.outer(np.arange(taps), np.arange(taps)))
    return r[:, lags] - np.einsum("bji,bki->bjk", lower, lower, optimize=True), p


def _normal_equations(pairs, taps: int) -> tuple[np.ndarray, np.ndarray]:
    R = np.zeros((taps, taps))
    p = np.zeros(taps)
    for x, y in _chunks(pairs):
        R_clips, p_clips = clip_normal_equations(x, y, taps)
        R += R_clips.sum(0)
        p += p_clips.sum(0)
    return R, p


def optimal_filters(pairs, taps: list[int]) -> list[np.ndarray]:
    """For each K in taps, the K taps (float64) minimising the filter's squared error over all pairs.

    One pass over the data serves every K: the normal equations of K taps are the leading K x K
    block of those of max(taps).
    """
    R, p = _normal_equations(pairs, max(taps))
    # lstsq rather than solve: on band-limited data R is nearly singular in the empty bands, where
    # any response is as good as any other; lstsq picks the smallest filter there.
    return [np.linalg.lstsq(R[:k, :k], p[:k], rcond=1e-12)[0] for k in taps]


def optimal_filter(pairs, taps: int) -> np.ndarray:
    """The least-squares-optimal causal filter of `taps` taps for the pairs, float64."""
    return optimal_filters(pairs, [taps])[0]


def apply_filter(h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The causal filter's output with zero initial conditions, float64, for x of shape (clips, N)."""
    n = x.shape[1]
    size = fft.next_fast_len(n + len(h))
    return fft.irfft(fft.rfft(x, size, axis=1) * fft.rfft(np.asarray(h, np.float64), size), size, axis=1)[:, :n]


def filter_scores(h: np.ndarray, pairs) -> dict[str, float]:
    """Per-sample MSE and output SNR (dB) of filter h on the pairs, and their input SNR."""
    error = signal_power = noise_power = samples = 0.0
    for x, y in _chunks(pairs):
        error += np.sum((apply_filter(h, x) - y) ** 2)
        signal_power += np.sum(y ** 2)
        noise_power += np.sum((x - y) ** 2)
        samples += y.size
    return {
        "mse": float(error / samples),
        "snr_out_db": float(10 * np.log10(signal_power / error)),
        "snr_in_db": float(10 * np.log10(signal_power / noise_power)),
    }
