"""The checks of ConvolutionalFilter's properties: its attributes, no side effects, any device (and the
informational GPU check). Where the grader can, it judges them itself (the input and taps read back from
shared memory, the run on the meta device watched from torch's modes); autograder/README.md says what the
worker's report is trusted for.

The lab's definition: ConvolutionalFilter(taps) has an int `taps` and an nn.Parameter `filter` of
shape (taps,); forward(x) changes neither x nor its taps, keeps no state between calls, and returns its
output on x's device. Its numbers (outputs, impulse responses, gradient): outputs.py.

Each part is a function (ask, key, memo) that returns when the part passes and raises Failed with the
student's message when it does not; ask(operation, **args) runs an operation of sandbox/ops.py on the
student's code and returns its answer.
"""

import numpy as np

from lab2a.autograder.checks.cases import Run, judge_outcomes, noise_case, outputs_of
from lab2a.autograder.checks.outputs import (
    APART_IMPULSES,
    CAUSAL_IMPULSES,
    GRADIENT_CASE,
    LAB_BATCHES,
    MORE_TAPS,
    OTHER_SHAPES,
    N,
)
from lab2a.autograder.judge.causes import described
from lab2a.autograder.judge.compare import TOLERANCE, largest_error, location, scale, usable_values
from lab2a.autograder.judge.verdict import Failed, data_of, describe_error, student_failure
from lab2a.autograder.sandbox.student import FILTER

# ---- structure -------------------------------------------------------------------------------------------

STRUCTURE_TAPS = (81, 1)


def _judge_module(taps: int, attrs: dict) -> Failed | None:
    name = f"{FILTER}({taps})"
    t, f = attrs["taps"], attrs["filter"]
    if not t["present"]:
        return Failed(f"{name} has no attribute `taps`: store the number of taps in __init__, self.taps = taps.",
                      cause="no-taps-attribute")
    if t["type"] != "int":
        return Failed(f"{name}.taps is a {t['type']}; expected the int {taps} (self.taps = taps).",
                      cause="taps-not-the-argument")
    if t["value"] != taps:
        return Failed(f"{name}.taps is {t['value']:g}; expected {taps}, the argument.", cause="taps-not-the-argument")
    if not f["present"]:
        return Failed(f"{name} has no attribute `filter`: store the taps in __init__, "
                      f"self.filter = nn.Parameter(torch.zeros(taps)).", cause="no-filter-attribute")
    if not f.get("is_parameter"):
        return Failed(f"{name}.filter is a {f['type']}, not an nn.Parameter: wrap it, self.filter = "
                      f"nn.Parameter(torch.zeros(taps)), so that optimizers and .to(device) see it.",
                      cause="filter-not-a-parameter")
    if not f["registered"]:
        return Failed(f"{name}.filter is not among the module's parameters(): call super().__init__() first in "
                      f"__init__, then assign self.filter = nn.Parameter(...).", cause="filter-not-registered")
    if f["shape"] != [taps]:
        return Failed(f"{name}.filter has shape {tuple(f['shape'])}; expected ({taps},), one number per tap.",
                      cause="filter-wrong-shape")
    if not f["dtype"].startswith(("float", "bfloat")):
        return Failed(f"{name}.filter has dtype {f['dtype']}; expected floating-point numbers (float32, PyTorch's "
                      f"default).", cause="filter-wrong-dtype")
    if not f["requires_grad"]:
        return Failed(f"{name}.filter.requires_grad is False: keep it True (nn.Parameter's default) so the taps can "
                      f"learn.", cause="filter-no-grad")
    return None


def attributes(ask, key, memo) -> None:
    modules = data_of(ask("filter_attributes", taps=list(STRUCTURE_TAPS)))["modules"]
    for taps, attrs in zip(STRUCTURE_TAPS, modules):
        failure = _judge_module(taps, attrs)
        if failure:
            raise failure


SIDE_EFFECTS = (noise_case(81, (4, 1, 500), 51), noise_case(81, (4, 1, 500), 52), noise_case(81, (4, 1, 500), 51))
TAPS_MATTER = noise_case(81, (2, 1, 300), 53)


def taps_matter(ask, key, memo) -> None:
    """Fails unless forward's output changes with self.filter: the properties of forward (no side effects,
    any device) are those of a filter, and a forward that ignores its taps (`return x`, `pass`) is none.
    Measured on the outputs, numbers the grader compares itself."""
    if "taps matter" in memo:
        return
    h, x = TAPS_MATTER.inputs(key)
    outputs = []
    for taps in (h, (h + 1).astype(h.dtype)):
        call = data_of(ask("filter_calls", taps=81, h=taps, calls=[{"x": x}]))["calls"][0]
        if "error" in call:
            raise student_failure(call["error"], f"{TAPS_MATTER.what}: ")
        outputs.append(usable_values(call.get("output") or {}, x, "float32"))
    if any(values is None for values in outputs):
        raise Failed(f"{TAPS_MATTER.what}: forward's output is not a float32 tensor of the input's shape, so it can't "
                     f"be judged as a filter yet: fix filter_outputs first.", cause="unusable-output")
    if largest_error(outputs[1], outputs[0])[0] <= TOLERANCE["float32"] * scale(h, x):
        raise Failed("forward's output does not change when self.filter does: it is not a filter of its taps yet "
                     "(this part judges forward as a filter: y[..., n] = sum_k filter[k] * x[..., n-k]).",
                     cause="ignores-taps")
    memo["taps matter"] = True


def _side_effect(where: str, number: int | None, call: dict, h: np.ndarray) -> Failed | None:
    """What forward changed during a call (its input, its taps), or None; number: which call, if there were
    several. Both are read by the grader from the memory it shares with the sandbox (sandbox/shared.py)."""
    during = f" during call {number}" if number else ""
    change = call["input_change"]
    if change != 0:
        return Failed(f"{where}: forward changed its input x{during} (by up to {change:.3g}). Don't write into x "
                      f"(x[..., 0] = 0, x += ..., x.mul_(...)): work on a copy, or use out-of-place operations.",
                      cause="changes-input")
    moved, index = largest_error(np.asarray(call["taps_after"]), h.astype(np.float64))
    if moved != 0:
        return Failed(f"{where}: forward changed self.filter{during}: tap {index[0]} was {h[index[0]]:.6g} before "
                      f"and {call['taps_after'][index[0]]:.6g} after. forward must only read the taps (no "
                      f"self.filter.data = ..., no in-place flip_ or mul_ on the parameter).", cause="changes-taps")
    return None


def side_effect_cases() -> tuple:
    """One case per (taps, input shape, dtype) that a visible check hands forward: side effects are looked
    for on each (a forward may write into x only when x.dim() == 2, or only when there are more taps than
    samples). Hidden checks' shapes are left out: a visible check must not show them."""
    from lab2a.autograder.checks.convergence import CLIPS, LENGTH, TAPS

    runs = (*LAB_BATCHES, *OTHER_SHAPES, *MORE_TAPS, *CAUSAL_IMPULSES, *APART_IMPULSES)
    used = [TAPS_MATTER, *SIDE_EFFECTS, GRADIENT_CASE, *(case for run in runs for case in run.cases)]
    seen, cases = {(c.taps, c.shape, c.dtype) for c in SIDE_EFFECTS}, []
    for case in [*used, noise_case(TAPS, (CLIPS, 1, LENGTH), 0)]:
        if (case.taps, case.shape, case.dtype) not in seen:
            seen.add((case.taps, case.shape, case.dtype))
            cases.append(noise_case(case.taps, case.shape, 500 + len(cases), dtype=case.dtype))
    return tuple(cases)


def no_side_effects(ask, key, memo) -> None:
    taps_matter(ask, key, memo)
    h, _ = SIDE_EFFECTS[0].inputs(key)
    inputs = [case.inputs(key)[1] for case in SIDE_EFFECTS]
    calls = data_of(ask("filter_calls", taps=81, h=h, calls=[{"x": x} for x in inputs]))["calls"]
    where = ("With 81 random taps, forward called three times on one module (inputs of shape (4, 1, 500): A, B, "
             "then A again)")
    for number, call in enumerate(calls, start=1):
        if "error" in call:
            raise student_failure(call["error"], f"{where}: call {number}: ")
        failure = _side_effect(where, number, call, h)
        if failure:
            raise failure
    first, third = (calls[0].get("output") or {}), (calls[2].get("output") or {})
    a, b = usable_values(first, inputs[0], "float32"), usable_values(third, inputs[2], "float32")
    if a is not None and b is not None:
        limit = TOLERANCE["float32"] * scale(h, inputs[0])
        error, index = largest_error(b, a)
        if error > limit:
            raise Failed(f"{where}: the same input A gave two different outputs, on calls 1 and 3 (they differ by "
                         f"{error:.3g} at {location(index, a.shape)}; allowed {limit:.2g}). forward keeps something "
                         f"from one call to the next (the end of the previous input?): compute each output from its "
                         f"own input only.", cause="state-between-calls")
    for case in side_effect_cases():  # each shape the checks use, on a fresh module; outputs are judged elsewhere
        h, x = case.inputs(key)
        call = data_of(ask("filter_calls", taps=case.taps, h=h, calls=[{"x": x, "values": False}],
                           dtype=case.dtype))["calls"][0]
        if "error" not in call:  # an exception on this shape costs the output checks, not this one
            failure = _side_effect(case.what, None, call, h)
            if failure:
                raise failure


# ---- devices ---------------------------------------------------------------------------------------------

META_TAPS, META_SHAPE = 81, (4, 1, 1000)
CPU_TENSOR = "a tensor inside forward is created on the CPU: create it with device=x.device (and dtype=x.dtype)"


_HOST_READ = ("item() cannot be called on meta", "cannot copy out of meta")
WITHOUT_A_GPU = ("forward runs on PyTorch's meta device and on a simulated GPU, and returns its output on the input's "
                 "device (no GPU here: tested without one)")
SIMULATED = " (tested with the input and the module on a simulated GPU: x.device is 'cuda', the data on the CPU)"


def _cause_of_error(error: dict) -> str | None:
    """The device mistake behind an error on the meta device, or None if it isn't one."""
    text = error["text"].lower()
    if "alloc" in text and ("memory" in text or "bytes" in text):
        return None  # an allocation that failed (e.g. alloc_cpu.cpp: "can't allocate memory"): not a device mistake
    if "numpy" in text:
        return ("forward converts a tensor to numpy: that only works for CPU tensors (and cuts the gradient). "
                "Use torch operations throughout")
    if "cuda" in text:
        return "a tensor inside forward is created on the GPU ('cuda'): create it with device=x.device"
    if "cpu" in text and not any(sign in text for sign in _HOST_READ):
        return CPU_TENSOR
    return None


def _simulated(data: dict, stray: str) -> None:
    """Fails with what the run on the simulated GPU found: numpy on a tensor on the device, a CPU tensor
    meeting one on it, an output left on the CPU. (Where the meta run ended with its output on the meta
    device, that says where the output lands: an output the simulated GPU lost track of went through code
    torch's modes don't see, such as a TorchScript function, not through the CPU.)"""
    run = data.get("simulated") or {}
    if run.get("pins"):
        raise Failed(f"forward converts a tensor on the input's device to numpy ({run['pins'][0]}): numpy only "
                     f"takes CPU tensors, so it fails on a GPU (and cuts the gradient). Use torch operations "
                     f"throughout{SIMULATED}.", cause="numpy-on-device")
    if run.get("mixes"):
        raise Failed(f"{CPU_TENSOR}. It meets the input, on another device, in torch's {run['mixes'][0]}"
                     f"{SIMULATED}.{stray}", cause="pinned-to-cpu")
    on_meta = not data.get("error") and (data.get("output") or {}).get("device") == "meta"
    if "cpu" in run.get("outputs", []) and not on_meta:
        raise Failed(f"forward returned its output on the CPU, not on the input's device{SIMULATED}: "
                     f"{CPU_TENSOR}, or move the result back with .to(x.device).{stray}",
                     cause="output-on-wrong-device")


def any_device(ask, key, memo) -> None:
    """Without a GPU, PyTorch's meta device stands in for one: a meta tensor has a shape, a dtype and a
    device but no data. A tensor forward creates on the CPU then meets the meta input: most operations
    raise, and the few that don't check devices on meta are caught by watching every torch operation.
    Then forward runs on data with its input on a simulated GPU (devices.SimulatedDevice), which takes the
    branches the data takes (three input sizes) and follows a detour by the CPU back to the device:
    where the meta run stopped for want of data (a Python number read out of a tensor, which works on
    a GPU too) or of a meta kernel, that run decides. Where the sandbox has a GPU, forward runs there
    instead and its numbers are compared with the grader's float64 oracle. The pass message says which."""
    taps_matter(ask, key, memo)
    if data_of(ask("cuda_available"))["cuda"]:
        return _on_the_gpu(ask, key)
    data = data_of(ask("filter_meta", taps=META_TAPS, shape=list(META_SHAPE)))
    left_behind = [name for name, device in data["plain_tensors"] if device != "meta"]
    stray = (f" self.{left_behind[0]} is a plain tensor attribute, which .to(device) leaves on the CPU: register it "
             f"with self.register_buffer('{left_behind[0].split('.')[-1]}', ...) or create it in forward with "
             f"device=x.device." if left_behind else "")
    if data["filter_device"] != "meta":
        raise Failed(f"after module.to(device), self.filter is still on {data['filter_device']}: make it an "
                     f"nn.Parameter, which .to(device) moves to the GPU with the module.", cause="filter-not-moved")
    where = " (tested with PyTorch's meta device: module.to('meta') and an input on 'meta')"
    if data.get("asks_is_meta"):
        raise Failed(f"forward asks whether its input is on the meta device (x.is_meta) and acts on it: compute the "
                     f"same way on every device{where}.", cause="checks-meta-device")
    error = data.get("error")
    if error:
        cause = _cause_of_error(error)
        if cause:
            raise Failed(f"forward fails on a device other than the CPU{where}: {cause}.{stray} "
                         f"The error: {describe_error(error['where'], error['kind'], error['text'])}",
                         cause="fails-off-cpu")
        text = error["text"].lower()
        no_kernel = error["kind"] == "NotImplementedError" and "meta" in text
        stopped = no_kernel or any(sign in text for sign in _HOST_READ)
        if not stopped:  # not a device problem (forward not written yet, a bug of its own)
            raise Failed(describe_error(error["where"], error["kind"], error["text"]),
                         cause=described(error["kind"], error["text"]))
    if data["mixes"]:
        raise Failed(f"{CPU_TENSOR}. It meets the input, on another device, in torch's {data['mixes'][0]}"
                     f"{where}.{stray}", cause="pinned-to-cpu")
    _simulated(data, stray)
    if error:  # stopped for want of data or of a meta kernel; on the simulated GPU nothing failed
        return WITHOUT_A_GPU
    out = data["output"]
    if not out.get("tensor"):
        raise Failed(f"forward returned a {out.get('type')}, not a torch.Tensor{where}.", cause="not-a-tensor")
    if out["device"] != "meta":
        raise Failed(f"forward returned its output on {out['device']}, not on the input's device{where}: "
                     f"{CPU_TENSOR}.{stray}", cause="output-on-wrong-device")
    if out["dtype"] != "float32":
        raise Failed(f"forward returned {out['dtype']} for a float32 input{where}: keep the input's dtype.",
                     cause="wrong-dtype")
    return WITHOUT_A_GPU


DEVICE_RUN = Run((noise_case(81, (4, 1, 1000), 402, ", on the GPU"),))


def _on_the_gpu(ask, key) -> str:
    """The device part on a GPU: forward on CUDA inputs, its output there and equal to the oracle's."""
    outcomes = outputs_of(ask, DEVICE_RUN, key, device="cuda")
    for case, got, _, _ in outcomes:
        if got.get("tensor") and not str(got.get("device", "")).startswith("cuda"):
            raise Failed(f"{case.what}: forward returned its output on {got['device']}, not on the input's device "
                         f"(tested on this machine's GPU). {CPU_TENSOR}.", cause="output-on-wrong-device")
    judge_outcomes((DEVICE_RUN,), outcomes)
    return "forward runs on the GPU (tested on this machine's GPU: its outputs there equal the grader's float64 oracle)"


CUDA_RUN = Run((noise_case(81, (4, 1, N), 401, ", on the GPU"),))


def on_gpu(ask, key, memo) -> None:
    if not data_of(ask("cuda_available"))["cuda"]:
        raise Failed("no GPU on this machine (torch.cuda.is_available() is False): the GPU check did not run "
                     "(it is informational, worth 0 points)", "skipped", cause="no-gpu")
    outcomes = outputs_of(ask, CUDA_RUN, key, device="cuda")
    for case, got, _, _ in outcomes:
        if got.get("tensor") and not str(got.get("device", "")).startswith("cuda"):
            raise Failed(f"{case.what}: forward returned its output on {got['device']}, not on the GPU. {CPU_TENSOR}.",
                         cause="output-on-wrong-device")
    judge_outcomes((CUDA_RUN,), outcomes)


PARTS = {
    "filter_structure": {"attributes": attributes, "no side effects": no_side_effects},
    "filter_device": {"any device": any_device},
    "filter_cuda": {"gpu": on_gpu},
}
