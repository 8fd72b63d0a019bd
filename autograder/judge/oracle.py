"""The lab's filter in float64 numpy, and the mistakes students make, each as a filter of its own.

Every filter here is linear in its taps: y = sum_k h[k] * s_k(x), with s_k(x) the signal tap k
multiplies. For the lab's causal filter s_k(x)[..., n] = x[..., n-k], zero for n-k < 0. A mistake
changes s_k: a circular shift (wrap-around), x[n+k] (correlation), a shift of the flattened batch
(rows leak), ... Written this way each variant gives its output and its gradient with respect to the
taps, grad[k] = sum(w * s_k(x)) for the loss sum(w * y), from the same few lines.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lab2a.autograder.judge.causes import Cause


def delayed(x: np.ndarray, d: int) -> np.ndarray:
    """x[..., n-d] with zeros shifted in (d < 0 shifts left, zeros at the end)."""
    out = np.zeros_like(x)
    n = x.shape[-1]
    if d >= 0 and d < n:
        out[..., d:] = x[..., :n - d]
    elif d < 0 and -d < n:
        out[..., :n + d] = x[..., -d:]
    return out


def circular(x: np.ndarray, d: int) -> np.ndarray:
    return np.roll(x, d, axis=-1)


def _grouped(shift: Callable[[np.ndarray, int], np.ndarray], axis: int):
    """A shift applied along the rows of x concatenated from `axis` on: axis 0 flattens the whole batch
    into one long signal (as torch.roll without dims does), axis 1 joins the rows within each index of
    the first axis (x.reshape(A, -1) on an (A, B, 1, N) input). NaN where that joins no rows."""
    def signal(x: np.ndarray, d: int) -> np.ndarray:
        if x.ndim - 1 <= axis or int(np.prod(x.shape[axis:-1])) == 1:
            return np.full_like(x, np.nan)
        return shift(x.reshape(x.shape[:axis] + (-1,)), d).reshape(x.shape)
    return signal


@dataclass(frozen=True)
class Filter:
    name: str
    cause: Cause | None  # the mistake, its key and its text in the student's words; None for the lab's filter
    tap_signal: Callable[[np.ndarray, int, int], np.ndarray]  # (x, k, K) -> what tap k multiplies

    def output(self, h: np.ndarray, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        y = np.zeros_like(x)
        for k, tap in enumerate(np.asarray(h, np.float64)):
            if tap != 0:
                y += tap * self.tap_signal(x, k, len(h))
        return y

    def gradient(self, w: np.ndarray, x: np.ndarray, taps: int) -> np.ndarray:
        """d/dh of sum(w * output(h, x)): the output is linear in h."""
        x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
        return np.array([np.sum(w * self.tap_signal(x, k, taps)) for k in range(taps)])


CAUSAL = Filter("causal", None, lambda x, k, K: delayed(x, k))

WRAP = Cause("wrap-around", "your output wraps around: its first samples contain the end of the signal. Zero the "
             "samples shifted in at the start (x[m] = 0 for m < 0): torch.roll alone wraps, so mask or pad instead")
CORRELATION = Cause("correlation", "this is correlation: the kernel is not flipped. Tap k must multiply x[n-k], the "
                    "sample k steps in the past; conv1d computes a correlation, so give it the flipped taps, "
                    "self.filter.flip(0)")
_CENTRED = ("the output is centred, not causal: it uses future samples. Pad K-1 zeros on the left only "
            "(padding='same' or K//2 zeros on both sides centre the kernel)")
CENTRED = Cause("centred", _CENTRED)
LEAK = Cause("rows-leak", "rows of the batch leak into each other: the end of one row enters the start of the next. "
             "Filter along the last axis only, each row on its own (torch.roll without dims=-1 flattens the batch, "
             "and so does reshaping the rows into one long signal, e.g. x.reshape(A, -1) on an (A, B, 1, N) input; "
             "x.reshape(-1, 1, N) keeps every row apart)")

MISTAKES = (
    Filter("wrap-around", WRAP, lambda x, k, K: circular(x, k)),
    Filter("reversed taps", CORRELATION, lambda x, k, K: delayed(x, K - 1 - k)),
    Filter("correlation", CORRELATION, lambda x, k, K: delayed(x, -k)),
    Filter("centred", CENTRED, lambda x, k, K: delayed(x, k - (K - 1) // 2)),
    Filter("centred", CENTRED, lambda x, k, K: delayed(x, k - K // 2)),
    Filter("centred correlation", Cause("centred-correlation", _CENTRED + ", and the kernel is not flipped (conv1d "
                                        "correlates: flip the taps)"),
           lambda x, k, K: delayed(x, K // 2 - k)),
    Filter("rows leak", LEAK, lambda x, k, K: _grouped(delayed, 0)(x, k)),
    Filter("rows leak and wrap", LEAK, lambda x, k, K: _grouped(circular, 0)(x, k)),
    Filter("rows of an inner axis leak", LEAK, lambda x, k, K: _grouped(delayed, 1)(x, k)),
    Filter("rows of an inner axis leak", LEAK, lambda x, k, K: _grouped(delayed, 2)(x, k)),
    Filter("one late", Cause("one-late", "the output is one sample late: tap 0 must multiply the current sample x[n], "
                                         "tap k the sample x[n-k]"), lambda x, k, K: delayed(x, k + 1)),
    Filter("one early", Cause("one-early", "the output is one sample early: tap k must multiply x[n-k], not "
                                           "x[n-k+1]"),
           lambda x, k, K: delayed(x, k - 1)),
    Filter("first tap only", Cause("first-tap-only", "only the first tap h[0] reaches the output: the shifted copies "
                                                     "of x are lost. If you zero the first sample with x[:, 0] = 0, "
                                                     "on a (batch, 1, N) input that zeroes the whole channel; index "
                                                     "the time axis instead, x[..., 0]"),
           lambda x, k, K: delayed(x, 0) if k == 0 else np.zeros_like(x)),
    Filter("last tap missing", Cause("last-tap-missing", "your output ignores the last tap h[K-1]: use all K taps, "
                                                         "k = 0, ..., K-1 (check the range of your loop)"),
           lambda x, k, K: delayed(x, k) if k < K - 1 else np.zeros_like(x)),
    Filter("first tap missing", Cause("first-tap-missing", "your output ignores the first tap h[0]: tap 0 multiplies "
                                                           "the current sample x[n]"),
           lambda x, k, K: delayed(x, k) if k > 0 else np.zeros_like(x)),
)
