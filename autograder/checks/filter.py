"""The visible checks of ConvolutionalFilter: structure, outputs, impulse responses, gradient.

The lab's definition: ConvolutionalFilter(taps) has an int `taps` and an nn.Parameter `filter` of
shape (taps,); forward(x) maps any (..., N) input to y[..., n] = sum_k filter[k] * x[..., n-k], with
x[..., m] = 0 for m < 0, in x's shape, dtype and device, and leaves x unchanged.
"""

import numbers

import numpy as np
import torch
from torch import nn

from lab2a.autograder.sandbox import student
from lab2a.autograder.checks.cases import Case, judge_cases, probe_cases
from lab2a.autograder.judge.compare import DIAGNOSIS_FACTOR, TOLERANCE, error_report, largest_error, location, scaled_cause
from lab2a.autograder.judge.oracle import CAUSAL, MISTAKES
from lab2a.autograder.judge.verdict import Unusable, Verdict, failed, passed

N = 32000  # the lab's clips: 1 s at 32 kHz


def noise_case(taps: int, shape: tuple, seed: int, note: str = "", dtype: str = "float32") -> Case:
    what = f"With {taps} random tap{'s' if taps > 1 else ''} and a random {dtype} input of shape {shape}{note}"
    return Case(what, taps, shape, seed, dtype=dtype)


# ---- structure ---------------------------------------------------------------------------------------

STRUCTURE_TAPS = (81, 1)
STRUCTURE_INPUT = noise_case(81, (4, 1, 500), seed=51)


def _attribute(module: nn.Module, name: str) -> dict:
    if not hasattr(module, name):
        return {"present": False}
    value = getattr(module, name)
    data = {"present": True, "type": type(value).__name__}
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        data["value"] = float(value)
    if isinstance(value, torch.Tensor):
        data.update(is_parameter=isinstance(value, nn.Parameter), shape=list(value.shape),
                    dtype=student.dtype_name(value.dtype), requires_grad=bool(value.requires_grad),
                    registered=any(p is value for p in module.parameters()))
    return data


def probe_structure(namespace: dict) -> dict:
    modules = {taps: student.make_filter(namespace, taps) for taps in STRUCTURE_TAPS}
    data = {"modules": [{"taps": _attribute(m, "taps"), "filter": _attribute(m, "filter")} for m in modules.values()]}
    module = modules[STRUCTURE_INPUT.taps]
    h, x = STRUCTURE_INPUT.inputs()
    try:
        student.set_taps(module, h)
    except Unusable:
        pass  # the judge reports what is wrong with self.filter
    tensor = torch.from_numpy(x.copy())
    student.forward(module, tensor)
    data["input_after"] = tensor.detach().numpy().copy()
    return data


def _judge_module(taps: int, attrs: dict) -> str | None:
    name = f"{student.FILTER}({taps})"
    t, f = attrs["taps"], attrs["filter"]
    if not t["present"]:
        return f"{name} has no attribute `taps`: store the number of taps in __init__, self.taps = taps."
    if t["type"] != "int":
        return f"{name}.taps is a {t['type']}; expected the int {taps} (self.taps = taps)."
    if t["value"] != taps:
        return f"{name}.taps is {t['value']:g}; expected {taps}, the argument."
    if not f["present"]:
        return f"{name} has no attribute `filter`: store the taps in __init__, self.filter = nn.Parameter(torch.zeros(taps))."
    if not f.get("is_parameter"):
        return (f"{name}.filter is a {f['type']}, not an nn.Parameter: wrap it, self.filter = "
                f"nn.Parameter(torch.zeros(taps)), so that optimizers and .to(device) see it.")
    if not f["registered"]:
        return (f"{name}.filter is not among the module's parameters(): call super().__init__() first in "
                f"__init__, then assign self.filter = nn.Parameter(...).")
    if f["shape"] != [taps]:
        return f"{name}.filter has shape {tuple(f['shape'])}; expected ({taps},), one number per tap."
    if f["dtype"] != "float32":
        return f"{name}.filter has dtype {f['dtype']}; expected float32, PyTorch's default, like the lab's data."
    if not f["requires_grad"]:
        return f"{name}.filter.requires_grad is False: keep it True (nn.Parameter's default) so the taps can learn."
    return None


def judge_structure(data: dict) -> Verdict:
    for taps, attrs in zip(STRUCTURE_TAPS, data["modules"]):
        problem = _judge_module(taps, attrs)
        if problem:
            return failed(problem)
    _, x = STRUCTURE_INPUT.inputs()
    after = np.asarray(data["input_after"])
    if after.shape != x.shape:
        return failed(f"forward changed its input's shape from {x.shape} to {after.shape}: "
                      f"work on a copy or use out-of-place operations.")
    change, index = largest_error(after, x.astype(np.float64))
    if change != 0 or not np.isfinite(after).all():
        return failed(f"forward changed its input: after the call x differs by up to {change:.3g} "
                      f"(at {location(index, x.shape)}: was {x[index]:.6g}, now {after[index]:.6g}). Don't write into x "
                      f"(x[..., 0] = 0, x += ..., x.mul_(...)): work on a copy, or use out-of-place operations.")
    return passed("taps is an int, filter an nn.Parameter of shape (taps,), and forward leaves x unchanged")


# ---- outputs ---------------------------------------------------------------------------------------

OUTPUT_CASES = (
    noise_case(81, (4, 1, N), 101, ", the lab's batches"),
    noise_case(81, (3, N), 102),
    noise_case(81, (N,), 103, ", a single clip"),
    noise_case(81, (2, 3, 1, 1000), 104, ", with an extra leading dimension"),
    noise_case(1, (2, 1, 500), 105),
    noise_case(120, (2, 1, 100), 106, ": more taps than samples"),
)


def probe_outputs(namespace: dict) -> dict:
    return probe_cases(namespace, OUTPUT_CASES)


def judge_outputs(data: dict) -> Verdict:
    return judge_cases(OUTPUT_CASES, data, "equal to the causal convolution for K = 1, 81, 120 and inputs "
                                           "of shape (N,), (B, N), (B, 1, N), (A, B, 1, N)")


# ---- impulse responses -----------------------------------------------------------------------------

_ROWS = range(4)
IMPULSE_CASES = (
    Case("With 81 random taps h and a unit impulse at sample 0 of every row of a (4, 1, 400) input "
         "(the output must be h[0], ..., h[80], then zeros)", 81, (4, 1, 400), 201,
         impulses=tuple((b, 0, 0) for b in _ROWS)),
    Case("With 81 random taps and a unit impulse at sample 200 of every row of a (4, 1, 400) input "
         "(the filter is causal: nothing may come out before sample 200)", 81, (4, 1, 400), 202,
         impulses=tuple((b, 0, 200) for b in _ROWS)),
    Case("With 81 random taps and a unit impulse at sample 390 of every row of a (4, 1, 400) input "
         "(the response runs past the end of the row and must not wrap around to its start)", 81, (4, 1, 400), 203,
         impulses=tuple((b, 0, 390) for b in _ROWS)),
    Case("With 81 random taps and a (4, 1, 400) input that is zero except for an impulse at sample 380 "
         "of batch row 1 (only row 1 may respond: rows must not mix)", 81, (4, 1, 400), 204,
         impulses=((1, 0, 380),)),
)


def probe_impulse(namespace: dict) -> dict:
    return probe_cases(namespace, IMPULSE_CASES)


def judge_impulse(data: dict) -> Verdict:
    return judge_cases(IMPULSE_CASES, data, "impulse responses are the taps, causal, without wrap-around "
                                            "or mixing of batch rows")


# ---- gradient --------------------------------------------------------------------------------------

GRADIENT_CASE = noise_case(81, (3, 1, 2000), 301)
GRADIENT_LOSS = "the loss sum(w * forward(x)) with fixed random weights w"


def gradient_weights(case: Case) -> np.ndarray:
    return np.random.default_rng([case.seed, 3]).standard_normal(case.shape).astype(case.dtype)


def probe_gradient(namespace: dict, case: Case = GRADIENT_CASE) -> dict:
    module = student.make_filter(namespace, case.taps)
    h, x = case.inputs()
    student.set_taps(module, h)
    taps = student.taps_tensor(module, case.taps)
    out = student.forward(module, torch.from_numpy(x))
    data = {"output": student.summary(out, values=False), "filter_requires_grad": bool(taps.requires_grad)}
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != x.shape or out.dtype != torch.float32:
        return data  # the judge says what is wrong with the output
    loss = (torch.from_numpy(gradient_weights(case)).to(out.dtype) * out).sum()
    data["output_requires_grad"] = bool(loss.requires_grad)
    if loss.requires_grad:
        student.call("the backward pass through ConvolutionalFilter.forward", loss.backward)
        data["grad"] = None if taps.grad is None else taps.grad.detach().to(torch.float64).reshape(-1).numpy().copy()
    return data


_CUT = ("Stay in torch inside forward: .detach(), .data, .numpy(), .item(), float(...) or torch.tensor(...) "
        "of the taps cut the graph, and a copy of the taps is not the parameter.")


def judge_gradient(data: dict, case: Case = GRADIENT_CASE) -> Verdict:
    out = data["output"]
    if not out.get("tensor") or tuple(out["shape"]) != case.shape or out["dtype"] != case.dtype:
        return failed(f"forward returned a {out.get('type')} of shape {tuple(out.get('shape', ()))} and dtype "
                      f"{out.get('dtype')} for a {case.dtype} input of shape {case.shape}: fix filter_outputs first, "
                      f"then the gradient can be checked.")
    if not data["filter_requires_grad"]:
        return failed("self.filter does not require a gradient: make it an nn.Parameter "
                      "(requires_grad is on by default), so the taps can learn.")
    if not data.get("output_requires_grad"):
        return failed(f"forward's output does not depend on self.filter through torch operations, so no "
                      f"gradient can reach the taps. {_CUT}")
    if data.get("grad") is None:
        return failed(f"no gradient reached self.filter after loss.backward(): forward does not use the "
                      f"parameter itself. {_CUT}")
    got = np.asarray(data["grad"], np.float64)
    h, x = case.inputs()
    w = gradient_weights(case)
    expected = CAUSAL.gradient(w, x, case.taps)
    if got.shape != expected.shape:
        return failed(f"the gradient of self.filter has {got.size} numbers; expected {case.taps}.")
    limit = TOLERANCE[case.dtype] * float(np.sum(np.abs(w)) * np.max(np.abs(x)))
    if largest_error(got, expected)[0] <= limit:
        return passed("the gradient reaches the taps and equals the true gradient")
    what = f"With {case.taps} random taps, a random input of shape {case.shape} and {GRADIENT_LOSS}"
    report = error_report(got, expected, limit, place=lambda index, shape: f"tap {index[0]}")
    return failed(f"{what}: the gradient of the taps is wrong, {report}. Likely cause: {_gradient_cause(got, w, x, case, limit)}.")


def _gradient_cause(got: np.ndarray, w: np.ndarray, x: np.ndarray, case: Case, limit: float) -> str:
    if np.max(np.abs(got)) <= limit:
        return f"the gradient is zero: the output does not depend on the taps. {_CUT}"
    for mistake in MISTAKES:
        if largest_error(got, mistake.gradient(w, x, case.taps))[0] <= DIAGNOSIS_FACTOR * limit:
            return f"the gradient is that of another filter, the same mistake as in the outputs: {mistake.cause}"
    scaled = scaled_cause(got, CAUSAL.gradient(w, x, case.taps), DIAGNOSIS_FACTOR * limit)
    if scaled:
        return scaled
    return "the gradient doesn't match a common mistake: check that forward computes sum_k filter[k] * x[..., n-k]"


CHECKS = {
    "filter_structure": (probe_structure, judge_structure),
    "filter_outputs": (probe_outputs, judge_outputs),
    "filter_impulse": (probe_impulse, judge_impulse),
    "filter_gradient": (probe_gradient, judge_gradient),
}
