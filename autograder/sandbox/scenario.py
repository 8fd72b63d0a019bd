"""The grader's training setup for the train checks: a seeded data set and loader, a small model, an
optimizer and a loss, all built from a Scenario (plain numbers).

The sandbox builds it to hand it to the student's train; the judge builds the same to run the
reference loop in its own process. None of it answers the lab's tasks: it is what the student's loop
is given, never how to loop.

The loader serves its batches in one fixed, shuffled order on every pass: a loop that peeks at a
batch, or a progress bar that iterates the loader once more, trains on exactly the batches the
reference does.
"""

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler, TensorDataset, default_collate


@dataclass(frozen=True)
class Scenario:
    seed: int
    pairs: int
    length: int
    batch_size: int
    n_epochs: int
    optimizer: str = "sgd"   # "sgd" or "adam"
    lr: float = 0.05
    momentum: float = 0.0
    loss: str = "mse"        # "mse" or "l1"

    @property
    def batches(self) -> int:
        return -(-self.pairs // self.batch_size)

    def describe(self) -> str:
        last = self.pairs - (self.batches - 1) * self.batch_size
        optimizer = (f"SGD (lr {self.lr}, momentum {self.momentum})" if self.optimizer == "sgd"
                     else f"Adam (lr {self.lr})")
        return (f"{self.pairs} pairs in shuffled batches of {self.batch_size} (the last one holds {last}), "
                f"n_epochs={self.n_epochs}, {optimizer}, {'MSELoss' if self.loss == 'mse' else 'L1Loss'}")

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Scenario":
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def dataset(s: Scenario) -> TensorDataset:
    """Noise in, a smoothed copy plus noise out, each pair of shape (1, length) like the lab's."""
    rng = np.random.default_rng([s.seed, 0])
    x = rng.standard_normal((s.pairs, 1, s.length))
    y = 0.6 * x + 0.3 * np.roll(x, 1, axis=-1) - 0.2 * np.roll(x, 2, axis=-1) + 0.1 * rng.standard_normal(x.shape)
    return TensorDataset(torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32)))


class FixedOrder(Sampler):
    """One seeded permutation, the same on every pass; `passes` counts them (for messages only)."""

    def __init__(self, size: int, seed: int):
        self.order = [int(i) for i in np.random.default_rng([seed, 2]).permutation(size)]
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        return iter(self.order)

    def __len__(self):
        return len(self.order)


def loader(s: Scenario, collate_fn=None) -> DataLoader:
    return DataLoader(dataset(s), batch_size=s.batch_size, sampler=FixedOrder(s.pairs, s.seed),
                      collate_fn=collate_fn)


class SmallNet(nn.Module):
    """The grader's model, not the student's filter: conv (1 -> 3 channels, 5 taps), tanh, conv (3 -> 1,
    3 taps), with biases. Nonlinear, with several parameter tensors, so a loop's mistakes show."""

    def __init__(self, seed: int):
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # nn.Conv1d's own initialisation draws from the global RNG
            self.first = nn.Conv1d(1, 3, 5, padding=2)
            self.second = nn.Conv1d(3, 1, 3, padding=1)
        rng = np.random.default_rng([seed, 1])
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.from_numpy(0.4 * rng.standard_normal(tuple(p.shape))))

    def forward(self, x):
        return self.second(torch.tanh(self.first(x)))


def model(s: Scenario) -> SmallNet:
    return SmallNet(s.seed)


def optimizer(s: Scenario, net: nn.Module) -> torch.optim.Optimizer:
    if s.optimizer == "adam":
        return torch.optim.Adam(net.parameters(), lr=s.lr)
    return torch.optim.SGD(net.parameters(), lr=s.lr, momentum=s.momentum)


def loss_fn(s: Scenario) -> nn.Module:
    return nn.L1Loss() if s.loss == "l1" else nn.MSELoss()


def parameters(net: nn.Module) -> dict:
    return {name: p.detach().to("cpu", torch.float64).numpy().copy() for name, p in net.named_parameters()}


# ---- what the student's loop did, for messages only --------------------------------------------------------

MAX_EVENTS = 4000
# n: a batch is fetched, f: the model is called, l: the loss, b: a backward pass reaches the model,
# z: gradients zeroed, s: optimizer step
EVENTS = {"n": "batch", "f": "forward", "l": "loss", "b": "backward", "z": "zero_grad", "s": "step"}


class Recorder:
    """Notes what a training loop does, in order, without changing any number it computes."""

    def __init__(self):
        self.events = []

    def note(self, event: str) -> None:
        if len(self.events) < MAX_EVENTS:
            self.events.append(event)

    def text(self) -> str:
        return "".join(self.events)


class _RecordingLoss(nn.Module):
    def __init__(self, inner: nn.Module, recorder: Recorder):
        super().__init__()
        self.inner, self.recorder = inner, recorder

    def forward(self, *args, **kwargs):
        self.recorder.note("l")
        return self.inner(*args, **kwargs)


def recorded(s: Scenario, recorder: Recorder):
    """(model, loader, optimizer, loss) of the scenario, each noting what is done with it."""
    def recording_collate(batch):
        recorder.note("n")
        return default_collate(batch)

    net, data = model(s), loader(s, collate_fn=recording_collate)
    opt = optimizer(s, net)
    net.register_forward_pre_hook(lambda module, args: recorder.note("f"))
    next(reversed(list(net.parameters()))).register_hook(lambda grad: recorder.note("b"))
    opt.register_step_pre_hook(lambda optimizer, args, kwargs: recorder.note("s"))
    for owner in (opt, net):
        zero_grad = owner.zero_grad

        def recording_zero_grad(*args, _zero_grad=zero_grad, **kwargs):
            recorder.note("z")
            return _zero_grad(*args, **kwargs)
        owner.zero_grad = recording_zero_grad
    return net, data, opt, _RecordingLoss(loss_fn(s), recorder)
