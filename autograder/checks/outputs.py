"""The checks of ConvolutionalFilter's numbers: its outputs, its impulse responses and its gradient, each
compared by the grader with its float64 oracle (judge/), on inputs made from the grading key.

The lab's definition: forward(x) maps any (..., N) input to y[..., n] = sum_k filter[k] * x[..., n-k], with
x[..., m] = 0 for m < 0, in x's shape and dtype, and keeps no state between calls; the gradient reaching
self.filter is that of this output.

Each part is a function (ask, key, memo) that returns when the part passes and raises Failed with the
student's message when it does not; ask(operation, **args) runs an operation of sandbox/ops.py on the
student's code and returns its answer. The properties of the module (attributes, side effects, devices):
properties.py.
"""

import numpy as np

from lab2a.autograder.checks.cases import Case, Run, judge_runs, noise_case
from lab2a.autograder.judge.causes import Cause
from lab2a.autograder.judge.compare import (
    DIAGNOSIS_FACTOR,
    TOLERANCE,
    error_report,
    judge_output,
    largest_error,
    scaled_cause,
    usable_values,
)
from lab2a.autograder.judge.oracle import CAUSAL, MISTAKES
from lab2a.autograder.judge.verdict import Failed, data_of, student_failure

N = 32000  # the lab's clips: 1 s at 32 kHz


# ---- outputs ---------------------------------------------------------------------------------------------

LAB_BATCHES = (Run((noise_case(81, (4, 1, N), 101, ", the lab's batches"),
                    noise_case(81, (4, 1, N), 107, ", the lab's batches (a second batch on the same module)"))),)
OTHER_SHAPES = (Run((noise_case(81, (N,), 103, ", a single clip"), noise_case(81, (3, N), 102),
                     noise_case(81, (2, 3, 1, 1000), 104, ", with an extra leading dimension"))),
                Run((noise_case(1, (2, 1, 500), 105),)))
MORE_TAPS = (Run((noise_case(120, (2, 1, 100), 106, ": more taps than samples"),)),)


def lab_batches(ask, key, memo) -> None:
    judge_runs(ask, LAB_BATCHES, key)


def other_shapes(ask, key, memo) -> None:
    judge_runs(ask, OTHER_SHAPES, key)


def more_taps(ask, key, memo) -> None:
    judge_runs(ask, MORE_TAPS, key)


# ---- impulse responses -----------------------------------------------------------------------------------

_ROWS = range(4)
CAUSAL_IMPULSES = tuple(Run((case,)) for case in (
    Case("With 81 random taps h and a unit impulse at sample 0 of every row of a (4, 1, 400) input "
         "(the output must be h[0], ..., h[80], then zeros)", 81, (4, 1, 400), 201,
         impulses=tuple((b, 0, 0) for b in _ROWS)),
    Case("With 81 random taps and a unit impulse at sample 200 of every row of a (4, 1, 400) input "
         "(the filter is causal: nothing may come out before sample 200)", 81, (4, 1, 400), 202,
         impulses=tuple((b, 0, 200) for b in _ROWS))))
APART_IMPULSES = tuple(Run((case,)) for case in (
    Case("With 81 random taps and a unit impulse at sample 390 of every row of a (4, 1, 400) input "
         "(the response runs past the end of the row and must not wrap around to its start)", 81, (4, 1, 400), 203,
         impulses=tuple((b, 0, 390) for b in _ROWS)),
    Case("With 81 random taps and a (4, 1, 400) input that is zero except for an impulse at sample 380 "
         "of batch row 1 (only row 1 may respond: rows must not mix)", 81, (4, 1, 400), 204,
         impulses=((1, 0, 380),))))


def causal_impulses(ask, key, memo) -> None:
    judge_runs(ask, CAUSAL_IMPULSES, key)


def apart_impulses(ask, key, memo) -> None:
    judge_runs(ask, APART_IMPULSES, key)


# ---- gradient --------------------------------------------------------------------------------------------

GRADIENT_CASE = noise_case(81, (3, 1, 2000), 301)
GRADIENT_LOSS = "the loss sum(w * forward(x)) with fixed random weights w"
_CUT = ("Stay in torch inside forward: .detach(), .data, .numpy(), .item(), float(...) or torch.tensor(...) "
        "of the taps cut the graph, and a copy of the taps is not the parameter.")


def gradient_weights(case: Case, key: int) -> np.ndarray:
    return np.random.default_rng([case.seed, 3, key]).standard_normal(case.shape).astype(case.dtype)


def _gradient_run(ask, key, memo, case: Case = GRADIENT_CASE) -> dict:
    if "gradient" not in memo:
        h, x = case.inputs(key)
        data = data_of(ask("filter_calls", taps=case.taps, h=h,
                           calls=[{"x": x, "weights": gradient_weights(case, key)}], dtype=case.dtype))
        memo["gradient"] = data
    data = memo["gradient"]
    call = data["calls"][0]
    if "error" in call and "output" not in call:
        raise student_failure(call["error"], f"{case.what}: ")
    out = call["output"]
    if not out.get("tensor") or tuple(out["shape"]) != case.shape or out["dtype"] != case.dtype:
        raise Failed(f"forward returned a {out.get('type')} of shape {tuple(out.get('shape', ()))} and dtype "
                     f"{out.get('dtype')} for a {case.dtype} input of shape {case.shape}: fix filter_outputs first, "
                     f"then the gradient can be checked.", cause="unusable-output")
    if "error" in call:
        raise student_failure(call["error"], f"{case.what} and {GRADIENT_LOSS}: ")
    return data


def gradient_reaches(ask, key, memo, case: Case = GRADIENT_CASE) -> None:
    """A gradient reaches the taps, and it is the gradient of the output forward computes: how the loss
    changes from the taps h to other taps h2, sum(w * (forward_h2(x) - forward_h(x))), must be
    grad . (h2 - h), as it is for every filter linear in its taps (right or wrong). So the gradient is
    a number checked against the outputs, never a claim of the student's process taken on trust."""
    data = _gradient_run(ask, key, memo, case)
    call = data["calls"][0]
    if not data["filter_requires_grad"]:
        raise Failed("self.filter does not require a gradient: make it an nn.Parameter "
                     "(requires_grad is on by default), so the taps can learn.", cause="filter-no-grad")
    if not call.get("output_requires_grad"):
        raise Failed(f"forward's output does not depend on self.filter through torch operations, so no "
                     f"gradient can reach the taps. {_CUT}", cause="graph-cut")
    if call.get("grad") is None:
        raise Failed(f"no gradient reached self.filter after loss.backward(): forward does not use the "
                     f"parameter itself. {_CUT}", cause="no-gradient")
    h, x = case.inputs(key)
    if largest_error(np.asarray(call["taps_after"]), h.astype(np.float64))[0] != 0:
        raise Failed("forward changed self.filter while it ran, so its gradient is not the gradient of the taps it "
                     "was given: forward must only read the taps (see filter_structure).", cause="changes-taps")
    grad = np.asarray(call["grad"], np.float64)
    w = gradient_weights(case, key)
    if grad.shape != (case.taps,) or not np.isfinite(grad).all() or not np.any(grad):
        raise Failed(f"the gradient that reached self.filter is {np.round(grad.ravel()[:5], 4)}...: no usable "
                     f"gradient. {_CUT}", cause="unusable-gradient")
    h2 = (h + np.random.default_rng([case.seed, 4, key]).standard_normal(case.taps)).astype(case.dtype)
    other = data_of(ask("filter_calls", taps=case.taps, h=h2, calls=[{"x": x}], dtype=case.dtype))["calls"][0]
    y1, y2 = (usable_values(c.get("output") or {}, x, case.dtype) for c in (call, other))
    if y1 is None or y2 is None:
        raise Failed(f"{case.what}: forward's output can't be compared between two sets of taps: fix "
                     f"filter_outputs first.", cause="unusable-output")
    change = float(np.sum(w * (y2 - y1)))
    predicted = float(grad @ (h2.astype(np.float64) - h))
    limit = TOLERANCE[case.dtype] * float(np.sum(np.abs(w)) * np.max(np.abs(x))) * float(
        np.sum(np.abs(h)) + np.sum(np.abs(h2)))
    if abs(change - predicted) > limit:
        raise Failed(f"{case.what}: the gradient of self.filter does not match forward's output: going from the "
                     f"taps h to other taps changes the loss by {change:.6g}, while the gradient predicts "
                     f"{predicted:.6g}. The output and its gradient must come from the same computation on "
                     f"self.filter. {_CUT}", cause="gradient-mismatch")


def gradient_true(ask, key, memo, case: Case = GRADIENT_CASE) -> None:
    gradient_reaches(ask, key, memo, case)
    call = memo["gradient"]["calls"][0]
    h, x = case.inputs(key)
    got = np.asarray(call["grad"], np.float64)
    w = gradient_weights(case, key)
    expected = CAUSAL.gradient(w, x, case.taps)
    if got.shape != expected.shape:
        raise Failed(f"the gradient of self.filter has {got.size} numbers; expected {case.taps}.",
                     cause="unusable-gradient")
    limit = TOLERANCE[case.dtype] * float(np.sum(np.abs(w)) * np.max(np.abs(x)))
    if largest_error(got, expected)[0] <= limit:
        return
    what = f"With {case.taps} random taps, a random input of shape {case.shape} and {GRADIENT_LOSS}"
    report = error_report(got, expected, limit, place=lambda index, shape: f"tap {index[0]}")
    output_right = judge_output(case.what, call["output"], h, x, case.dtype) is None
    cause = _gradient_cause(got, w, x, case, limit, output_right)
    raise Failed(f"{what}: the gradient of the taps is wrong, {report}. Likely cause: {cause.text}.", cause=cause.key)


def _gradient_cause(got, w, x, case: Case, limit: float, output_right: bool) -> Cause:
    if np.max(np.abs(got)) <= limit:
        return Cause("zero-gradient", f"the gradient is zero: the output does not depend on the taps. {_CUT}")
    if output_right:
        return Cause("gradient-not-followed", "forward's output is right but its gradient is not: part of the "
                     f"computation reaches the taps in a way autograd can't follow. {_CUT}")
    for mistake in MISTAKES:
        if largest_error(got, mistake.gradient(w, x, case.taps))[0] <= DIAGNOSIS_FACTOR * limit:
            return Cause(mistake.cause.key, f"the gradient is that of another filter: {mistake.cause.text}")
    scaled = scaled_cause(got, CAUSAL.gradient(w, x, case.taps), DIAGNOSIS_FACTOR * limit)
    if scaled:
        return scaled
    return Cause("wrong-gradient", "the gradient doesn't match a common mistake: check that forward computes "
                 "sum_k filter[k] * x[..., n-k]")


PARTS = {
    "filter_outputs": {"lab batches": lab_batches, "other shapes": other_shapes, "more taps than samples": more_taps},
    "filter_impulse": {"causal": causal_impulses, "no wrap-around or mixing": apart_impulses},
    "filter_gradient": {"reaches the taps": gradient_reaches, "true gradient": gradient_true},
}
