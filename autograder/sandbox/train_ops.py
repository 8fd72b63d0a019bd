"""The operations on the student's train: a run on a training scenario (sandbox/scenario.py), and the device
check (below). Each returns plain data; none knows a right answer (ops.py).
"""

import numbers

import torch
from torch import nn

from lab2a.autograder.sandbox import student
from lab2a.autograder.sandbox.devices import Moves
from lab2a.autograder.sandbox.scenario import Recorder, Scenario, loader, parameters, recorded
from lab2a.autograder.sandbox.student import StudentError


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
# mode (devices.Moves) that notes which tensors are on the device: what x.to(device), x.cuda() (for "cuda"), x.cpu()
# (for "cpu") or a factory with device=device returns, and what torch computes from them as a GPU would place
# it (on the device when every input of more than one element is; a 0-dim tensor goes with the others). The
# notes are a table of the tensors themselves, kept in the mode, not a type a tensor carries: a student's
# code can't tag a batch as moved (an `as_subclass` of a moved tensor's type) without moving it. The model
# and the loss look their inputs up. A batch copied without a device (torch.tensor(x), torch.as_tensor(x), a
# numpy round trip) is not moved. The moves are only pretended (the data stays on the CPU), so train can be
# called with device "cuda" on any machine. If the loop needs a real GPU for "cuda" anyway, the check runs
# again with device "cpu".



class _NotingModel(nn.Module):
    """One learnable gain; notes whether each input was moved to the device. Stays on the CPU when train
    moves it (estimator.to(device) is fine, not needed)."""

    def __init__(self, moves: Moves):
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

    def __init__(self, moves: Moves):
        super().__init__()
        self.moves, self.unmoved = moves, []

    def forward(self, a, b):
        self.unmoved.append(not (self.moves.moved(a) and self.moves.moved(b)))
        return nn.functional.mse_loss(a, b)


def _device_run(train, s: Scenario, device: str) -> dict:
    moves = Moves(device)
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
