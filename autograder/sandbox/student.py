"""The sandbox's access to the student's code: find the definitions, call them, and turn what comes
back into plain data.

Finding a definition follows a ladder, the first failing rung giving the message: not defined ->
not a class / not callable -> wrong signature. Every call into the student's code goes through
`call`, so an exception names the student's function it came from.
"""

import inspect
import random
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

FILTER = "ConvolutionalFilter"
TRAIN = "train"
TRAIN_ARGS = "(estimator, train_loader, optimizer, loss_fn, n_epochs, device)"


class StudentError(Exception):
    """The student's code raised. where: the student's function; detail: how it was called."""

    def __init__(self, where: str, kind: str, text: str, detail: str = ""):
        super().__init__(where, kind, text, detail)
        self.where, self.kind, self.text, self.detail = where, kind, text, detail

    @classmethod
    def wrap(cls, where: str, error: BaseException, detail: str = "") -> "StudentError":
        return cls(where, type(error).__name__, str(error)[:2000], detail)

    def data(self) -> dict:
        return {"where": self.where, "kind": self.kind, "text": self.text, "detail": self.detail}


# the keys of the problems below, as the report's `cause` (judge/causes.py); the grader takes no other from an answer
UNUSABLE_CAUSES = frozenset({"not-defined", "not-a-class", "not-a-module", "not-a-function", "wrong-signature",
                             "no-filter-attribute", "filter-not-a-tensor", "filter-wrong-shape"})


class Unusable(Exception):
    """The student's definitions can't be used as the lab defines them; the message says why, and cause names
    it as a short key (one of UNUSABLE_CAUSES), sent beside the message."""

    def __init__(self, message: str, cause: str):
        assert cause in UNUSABLE_CAUSES, cause
        super().__init__(message)
        self.cause = cause


def _defined(namespace: dict, name: str, example: str):
    if name not in namespace:
        raise Unusable(f"{name} is not defined: run the notebook cell that defines it ({example}).",
                       "not-defined")
    return namespace[name]


def _signature(obj):
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):  # builtins and odd callables: let the call itself decide
        return None


def filter_class(namespace: dict) -> type:
    cls = _defined(namespace, FILTER, "class ConvolutionalFilter(nn.Module): ...")
    if not isinstance(cls, type):
        raise Unusable(f"{FILTER} must be a class (class ConvolutionalFilter(nn.Module): ...), "
                       f"but it is a {type(cls).__name__}.", "not-a-class")
    if not issubclass(cls, nn.Module):
        raise Unusable(f"{FILTER} must inherit from nn.Module (class ConvolutionalFilter(nn.Module): ...).",
                       "not-a-module")
    signature = _signature(cls)
    if signature is not None:
        try:
            signature.bind(81)
        except TypeError:
            raise Unusable(f"{FILTER}(taps) must take one argument, the number of taps; "
                           f"its __init__ takes {signature}.", "wrong-signature") from None
    return cls


def train_function(namespace: dict):
    fn = _defined(namespace, TRAIN, f"def train{TRAIN_ARGS}: ...")
    if not callable(fn):
        raise Unusable(f"{TRAIN} must be a function, def train{TRAIN_ARGS}, but it is a {type(fn).__name__}.",
                       "not-a-function")
    signature = _signature(fn)
    if signature is not None:
        try:
            signature.bind(*range(6))
        except TypeError:
            raise Unusable(f"train must take six arguments, train{TRAIN_ARGS}; yours takes {signature}.",
                           "wrong-signature") from None
    return fn


def call(where: str, fn, *args, detail: str = "", **kwargs):
    """fn(*args, **kwargs); an exception becomes a StudentError naming `where` (e.g. 'train')."""
    try:
        return fn(*args, **kwargs)
    except Exception as error:
        raise StudentError.wrap(where, error, detail) from error


def make_filter(namespace: dict, taps: int) -> nn.Module:
    cls = filter_class(namespace)
    module = call(FILTER, cls, taps, detail=f"(called as {FILTER}({taps}))")
    if not isinstance(module, nn.Module):  # e.g. a __new__ returning something else
        raise Unusable(f"{FILTER}({taps}) returned a {type(module).__name__}, not an nn.Module.", "not-a-module")
    return module


def taps_tensor(module: nn.Module, taps: int) -> torch.Tensor:
    """module.filter, once it is a tensor holding `taps` numbers (other checks judge its exact form)."""
    value = getattr(module, "filter", None)
    if value is None:
        raise Unusable(f"{FILTER} has no attribute `filter`: store the taps in __init__ as "
                       f"self.filter = nn.Parameter(torch.zeros(taps)).", "no-filter-attribute")
    if not isinstance(value, torch.Tensor):
        raise Unusable(f"self.filter is a {type(value).__name__}, not a tensor: "
                       f"use self.filter = nn.Parameter(torch.zeros(taps)).", "filter-not-a-tensor")
    if value.numel() != taps:
        raise Unusable(f"{FILTER}({taps}).filter has {value.numel()} numbers (shape {tuple(value.shape)}); "
                       f"expected {taps}, one per tap, shape ({taps},).", "filter-wrong-shape")
    return value


def set_taps(module: nn.Module, h: np.ndarray) -> None:
    """Write the taps h into module.filter, in place, as the lab's notebook does."""
    taps = taps_tensor(module, len(h))
    with torch.no_grad():
        taps.copy_(torch.from_numpy(np.ascontiguousarray(h)).reshape(taps.shape).to(taps.dtype))


def taps_values(module: nn.Module, taps: int) -> np.ndarray:
    return taps_tensor(module, taps).detach().to("cpu", torch.float64).reshape(-1).numpy().copy()


def forward(module: nn.Module, x: torch.Tensor):
    return call(f"{FILTER}.forward", module, x, detail=f"on an input of shape {tuple(x.shape)}")


def dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def summary(value, values: bool = True) -> dict:
    """What the student's code returned, as plain data: type, and for a tensor its shape, dtype,
    device and (values=True) its numbers as a numpy array."""
    if not isinstance(value, torch.Tensor):
        return {"tensor": False, "type": type(value).__name__}
    data = {"tensor": True, "type": type(value).__name__, "shape": list(value.shape),
            "dtype": dtype_name(value.dtype), "device": str(value.device)}
    if values and value.device.type != "meta":
        plain = value.detach().to("cpu")
        if plain.dtype in (torch.bfloat16, torch.float16):
            plain = plain.float()  # numpy has no bfloat16; the dtype is reported above
        if plain.is_complex() or plain.dtype.is_floating_point or plain.dtype in (torch.int32, torch.int64):
            data["values"] = plain.numpy().copy()
    return data


@contextmanager
def seeded(seed: int = 0):
    """Seed every RNG a student may use (random initial taps) and restore them afterwards, so each
    operation is deterministic and leaves the notebook's random state as it was."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    gpus = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=gpus):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
