"""Compare the student's numbers with the float64 oracle: tolerance, the largest error and where it is,
and the likely cause, found by comparing with the known mistakes of oracle.MISTAKES.

Only plain numpy arithmetic: in a student's own notebook (check_in_notebook) the student's code runs in
the same process and may have replaced numpy's and torch's comparison helpers.

Tolerances. Errors are measured against scale = sum_k |h_k| * max_n |x_n|, a bound on every output
sample. A float32 sum of K products is off by at most ~K * eps32 * sum_k |h_k x_(n-k)| <= K * eps32 *
scale in the worst case and ~sqrt(K) * eps32 * scale in practice (eps32 = 6e-8); an FFT convolution of
size M is off by ~eps32 * log2(M) * ||h|| ||x|| / sqrt(M), also a few eps32 * scale. Measured on the
checks' cases (K up to 257, N = 32000): 5e-8 * scale for loops, conv1d, unfold and roll, 2.3e-7 * scale
for the power-of-two FFT. So 1e-5 * scale leaves every correct float32 method a 40x margin, while every
structural mistake (wrap-around, flip, centring, leaking rows, a missing tap, a one-sample shift) is off
by 1e-2 * scale on most cases and by at least 7e-4 * scale on every visible one (a small missing tap):
70 to 1000+ times the tolerance. float64 gets 1e-12 * scale by the same argument with eps64 = 1.1e-16
(measured: 1.2e-16 * scale), which no computation with a float32 step meets.
"""

import numpy as np

from lab2a.autograder.judge.causes import Cause, described
from lab2a.autograder.judge.oracle import CAUSAL, MISTAKES
from lab2a.autograder.judge.verdict import Failed, describe_error

TOLERANCE = {"float32": 1e-5, "float64": 1e-12}
DIAGNOSIS_FACTOR = 10  # a mistake is recognised when it explains the output to 10x the tolerance


def scale(h: np.ndarray, x: np.ndarray) -> float:
    value = float(np.sum(np.abs(np.asarray(h, np.float64))) * np.max(np.abs(x), initial=0.0))
    return value if value > 0 else 1.0


def location(index: tuple, shape: tuple) -> str:
    """'sample 5', 'batch row 2, sample 5' or 'batch index (1, 2), sample 5' (size-1 axes left out)."""
    if len(shape) <= 1:
        return f"sample {index[-1]}" if index else "the only value"
    rows = tuple(int(i) for i, size in zip(index[:-1], shape[:-1]) if size > 1)
    if not rows:
        return f"sample {index[-1]}"
    if len(rows) == 1:
        return f"batch row {rows[0]}, sample {index[-1]}"
    return f"batch index {rows}, sample {index[-1]}"


def largest_error(got: np.ndarray, expected: np.ndarray) -> tuple[float, tuple]:
    error = np.abs(np.asarray(got, np.float64) - expected)
    index = np.unravel_index(int(np.argmax(error)), error.shape) if error.size else ()
    return (float(error[index]) if error.size else 0.0), tuple(int(i) for i in index)


def error_report(got: np.ndarray, expected: np.ndarray, limit: float, place=location) -> str:
    err, index = largest_error(got, expected)
    return (f"largest error {err:.3g} at {place(index, expected.shape)} (expected {expected[index]:.6g}, "
            f"got {float(got[index]):.6g}); allowed: {limit:.2g}")


def _explains(mistake, got: np.ndarray, h: np.ndarray, x: np.ndarray, limit: float) -> bool:
    return largest_error(got, mistake.output(h, x))[0] <= DIAGNOSIS_FACTOR * limit


def scaled_cause(got: np.ndarray, expected: np.ndarray, near: float) -> Cause | None:
    """'The right signal times c', if got is expected times some c != 1 (an FFT normalised twice)."""
    energy = float(np.sum(expected * expected))
    if energy == 0:
        return None
    factor = float(np.sum(got * expected)) / energy
    if abs(factor - 1) > 1e-3 and largest_error(got, factor * expected)[0] <= near * max(1.0, abs(factor)):
        return Cause("scaled-output", f"your result is the right one times {factor:.4g}: look for a scale factor "
                                      f"(torch.fft.irfft already divides by the FFT size)")
    return None


STATE = Cause("state-between-calls", "forward keeps something from one call to the next: this module's earlier call "
              "was right, this one is not. Compute each output from its own input only (x[m] = 0 for m < 0 in every "
              "call); don't store the end of one input for the next call")


def diagnose(got: np.ndarray, h: np.ndarray, x: np.ndarray, limit: float, dtype: str = "float32",
             others=(), stateful: bool = False) -> Cause:
    """The likely cause of a wrong output, in the student's words. others: (output, h, x, limit) of the
    check's other inputs, to choose between mistakes that explain this output equally well (an impulse at
    sample 0 can't tell correlation from a filter that only uses h[0])."""
    got = np.asarray(got, np.float64)
    near = DIAGNOSIS_FACTOR * limit
    candidates = [m for m in MISTAKES if _explains(m, got, h, x, limit)]
    if len(candidates) > 1 and others:
        # sorted() is stable: among equally good explanations the first listed in MISTAKES wins
        candidates = sorted(candidates, key=lambda m: -sum(_explains(m, *other) for other in others))
    if candidates:
        return candidates[0].cause
    if stateful:
        return STATE
    expected = CAUSAL.output(h, x)
    if np.max(np.abs(got), initial=0.0) <= near:
        return Cause("all-zeros", "your output is all zeros: forward must return the filtered signal")
    if dtype == "float64" and largest_error(got, expected)[0] <= limit / TOLERANCE[dtype] * TOLERANCE["float32"]:
        return Cause("float32-precision", "the output has float32 precision only: part of forward computes in "
                     "float32. Make self.filter an nn.Parameter (module.double() converts it), and create tensors "
                     "with dtype=x.dtype")
    scaled = scaled_cause(got, expected, near)
    if scaled:
        return scaled
    taps, n = len(h), x.shape[-1]
    if taps > 1 and taps - 1 < n and largest_error(got[..., taps - 1:], expected[..., taps - 1:])[0] <= limit:
        return Cause("start-not-zero-padded", f"all the errors are in the first K-1 = {taps - 1} samples of each "
                     f"row, where the filter reaches before the start of the signal: those x[m], m < 0, must count "
                     f"as zeros")
    return Cause("wrong-output", "no common mistake matches: compare your forward with y[..., n] = sum_k filter[k] * "
                 "x[..., n-k], where x[..., m] = 0 for m < 0")


def _shape_hint(got: list, want: tuple, taps: int) -> str:
    if len(got) == len(want) and list(got[:-1]) == list(want[:-1]):
        if got[-1] == want[-1] + taps - 1:
            return " That is the full convolution, N+K-1 samples long: keep the first N, y[..., :N]."
        if got[-1] > want[-1]:
            return " Keep the first N samples, y[..., :N]."
        return " The output must have as many samples as the input."
    return " Keep every leading dimension of x: return y.reshape(x.shape) if you reshape inside forward."


def _dtype_hint(got: str, want: str) -> str:
    if got.startswith("complex"):
        return " Take the real part, or use torch.fft.irfft, which returns real numbers."
    if want == "float64":
        return (" A tensor inside forward is created with the default dtype (float32): create it with "
                "dtype=x.dtype (torch.zeros_like(x) does), or use self.filter.to(x.dtype).")
    return " Compute in the input's dtype, or convert back with .to(x.dtype)."


def usable_values(got: dict, x: np.ndarray, dtype: str) -> np.ndarray | None:
    """The output's numbers, if it is a finite tensor of x's shape and the dtype expected."""
    if not got.get("tensor") or tuple(got["shape"]) != x.shape or got["dtype"] != dtype:
        return None
    values = np.asarray(got.get("values"))
    return values if values.shape == x.shape and np.isfinite(values).all() else None


def judge_output(what: str, got: dict, h: np.ndarray, x: np.ndarray, dtype: str, others=(),
                 stateful: bool = False) -> Failed | None:
    """None if the student's output (a student.summary) is right for taps h and input x, else why not (to raise).
    others: as for diagnose; stateful: the module was called before, and was right then."""
    if "where" in got:
        return Failed(f"{what}: " + describe_error(got["where"], got["kind"], got["text"]),
                      cause=described(got["kind"], got["text"]))
    if not got.get("tensor"):
        return Failed(f"{what}: forward returned a {got.get('type')}, not a torch.Tensor.", cause="not-a-tensor")
    want = tuple(x.shape)
    if tuple(got["shape"]) != want:
        return Failed(f"{what}: expected an output of shape {want} (the input's shape), got {tuple(got['shape'])}."
                      + _shape_hint(got["shape"], want, len(h)), cause="wrong-shape")
    if got["dtype"] != dtype:
        return Failed(f"{what}: expected an output of dtype {dtype} (the input's), got {got['dtype']}."
                      + _dtype_hint(got["dtype"], dtype), cause="wrong-dtype")
    values = np.asarray(got["values"])
    if values.shape != want:
        return Failed(f"{what}: the output's values have shape {values.shape}, not {want}.", cause="wrong-shape")
    finite = np.isfinite(values)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        return Failed(f"{what}: the output contains {values[index]} at {location(index, want)}.",
                      cause="non-finite-output")
    limit = TOLERANCE[dtype] * scale(h, x)
    expected = CAUSAL.output(h, x)
    if largest_error(values, expected)[0] <= limit:
        return None
    cause = diagnose(values, h, x, limit, dtype, others, stateful)
    return Failed(f"{what}: {error_report(values, expected, limit)}. Likely cause: {cause.text}.", cause=cause.key)
