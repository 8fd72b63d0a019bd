"""The operations on the student's ConvolutionalFilter: its attributes, forward on the grader's inputs (with the
gradient reaching the taps), one training step the grader drives, and forward on the meta device and on a
simulated GPU (devices.py). Each returns plain data; none knows a right answer (ops.py).
"""

import numbers

import numpy as np
import torch
from torch import nn

from lab2a.autograder.sandbox import shared, student
from lab2a.autograder.sandbox.devices import DeviceMixes, OnDevice, SimulatedDevice
from lab2a.autograder.sandbox.student import FILTER, StudentError


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


def filter_attributes(namespace: dict, taps: list) -> dict:
    """ConvolutionalFilter(k) for each k: its `taps` and `filter` attributes, described."""
    modules = []
    for k in taps:
        module = student.make_filter(namespace, int(k))
        modules.append({"taps": _attribute(module, "taps"), "filter": _attribute(module, "filter")})
    return {"modules": modules}


def _moved(module: nn.Module, dtype: str, device: str) -> nn.Module:
    if dtype == "float32" and device == "cpu":
        return module
    return student.call(f"{FILTER}.to", module.to, device=device, dtype=getattr(torch, dtype)) or module


def filter_calls(namespace: dict, taps: int, h: np.ndarray, calls: list, dtype: str = "float32",
                 device: str = "cpu") -> dict:
    """One ConvolutionalFilter(taps), moved to (device, dtype), its filter set to h, then forward on each
    call's x in turn. Per call: the output (its values unless values is False), how much x changed,
    the taps after the call, and, given weights w, the gradient of sum(w * output) reaching the taps."""
    module = _moved(student.make_filter(namespace, taps), dtype, device)
    student.set_taps(module, h)
    tensor = student.taps_tensor(module, taps)
    results = []
    for spec in calls:
        if "shared" in spec:  # x and the taps in the grader's memory: it reads them back after the call
            x = shared.tensor(spec["shared"]["x"])
            _share_taps(tensor, spec["shared"])
        else:
            x = torch.from_numpy(np.ascontiguousarray(spec["x"])).to(device)
        before = x.detach().clone()
        weights = spec.get("weights")
        item = {}
        try:
            if weights is None:  # outputs only: no autograd graph, so a loop over the taps keeps no copies
                with torch.no_grad():
                    out = student.forward(module, x)
            else:
                tensor.grad = None
                out = student.forward(module, x)
        except StudentError as error:
            results.append({"error": error.data()})
            break
        item["output"] = student.summary(out, values=spec.get("values", True))
        item["input_change"] = _change(before, x.detach())
        item["taps_after"] = student.taps_values(module, taps)
        if weights is not None and isinstance(out, torch.Tensor) and out.shape == x.shape and out.is_floating_point():
            loss = (torch.from_numpy(weights).to(device=out.device, dtype=out.dtype) * out).sum()
            item["output_requires_grad"] = bool(loss.requires_grad)
            if loss.requires_grad:
                try:
                    student.call("the backward pass through ConvolutionalFilter.forward", loss.backward)
                except StudentError as error:
                    item["error"] = error.data()
                    results.append(item)
                    break
                grad = student.taps_tensor(module, taps).grad
                item["grad"] = None if grad is None else grad.detach().to("cpu", torch.float64).reshape(-1).numpy()
        results.append(item)
    return {"calls": results, "filter_requires_grad": bool(tensor.requires_grad),
            "filter_registered": any(p is tensor for p in module.parameters())}


def _share_taps(tensor: torch.Tensor, places: dict) -> None:
    """Before each call, the parameter's data moved into the grader's memory for this call, in its dtype
    (float32 or float64; other dtypes keep their own memory, and only this process's reading of them).
    The taps go on as they are (the grader wrote h there; a change made by an earlier call is carried
    over, as it is in training), so after the request the grader reads the taps as each call left them."""
    name = student.dtype_name(tensor.dtype)
    if tensor.device.type == "cpu" and name in places:
        with torch.no_grad():
            region = shared.tensor(places[name]).reshape(tensor.shape)
            region.copy_(tensor.detach())
            tensor.data = region


def _change(before: torch.Tensor, after: torch.Tensor) -> float:
    """How far the input moved during the call: 0 if untouched, inf if resized or made NaN."""
    if after.shape != before.shape:
        return float("inf")
    if torch.equal(after, before) or not before.numel():
        return 0.0
    return float(torch.nan_to_num((after - before).abs(), nan=float("inf")).max())


_trained = {}  # handle -> (module, x, y): a filter trained step by step by the grader


def filter_step(namespace: dict, handle: str, taps: int, h: np.ndarray, x: np.ndarray | None = None,
                y: np.ndarray | None = None) -> dict:
    """One step of training driven by the grader: set the taps to h, then the loss mean((forward(x) - y)^2)
    and its gradient with respect to the taps. The grader applies the step itself; x and y are sent
    once, with the first step."""
    if handle not in _trained:
        _trained.clear()  # one module trained at a time
        module = student.make_filter(namespace, taps)
        _trained[handle] = (module, torch.from_numpy(x), torch.from_numpy(y))
    module, x, y = _trained[handle]
    student.set_taps(module, h)
    tensor = student.taps_tensor(module, taps)
    tensor.grad = None
    out = student.forward(module, x)
    if not isinstance(out, torch.Tensor) or out.shape != y.shape or not out.is_floating_point():
        return {"output": student.summary(out, values=False)}
    loss = ((out - y.to(out.dtype)) ** 2).mean()
    if not loss.requires_grad:
        return {"no_gradient": True}
    student.call("the backward pass through ConvolutionalFilter.forward", loss.backward)
    grad = tensor.grad
    return {"loss": float(loss.detach()), "taps_after": student.taps_values(module, taps),
            "grad": None if grad is None else grad.detach().to("cpu", torch.float64).reshape(-1).numpy(),
            "registered": any(p is tensor for p in module.parameters())}


SIMULATED_SCALES = (1.0, 1e-3, 1e3)  # both sides of a branch on the input's size (x.abs().max() > 1, ...)


def _simulated_runs(namespace: dict, taps: int, shape: list) -> dict:
    """forward on the simulated GPU, on random inputs of three sizes: what would fail on a real GPU."""
    found = {"mixes": [], "pins": [], "outputs": [], "errors": 0}
    for scale in SIMULATED_SCALES:
        module = student.make_filter(namespace, taps)
        mode = SimulatedDevice({id(t) for t in (*module.parameters(), *module.buffers())})
        x = (torch.randn(tuple(shape)) * scale).as_subclass(OnDevice)
        try:
            with mode, torch.no_grad():
                out = student.forward(module, x)
            found["outputs"].append("device" if isinstance(out, OnDevice) else
                                    "cpu" if isinstance(out, torch.Tensor) else type(out).__name__)
        except StudentError:
            found["errors"] += 1  # not judged here: the meta run and the output checks say what is wrong
        found["mixes"] += mode.mixes
        found["pins"] += mode.pins
        if found["mixes"] or found["pins"]:
            break
    return found


def _plain_tensor_attributes(module: nn.Module) -> list:
    """Tensors stored as plain attributes (neither parameters nor buffers): .to(device) leaves them behind."""
    return [(f"{prefix}.{name}".strip("."), str(value.device))
            for prefix, sub in module.named_modules() for name, value in vars(sub).items()
            if isinstance(value, torch.Tensor) and not isinstance(value, nn.Parameter)]


def filter_meta(namespace: dict, taps: int, shape: list) -> dict:
    """The filter moved to PyTorch's meta device and called on a meta input: where its output lands,
    and which torch operations mixed the meta input with a tensor on another device; then forward on the
    simulated GPU, on data (what the meta device can't run: a branch on the data, a detour by the CPU)."""
    module = student.make_filter(namespace, taps)
    tensor = student.taps_tensor(module, taps)
    module = student.call(f"{FILTER}.to", module.to, "meta") or module
    data = {"filter_device": str(student.taps_tensor(module, taps).device),
            "filter_is_parameter": isinstance(tensor, nn.Parameter),
            "plain_tensors": _plain_tensor_attributes(module)}
    mixes = DeviceMixes()
    try:
        with mixes:
            out = student.forward(module, torch.empty(tuple(shape), device="meta"))
        data["output"] = student.summary(out, values=False)
    except StudentError as error:
        data["error"] = error.data()
    data["mixes"] = mixes.ops
    data["asks_is_meta"] = mixes.asks_is_meta
    data["simulated"] = _simulated_runs(namespace, taps, shape)
    return data


def cuda_available(namespace: dict) -> dict:
    student.filter_class(namespace)  # a blank notebook fails here, GPU or not
    return {"cuda": torch.cuda.is_available()}
