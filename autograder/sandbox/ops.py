"""What the grader can ask of the student's code: each operation builds what it needs from the plain
numbers the grader sends (taps, inputs, a training scenario), calls the student's definitions and
returns what came out as plain data.

No operation knows a right answer: the grader's process compares what comes back with its own
float64 oracle and reference runs. So a submission that replaced these functions would have to
compute the right numbers itself, which is writing the lab's code.
"""

import numbers
import weakref

import numpy as np
import torch
from lab2a.autograder.sandbox import shared, student
from lab2a.autograder.sandbox.scenario import Recorder, Scenario, loader, parameters, recorded
from lab2a.autograder.sandbox.student import FILTER, StudentError, Unusable
from torch import nn
from torch.overrides import TorchFunctionMode

# ---- ConvolutionalFilter ----------------------------------------------------------------------------------

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
        self.asks_is_meta = False

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        operands = args
        name = getattr(func, "__name__", "")
        if name == "__get__" and getattr(getattr(func, "__self__", None), "__name__", "") == "is_meta":
            self.asks_is_meta = True
        if getattr(func, "__name__", "") in ("__getitem__", "__setitem__"):
            operands = (args[0], *args[2:])  # GPU tensors accept CPU index tensors: only x and the value count
        devices = {t.device.type for t in _tensors((operands, kwargs)) if t.dim() > 0}
        if "meta" in devices and len(devices) > 1 and len(self.ops) < 5:
            self.ops.append(getattr(func, "__name__", str(func)))
        return func(*args, **kwargs)


SIMULATED = torch.device("cuda", 0)  # what x.device says in the simulated run: the lab's GPU
_MOVES = (torch.Tensor.to, torch.Tensor.cuda, torch.Tensor.cpu)


class _OnDevice(torch.Tensor):
    """A tensor on the simulated GPU (its data stays on the CPU); what torch computes from one is one too."""


class _SimulatedDevice(TorchFunctionMode):
    """forward run on real data, with its input and the module's parameters and buffers on a simulated GPU:
    x.device says cuda, a tensor made with device=x.device (or moved there) is on it, one made without a
    device is on the CPU. Records what fails on a real GPU: a CPU tensor (not a 0-dim one) meeting one on
    the device in a torch operation, and numpy taking a tensor on the device. Data-dependent branches run
    as they would on a GPU: the data is there (the meta device has none)."""

    def __init__(self, on_device: set):
        super().__init__()
        self.ids = on_device   # id() of the module's parameters and buffers: .to(device) moves them
        self.mixes, self.pins = [], []

    def on(self, value) -> bool:
        return isinstance(value, _OnDevice) or (isinstance(value, torch.Tensor) and id(value) in self.ids)

    def _moved(self, func, args, kwargs):
        """A move: to the simulated GPU (a tensor on it), to the CPU (a plain one), or None (no device)."""
        if func is torch.Tensor.to and len(args) > 1 and isinstance(args[1], torch.Tensor):
            target = "cuda" if self.on(args[1]) else "cpu"
            result = args[0].to(args[1].dtype)
        else:
            target = _target(func, args, kwargs)
            if target not in ("cuda", "cpu"):
                return None
            dtype = kwargs.get("dtype") or next((a for a in args[1:] if isinstance(a, torch.dtype)), None)
            result = args[0] if dtype is None else args[0].to(dtype)
        return result.as_subclass(_OnDevice if target == "cuda" else torch.Tensor)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name == "__get__" and args and self.on(args[0]):
            prop = getattr(getattr(func, "__self__", None), "__name__", "")
            if prop in ("device", "is_cuda", "is_cpu"):
                return {"device": SIMULATED, "is_cuda": True, "is_cpu": False}[prop]
        if name == "get_device" and args and self.on(args[0]):
            return SIMULATED.index
        if func in _MOVES and args and isinstance(args[0], torch.Tensor):
            moved = self._moved(func, args, kwargs)
            if moved is not None:
                return moved
        operands = (args[0], *args[2:]) if name in ("__getitem__", "__setitem__") else args  # CPU indices are fine
        tensors = [t for t in _tensors((operands, kwargs)) if t.dim() > 0]
        on = [self.on(t) for t in tensors]
        if any(on) and not all(on) and len(self.mixes) < 5:
            self.mixes.append(name or str(func))
        if name in ("numpy", "__array__") and args and self.on(args[0]) and len(self.pins) < 5:
            self.pins.append(name)
        created = False
        if "device" in kwargs and kwargs["device"] is not None:
            try:
                created = torch.device(kwargs["device"]).type == "cuda"
            except (RuntimeError, TypeError):
                created = False
            if created:
                kwargs = {k: v for k, v in kwargs.items() if k != "device"}
        result = func(*args, **kwargs)
        if created or any(self.on(t) for t in _tensors((args, kwargs))):
            result = _tag(result)
        return result


def _tag(value):
    if isinstance(value, torch.Tensor) and not isinstance(value, _OnDevice):
        return value.as_subclass(_OnDevice)
    if isinstance(value, (tuple, list)) and not hasattr(value, "_fields"):  # (a namedtuple keeps its own)
        return type(value)([_tag(v) for v in value])
    return value


SIMULATED_SCALES = (1.0, 1e-3, 1e3)  # both sides of a branch on the input's size (x.abs().max() > 1, ...)


def _simulated_runs(namespace: dict, taps: int, shape: list) -> dict:
    """forward on the simulated GPU, on random inputs of three sizes: what would fail on a real GPU."""
    found = {"mixes": [], "pins": [], "outputs": [], "errors": 0}
    for scale in SIMULATED_SCALES:
        module = student.make_filter(namespace, taps)
        mode = _SimulatedDevice({id(t) for t in (*module.parameters(), *module.buffers())})
        x = (torch.randn(tuple(shape)) * scale).as_subclass(_OnDevice)
        try:
            with mode, torch.no_grad():
                out = student.forward(module, x)
            found["outputs"].append("device" if isinstance(out, _OnDevice) else
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
    mixes = _DeviceMixes()
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


# ---- train ----------------------------------------------------------------------------------------------

def _as_float(value) -> float | None:
    try:
        return float(value.detach() if isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError, RuntimeError):
        return None


def _returned(value) -> dict:
    """train's return value as plain data: its type, and the items as floats where they convert."""
    data = {"type": type(value).__name__}
    if isinstance(value, (list, tuple)):
        items = list(value)[:10_000]
        data["item_types"] = [type(v).__name__ for v in items]
        data["numbers"] = [isinstance(v, numbers.Real) and not isinstance(v, bool) for v in items]
        data["values"] = [_as_float(v) for v in items]
    return data


def train_run(namespace: dict, scenario: dict) -> dict:
    """The student's train on the scenario's model, loader, optimizer and loss, device "cpu": what it
    returned, the model's parameters afterwards, and what the loop did (for messages only)."""
    train = student.train_function(namespace)
    s = Scenario.from_dict(scenario)
    recorder = Recorder()
    net, data, opt, loss = recorded(s, recorder)
    # a torch.device, as the lab passes one (device.type must work)
    result = student.call("train", train, net, data, opt, loss, s.n_epochs, torch.device("cpu"))
    return {"returned": _returned(result), "parameters": parameters(net), "events": recorder.text(),
            "passes": data.sampler.passes}


# The device check. Without a GPU a forgotten .to(device) changes nothing, so train runs under a torch
# mode (_Moves) that notes which tensors are on the device: what x.to(device), x.cuda() (for "cuda"), x.cpu()
# (for "cpu") or a factory with device=device returns, and what torch computes from them as a GPU would place
# it (on the device when every input of more than one element is; a 0-dim tensor goes with the others). The
# notes are a table of the tensors themselves, kept in the mode, not a type a tensor carries: a student's
# code can't tag a batch as moved (an `as_subclass` of a moved tensor's type) without moving it. The model
# and the loss look their inputs up. A batch copied without a device (torch.tensor(x), torch.as_tensor(x), a
# numpy round trip) is not moved. The moves are only pretended (the data stays on the CPU), so train can be
# called with device "cuda" on any machine. If the loop needs a real GPU for "cuda" anyway, the check runs
# again with device "cpu".

def _target(func, args, kwargs) -> str | None:
    """The device type a .to(...)/.cuda()/.cpu() call asks for, or None (e.g. .to(torch.float64))."""
    if func is torch.Tensor.cuda:
        return "cuda"
    if func is torch.Tensor.cpu:
        return "cpu"
    device = kwargs.get("device", next((a for a in args[1:] if isinstance(a, (str, torch.device, int))), None))
    try:
        return None if device is None else torch.device(device).type
    except (RuntimeError, TypeError):
        return None


class _Moves(TorchFunctionMode):
    """While train runs: which tensors are on `device_type` (pretended), without touching a GPU."""

    def __init__(self, device_type: str):
        super().__init__()
        self.device_type = device_type
        self.on_device = {}   # id(tensor) -> a weak reference to it (checked: an id may be reused)

    def moved(self, tensor) -> bool:
        reference = self.on_device.get(id(tensor))
        return reference is not None and reference() is tensor

    def _note(self, result) -> None:
        for tensor in _tensors(result):
            self.on_device[id(tensor)] = weakref.ref(tensor)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _MOVES and args and isinstance(args[0], torch.Tensor) and \
                _target(func, args, kwargs) == self.device_type:
            dtype = kwargs.get("dtype") or next((a for a in args[1:] if isinstance(a, torch.dtype)), None)
            moved = args[0].view_as(args[0]) if dtype is None else args[0].to(dtype)   # (a tensor of its own)
            self._note(moved)
            return moved
        device = kwargs.get("device")
        if device is not None and func not in _MOVES:
            try:
                made_here = torch.device(device).type == self.device_type
            except (RuntimeError, TypeError):
                made_here = False
            if made_here:  # a factory with device=device: made on the device
                result = func(*args, **{k: v for k, v in kwargs.items() if k != "device"})
                self._note(result)
                return result
        result = func(*args, **kwargs)
        inputs = list(_tensors((args, kwargs)))
        larger = [t for t in inputs if t.dim() > 0]
        if (all(map(self.moved, larger)) if larger else any(map(self.moved, inputs))) and inputs:
            self._note(result)
        return result


class _NotingModel(nn.Module):
    """One learnable gain; notes whether each input was moved to the device. Stays on the CPU when train
    moves it (estimator.to(device) is fine, not needed)."""

    def __init__(self, moves: _Moves):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(0.5))
        self.moves, self.unmoved = moves, []

    def to(self, *args, **kwargs):
        return self

    cuda = cpu = to

    def forward(self, x):
        self.unmoved.append(not self.moves.moved(x))
        return self.gain * x   # (on the device, for the mode, when x is)


class _NotingLoss(nn.Module):
    """MSE; notes whether an argument was not moved (the target, or an unmoved input passed through)."""

    def __init__(self, moves: _Moves):
        super().__init__()
        self.moves, self.unmoved = moves, []

    def forward(self, a, b):
        self.unmoved.append(not (self.moves.moved(a) and self.moves.moved(b)))
        return nn.functional.mse_loss(a, b)


def _device_run(train, s: Scenario, device: str) -> dict:
    moves = _Moves(device)
    net, loss = _NotingModel(moves), _NotingLoss(moves)
    with moves:
        student.call("train", train, net, loader(s), torch.optim.SGD(net.parameters(), lr=0.01),
                     loss, s.n_epochs, torch.device(device), detail=f"(with device={device!r})")
    return {"device": device, "inputs": net.unmoved[:1000], "targets": loss.unmoved[:1000]}


def train_device(namespace: dict, scenario: dict) -> dict:
    train = student.train_function(namespace)
    s = Scenario.from_dict(scenario)
    try:
        return _device_run(train, s, "cuda")
    except StudentError as error:
        if "cuda" not in error.text.lower() and "nvidia" not in error.text.lower():
            raise
        return _device_run(train, s, "cpu")  # the loop needs a real GPU for "cuda"


OPERATIONS = {
    "filter_attributes": filter_attributes,
    "filter_calls": filter_calls,
    "filter_step": filter_step,
    "filter_meta": filter_meta,
    "cuda_available": cuda_available,
    "train_run": train_run,
    "train_device": train_device,
}


def perform(namespace: dict, name: str, args: dict, reraise: tuple = ()) -> dict:
    """One operation, seeded; the student's failures come back as data:
    {"data": ...} | {"problem": why the definitions can't be used} | {"error": the student's exception} |
    {"exit": "sys.exit(...)"} | {"raised": {"kind", "text"}} (anything else that escaped).
    reraise: exceptions that stop the caller instead (a time limit in the student's own kernel)."""
    operations = OPERATIONS
    try:
        with student.seeded(0):
            return {"data": operations[name](namespace, **args)}
    except Unusable as problem:
        return {"problem": str(problem)}
    except StudentError as error:
        return {"error": error.data()}
    except reraise:
        raise
    except SystemExit as error:
        return {"exit": f"sys.exit({error.code!r})" if error.code is not None else "sys.exit()"}
    except BaseException as error:  # noqa: BLE001 (the student's code may raise anything, KeyboardInterrupt too)
        return {"raised": {"kind": type(error).__name__, "text": str(error)[:2000]}}
