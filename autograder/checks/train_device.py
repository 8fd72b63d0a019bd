"""The device check of train: every batch, x and y, is moved to the `device` argument before use.

Without a GPU a forgotten .to(device) changes nothing, so the check marks the batches instead: the
loader yields _Unmoved tensors, and moving one to the device gives a plain tensor. The
grader's model and loss note which kind they receive. The moves are only pretended (the data stays on
the CPU), so train can be called with device "cuda" on any machine: `x.to(device)`, `x.to(device=device)`
and `x.cuda() if device == "cuda" else x` count as moved, `x.to("cpu")` does not. If the student's loop
needs a real GPU for "cuda" (it creates a tensor with device=device), the check runs again with device
"cpu", where only an explicit move (.to(device), .cpu()) counts.
"""

import torch
import torch.nn.functional as F
from torch import nn

from lab2a.autograder.sandbox import student

from lab2a.autograder.judge import training
from lab2a.autograder.judge.training import Scenario
from lab2a.autograder.judge.verdict import StudentError, Verdict, failed, passed

SCENARIO = Scenario(seed=7, pairs=10, length=16, batch_size=4, n_epochs=2)


def _target(func, args, kwargs) -> str | None:
    """The device type a .to(...)/.cuda()/.cpu() call asks for, or None (e.g. .to(torch.float64))."""
    if func is torch.Tensor.cuda:
        return "cuda"
    if func is torch.Tensor.cpu:
        return "cpu"
    device = kwargs.get("device", next((a for a in args[1:] if isinstance(a, (str, torch.device, int))), None))
    return None if device is None else torch.device(device).type


class _Unmoved(torch.Tensor):
    """A batch tensor as the loader yields it, not yet moved to `device` (set by the subclasses)."""
    device_type = None

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.Tensor.to, torch.Tensor.cuda, torch.Tensor.cpu) and _target(func, args, kwargs) == cls.device_type:
            plain = args[0].as_subclass(torch.Tensor)  # moved: a plain tensor, but left on the CPU
            dtype = kwargs.get("dtype") or next((a for a in args[1:] if isinstance(a, torch.dtype)), None)
            return plain.to(dtype) if dtype is not None else plain
        return super().__torch_function__(func, types, args, kwargs)


class _NotOnCuda(_Unmoved):
    device_type = "cuda"


class _NotOnCpu(_Unmoved):
    device_type = "cpu"


def _collate(kind: type):
    return lambda pairs: tuple(torch.stack(list(items)).as_subclass(kind) for items in zip(*pairs))


def _plain(t: torch.Tensor) -> torch.Tensor:
    return t.as_subclass(torch.Tensor)


class _NotingModel(nn.Module):
    """One learnable gain. Notes, per call, whether its input is an unmoved batch; stays on the CPU
    when train moves it (estimator.to(device) is fine, not needed)."""

    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(0.5))
        self.unmoved = []

    def to(self, *args, **kwargs):
        return self

    cuda = cpu = to

    def forward(self, x):
        self.unmoved.append(isinstance(x, _Unmoved))
        return self.gain * _plain(x)


class _NotingLoss(nn.Module):
    """MSE. Notes, per call, whether an argument is an unmoved batch (the target, or an unmoved input
    passed through)."""

    def __init__(self):
        super().__init__()
        self.unmoved = []

    def forward(self, a, b):
        self.unmoved.append(isinstance(a, _Unmoved) or isinstance(b, _Unmoved))
        return F.mse_loss(_plain(a), _plain(b))


def _run(train, device: str) -> dict:
    net, loss = _NotingModel(), _NotingLoss()
    batches = _collate(_NotOnCuda if device == "cuda" else _NotOnCpu)
    student.call("train", train, net, training.loader(SCENARIO, collate_fn=batches),
                 torch.optim.SGD(net.parameters(), lr=0.01), loss, SCENARIO.n_epochs, device,
                 detail=f"(with device={device!r})")
    return {"device": device, "inputs": net.unmoved, "targets": loss.unmoved}


def probe_device(namespace: dict) -> dict:
    train = student.train_function(namespace)
    try:
        return _run(train, "cuda")
    except StudentError as error:
        if "cuda" not in error.text.lower() and "nvidia" not in error.text.lower():
            raise
        return _run(train, "cpu")  # the loop needs a real GPU for "cuda"


def judge_device(data: dict) -> Verdict:
    inputs, targets, device = data["inputs"], data["targets"], data["device"]
    if not inputs:
        return failed("train never called the estimator: for each batch (x, y) of train_loader, compute "
                      "loss_fn(estimator(x), y).")
    if any(inputs):
        return failed(f"With device={device!r}, train gives the estimator batches x that were not moved to the "
                      f"device ({sum(inputs)} of {len(inputs)} calls): move each batch first, x = x.to(device), "
                      f"where the model is (a GPU in the lab).")
    if not targets:
        return failed("train never called loss_fn: the loss is loss_fn(estimator(x), y).")
    if any(targets):
        return failed(f"With device={device!r}, train gives loss_fn targets y that were not moved to the device "
                      f"({sum(targets)} of {len(targets)} calls): move y too, y = y.to(device).")
    return passed("every batch, x and y, is moved to the device before use")


CHECKS = {
    "train_device": (probe_device, judge_device),
}
