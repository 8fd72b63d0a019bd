"""A filter case: taps and an input made from a fixed seed, run through the student's filter (probe
side) and compared with the oracle (judge side). Both sides build the inputs from the case alone, so
the judge never relies on inputs echoed back by the student's process."""

from dataclasses import dataclass

import numpy as np
import torch

from lab2a.autograder.sandbox import student
from lab2a.autograder.judge.compare import TOLERANCE, judge_output, scale, usable_values
from lab2a.autograder.judge.verdict import StudentError, Verdict, failed, passed


@dataclass(frozen=True)
class Case:
    what: str              # the input, for the student: "With 81 random taps and a random float32 input of shape ..."
    taps: int
    shape: tuple
    seed: int
    impulses: tuple = ()   # indices of unit impulses in an otherwise zero input; () for Gaussian noise
    dtype: str = "float32"

    def inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """(taps h, input x), both of the case's dtype."""
        h = np.random.default_rng([self.seed, 1]).standard_normal(self.taps).astype(self.dtype)
        if self.impulses:
            x = np.zeros(self.shape, self.dtype)
            for index in self.impulses:
                x[index] = 1
        else:
            x = np.random.default_rng([self.seed, 2]).standard_normal(self.shape).astype(self.dtype)
        return h, x


def probe_case(namespace: dict, case: Case, device: str = "cpu") -> dict:
    """The student's output for the case, as plain data; an error in forward is reported, not raised."""
    module = student.make_filter(namespace, case.taps)
    dtype = getattr(torch, case.dtype)
    if dtype != torch.float32 or device != "cpu":
        module = student.call(f"{student.FILTER}.to", module.to, device=device, dtype=dtype) or module
    h, x = case.inputs()
    student.set_taps(module, h)
    try:
        # outputs only: without an autograd graph, a loop over the taps of a lab-sized batch keeps no copies
        with torch.no_grad():
            return student.summary(student.forward(module, torch.from_numpy(x).to(device)))
    except StudentError as error:
        return student.error_data(error)


def probe_cases(namespace: dict, cases: tuple, device: str = "cpu") -> dict:
    return {"cases": [probe_case(namespace, case, device) for case in cases]}


def judge_cases(cases: tuple, data: dict, success: str) -> Verdict:
    results = data.get("cases")
    if not isinstance(results, list) or len(results) != len(cases) or not all(isinstance(r, dict) for r in results):
        return failed("the check's data from your notebook is incomplete: run the check again.")
    inputs = [case.inputs() for case in cases]
    # every case's usable output, to tell apart mistakes that explain one output equally well
    usable = [(i, values, h, x, TOLERANCE[case.dtype] * scale(h, x))
              for i, (case, got, (h, x)) in enumerate(zip(cases, results, inputs))
              if (values := usable_values(got, x, case.dtype)) is not None]
    for i, (case, got, (h, x)) in enumerate(zip(cases, results, inputs)):
        others = [other[1:] for other in usable if other[0] != i]
        problem = judge_output(case.what, got, h, x, case.dtype, others)
        if problem:
            return failed(problem)
    return passed(success)
