"""Filter cases: taps and inputs made here from a seed and the grading key, sent to the student's filter,
and its outputs compared with the float64 oracle here.

A Run is one ConvolutionalFilter called on its cases in turn, as training calls one module batch
after batch: a filter that keeps state between calls is right on the first case only.

The key: `lab2a check` (students, CI) uses the public key 0, so its inputs can be reproduced by anyone;
grading uses the course's private key (private/key.py), so answers computed ahead of time for the
public inputs are worth nothing.
"""

from dataclasses import dataclass

import numpy as np

from lab2a.autograder.judge.compare import TOLERANCE, judge_output, scale, usable_values
from lab2a.autograder.judge.verdict import Failed, data_of

PUBLIC_KEY = 0


@dataclass(frozen=True)
class Case:
    what: str              # the input, for the student: "With 81 random taps and a random float32 input of shape ..."
    taps: int
    shape: tuple
    seed: int
    impulses: tuple = ()   # indices of unit impulses in an otherwise zero input; () for Gaussian noise
    dtype: str = "float32"

    def inputs(self, key: int = PUBLIC_KEY) -> tuple[np.ndarray, np.ndarray]:
        """(taps h, input x), both of the case's dtype."""
        h = np.random.default_rng([self.seed, 1, key]).standard_normal(self.taps).astype(self.dtype)
        if self.impulses:
            x = np.zeros(self.shape, self.dtype)
            for index in self.impulses:
                x[index] = 1
        else:
            x = np.random.default_rng([self.seed, 2, key]).standard_normal(self.shape).astype(self.dtype)
        return h, x


@dataclass(frozen=True)
class Run:
    """One module, its taps those of the first case, called on each case's input in turn."""
    cases: tuple

    def __post_init__(self):
        if len({(c.taps, c.dtype) for c in self.cases}) != 1:
            raise ValueError("the cases of a run share one module: the same number of taps and dtype")


def noise_case(taps: int, shape: tuple, seed: int, note: str = "", dtype: str = "float32") -> Case:
    what = f"With {taps} random tap{'s' if taps > 1 else ''} and a random {dtype} input of shape {shape}{note}"
    return Case(what, taps, shape, seed, dtype=dtype)


def outputs_of(ask, run: Run, key: int, device: str = "cpu") -> list[tuple[Case, dict, np.ndarray, np.ndarray]]:
    """(case, what the filter returned, h, x) per case of the run; the cases after an exception get it too."""
    first = run.cases[0]
    h, _ = first.inputs(key)
    inputs = [case.inputs(key)[1] for case in run.cases]
    data = data_of(ask("filter_calls", taps=first.taps, h=h, calls=[{"x": x} for x in inputs], dtype=first.dtype,
                       device=device))
    calls = data.get("calls")
    if not isinstance(calls, list) or not calls or not all(isinstance(c, dict) for c in calls):
        raise Failed("the filter's outputs did not come back from your notebook.", "error", cause="output-missing")
    results = []
    for i, (case, x) in enumerate(zip(run.cases, inputs)):
        got = calls[min(i, len(calls) - 1)]
        results.append((case, got.get("output") if "error" not in got else {"error": got["error"]}, h, x))
    return results


def judge_runs(ask, runs, key: int, device: str = "cpu") -> None:
    """Fails (Failed) with the first wrong output of these runs, its size and place and its likely cause."""
    judge_outcomes(runs, [outcome for run in runs for outcome in outputs_of(ask, run, key, device)])


def judge_outcomes(runs, outcomes: list) -> None:
    """judge_runs, on the outcomes outputs_of gave for these runs."""
    # every usable output, to tell apart mistakes that explain one output equally well
    usable = [(i, values, h, x, TOLERANCE[case.dtype] * scale(h, x))
              for i, (case, got, h, x) in enumerate(outcomes)
              if isinstance(got, dict) and (values := usable_values(got, x, case.dtype)) is not None]
    position = 0
    for run in runs:
        right_before = False
        for call, case in enumerate(run.cases):
            _, got, h, x = outcomes[position]
            others = [other[1:] for other in usable if other[0] != position]
            position += 1
            if not isinstance(got, dict):
                raise Failed(f"{case.what}: forward's output did not come back from your notebook.", "error",
                             cause="output-missing")
            if "error" in got:
                got = {"where": got["error"].get("where", "forward"), **got["error"]}
            failure = judge_output(case.what, got, h, x, case.dtype, others,
                                   stateful=right_before and call > 0)
            if failure:
                raise failure
            right_before = True
