"""The devices the operations pretend, as torch function modes, so that every check runs on any machine:
DeviceMixes records the torch operations that mix a meta tensor with one on another device (filter_meta);
SimulatedDevice runs forward with its input on a simulated GPU (real data on the CPU, tagged cuda);
Moves notes which tensors train moved to the device (train_device). None of them knows a right answer.
"""

import weakref

import torch
from torch.overrides import TorchFunctionMode


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


class DeviceMixes(TorchFunctionMode):
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


class OnDevice(torch.Tensor):
    """A tensor on the simulated GPU (its data stays on the CPU); what torch computes from one is one too."""


class SimulatedDevice(TorchFunctionMode):
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
        return isinstance(value, OnDevice) or (isinstance(value, torch.Tensor) and id(value) in self.ids)

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
        return result.as_subclass(OnDevice if target == "cuda" else torch.Tensor)

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
    if isinstance(value, torch.Tensor) and not isinstance(value, OnDevice):
        return value.as_subclass(OnDevice)
    if isinstance(value, (tuple, list)) and not hasattr(value, "_fields"):  # (a namedtuple keeps its own)
        return type(value)([_tag(v) for v in value])
    return value


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


class Moves(TorchFunctionMode):
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
