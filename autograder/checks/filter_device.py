"""Device checks of ConvolutionalFilter: forward runs wherever its input and parameters are.

Without a GPU, PyTorch's meta device stands in for one: a meta tensor has a shape, a dtype and a
device but no data, so .to("meta") then forward(meta input) runs the student's code on a device other
than the CPU. A tensor forward creates on the CPU (torch.zeros(n), torch.arange(n) without
device=x.device) then meets the input there: most operations raise, and the few that don't check
devices on meta (conv1d's weight, matmul) are caught by watching every torch operation forward calls.
Every op a correct implementation uses (FFTs, conv1d, pad, unfold, roll, cat, where, arange with
device=...) has a meta implementation; if some op has none, the check passes with a note rather than
failing correct code.
"""

import torch
from torch.overrides import TorchFunctionMode

from lab2a.autograder.sandbox import student
from lab2a.autograder.checks.cases import probe_case
from lab2a.autograder.judge.compare import judge_output
from lab2a.autograder.checks.filter import N, noise_case
from lab2a.autograder.judge.verdict import StudentError, Verdict, describe_error, failed, passed, skipped

META_TAPS, META_SHAPE = 81, (4, 1, 1000)
CPU_TENSOR = "a tensor inside forward is created on the CPU: create it with device=x.device (and dtype=x.dtype)"


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


class _DeviceMixes(TorchFunctionMode):
    """Records the torch operations that get a meta tensor together with a tensor on another device.
    0-dim tensors are left out: PyTorch accepts CPU scalars alongside tensors on any device."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        operands = args
        if getattr(func, "__name__", "") in ("__getitem__", "__setitem__"):
            operands = (args[0], *args[2:])  # GPU tensors accept CPU index tensors: only x and the value count
        devices = {t.device.type for t in _tensors((operands, kwargs)) if t.dim() > 0}
        if "meta" in devices and len(devices) > 1 and len(self.ops) < 5:
            self.ops.append(getattr(func, "__name__", str(func)))
        return func(*args, **kwargs)


def _plain_tensor_attributes(module: torch.nn.Module) -> list:
    """Tensors stored as plain attributes (neither parameters nor buffers): .to(device) leaves them behind."""
    return [(f"{prefix}.{name}".strip("."), str(value.device))
            for prefix, sub in module.named_modules() for name, value in vars(sub).items()
            if isinstance(value, torch.Tensor) and not isinstance(value, torch.nn.Parameter)]


def probe_meta(namespace: dict) -> dict:
    module = student.make_filter(namespace, META_TAPS)
    taps = student.taps_tensor(module, META_TAPS)
    module = student.call(f"{student.FILTER}.to", module.to, "meta") or module
    data = {"filter_device": str(student.taps_tensor(module, META_TAPS).device),
            "filter_is_parameter": isinstance(taps, torch.nn.Parameter),
            "plain_tensors": _plain_tensor_attributes(module)}
    mixes = _DeviceMixes()
    try:
        with mixes:
            out = student.forward(module, torch.empty(META_SHAPE, device="meta"))
        data["output"] = student.summary(out, values=False)
    except StudentError as error:
        data["error"] = student.error_data(error)
    data["mixes"] = mixes.ops
    return data


def _cause_of_error(error: dict) -> str | None:
    """The device mistake behind an error on the meta device, or None if it isn't one."""
    text = error["text"].lower()
    if "alloc" in text and ("memory" in text or "bytes" in text):
        return None  # an allocation that failed (e.g. alloc_cpu.cpp: "can't allocate memory"): not a device mistake
    if "numpy" in text:
        return ("forward converts a tensor to numpy: that only works for CPU tensors (and cuts the gradient). "
                "Use torch operations throughout")
    if "item()" in text:
        return ("forward reads numbers out of a tensor (.item(), float(), int(), .tolist()): that needs the data "
                "on the CPU. Keep the computation in torch operations")
    if "cuda" in text:
        return "a tensor inside forward is created on the GPU ('cuda'): create it with device=x.device"
    if "cpu" in text or "cannot copy out of meta" in text:
        return CPU_TENSOR
    return None


def judge_meta(data: dict) -> Verdict:
    left_behind = [name for name, device in data["plain_tensors"] if device != "meta"]
    stray = (f" self.{left_behind[0]} is a plain tensor attribute, which .to(device) leaves on the CPU: register it "
             f"with self.register_buffer('{left_behind[0].split('.')[-1]}', ...) or create it in forward with "
             f"device=x.device." if left_behind else "")
    if data["filter_device"] != "meta":
        return failed(f"after module.to(device), self.filter is still on {data['filter_device']}: make it an "
                      f"nn.Parameter, which .to(device) moves to the GPU with the module.")
    where = " (tested with PyTorch's meta device: module.to('meta') and an input on 'meta')"
    error = data.get("error")
    if error:
        cause = _cause_of_error(error)
        if cause:
            return failed(f"forward fails on a device other than the CPU{where}: {cause}.{stray} "
                          f"The error: {describe_error(error['where'], error['kind'], error['text'])}")
        no_meta_kernel = error["kind"] == "NotImplementedError" and "meta" in error["text"].lower()
        if not no_meta_kernel:  # not a device problem (forward not written yet, a bug of its own)
            return failed(describe_error(error["where"], error["kind"], error["text"]))
    if data["mixes"]:
        return failed(f"{CPU_TENSOR}. It meets the input, on another device, in torch's {data['mixes'][0]}"
                      f"{where}.{stray}")
    if error:  # an op without a meta implementation, and no CPU tensor met the input before it
        return passed("forward runs on the input's device, as far as PyTorch's meta device can tell "
                      f"({error['text'][:80]})")
    out = data["output"]
    if not out.get("tensor"):
        return failed(f"forward returned a {out.get('type')}, not a torch.Tensor{where}.")
    if out["device"] != "meta":
        return failed(f"forward returned its output on {out['device']}, not on the input's device{where}: "
                      f"{CPU_TENSOR}.{stray}")
    if out["dtype"] != "float32":
        return failed(f"forward returned {out['dtype']} for a float32 input{where}: keep the input's dtype.")
    return passed("forward runs on the input's device and returns its output there (tested on PyTorch's meta device)")


# ---- a real GPU, when there is one -------------------------------------------------------------------

CUDA_CASE = noise_case(81, (4, 1, N), 401, ", on the GPU")


def probe_cuda(namespace: dict) -> dict:
    student.make_filter(namespace, CUDA_CASE.taps)  # a blank notebook fails here, GPU or not
    if not torch.cuda.is_available():
        return {"cuda": False}
    return {"cuda": True, "case": probe_case(namespace, CUDA_CASE, device="cuda")}


def judge_cuda(data: dict) -> Verdict:
    if not data.get("cuda"):
        return skipped("no GPU on this machine (torch.cuda.is_available() is False): the GPU check did not run "
                       "(it is informational, worth 0 points)")
    got = data["case"]
    if got.get("tensor") and not got["device"].startswith("cuda"):
        return failed(f"{CUDA_CASE.what}: forward returned its output on {got['device']}, not on the GPU. {CPU_TENSOR}.")
    h, x = CUDA_CASE.inputs()
    problem = judge_output(CUDA_CASE.what, got, h, x, CUDA_CASE.dtype)
    return failed(problem) if problem else passed("forward runs on the GPU and its outputs are right there")


CHECKS = {
    "filter_device": (probe_meta, judge_meta),
    "filter_cuda": (probe_cuda, judge_cuda),
}
