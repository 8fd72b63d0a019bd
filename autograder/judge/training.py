"""The grader's own training setup, for the train checks: a seeded data set and loader, a small model,
and the reference training loop, together with the mistakes students make in it, so that a wrong
trajectory can be recognised.

Both sides build everything from a Scenario: the probe hands it to the student's train, the judge
runs the reference loop on it. Nothing here is the student's code.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


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
        optimizer = f"SGD (lr {self.lr}, momentum {self.momentum})" if self.optimizer == "sgd" else f"Adam (lr {self.lr})"
        return (f"{self.pairs} pairs in shuffled batches of {self.batch_size} (the last one holds {last}), "
                f"n_epochs={self.n_epochs}, {optimizer}, {'MSELoss' if self.loss == 'mse' else 'L1Loss'}")


def dataset(s: Scenario) -> TensorDataset:
    """Noise in, a smoothed copy plus noise out, each pair of shape (1, length) like the lab's."""
    rng = np.random.default_rng([s.seed, 0])
    x = rng.standard_normal((s.pairs, 1, s.length))
    y = 0.6 * x + 0.3 * np.roll(x, 1, axis=-1) - 0.2 * np.roll(x, 2, axis=-1) + 0.1 * rng.standard_normal(x.shape)
    return TensorDataset(torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32)))


def loader(s: Scenario, collate_fn=None) -> DataLoader:
    # A seeded generator: the same order of batches in the student's process and in the judge's.
    return DataLoader(dataset(s), batch_size=s.batch_size, shuffle=True, collate_fn=collate_fn,
                      generator=torch.Generator().manual_seed(s.seed))


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


# ---- the reference loop and its mistakes ----------------------------------------------------------------

LOOP_MISTAKES = {
    "no zero_grad": "gradients accumulate from batch to batch: call optimizer.zero_grad() for every batch, "
                    "before loss.backward() (or after optimizer.step())",
    "no step": "the parameters never change: call optimizer.step() after loss.backward()",
    "skip last": "the last, shorter batch of each epoch is left out: train on every batch the loader gives",
    "after step": "the losses are computed after optimizer.step(): record loss.item() of the loss you called "
                  "backward() on, as the batch was trained on",
}


@dataclass(frozen=True)
class Run:
    epochs: list       # per epoch, per batch: (loss.item(), batch size)
    parameters: dict   # the model's parameters after training


FROZEN_RUNS = Path(__file__).with_name("frozen_runs.json")


def reference_run(s: Scenario, mistake: str | None = None) -> Run:
    """The reference loop's run of the scenario (with a mistake made on purpose, if given).

    Computed by reference_loop.py where the grader has it; read from frozen_runs.json in a
    student-facing copy, which must not contain a complete training loop (see freeze_runs).
    """
    try:
        from lab2a.autograder.private.reference_loop import run
    except ImportError:
        frozen = json.loads(FROZEN_RUNS.read_text())[_key(s, mistake)]
        return Run([[tuple(batch) for batch in epoch] for epoch in frozen["epochs"]],
                   {name: np.array(value, np.float64) for name, value in frozen["parameters"].items()})
    return run(s, mistake)


def _key(s: Scenario, mistake: str | None) -> str:
    return f"{s!r} / {mistake}"


def freeze_runs(scenarios, path: Path) -> None:
    """Write the reference runs of these scenarios, with every loop mistake, for a student-facing copy."""
    frozen = {}
    for s in scenarios:
        for mistake in (None, *LOOP_MISTAKES):
            run = reference_run(s, mistake)
            frozen[_key(s, mistake)] = {"epochs": run.epochs,
                                        "parameters": {k: v.tolist() for k, v in run.parameters.items()}}
    path.write_text(json.dumps(frozen))


def _running_mean(epochs):
    values, total, count = [], 0.0, 0
    for batches in epochs:
        total += sum(v for v, _ in batches)
        count += len(batches)
        values.append(total / count)
    return values


def _unreset_sum(epochs):
    values, total = [], 0.0
    for batches in epochs:
        total += sum(v for v, _ in batches)
        values.append(total / len(batches))
    return values


def epoch_means(epochs) -> list:
    """What train returns: per epoch, the mean of that epoch's batch losses."""
    return [sum(v for v, _ in batches) / len(batches) for batches in epochs]


# How a loop may turn its batch losses into the returned list, wrongly, and what to say.
SUMMARY_MISTAKES = {
    "each epoch's value weights the batch losses by batch size (sum of loss * len(x) / number of samples); "
    "return the plain mean of the epoch's batch losses, sum(batch_losses) / len(batch_losses)":
        lambda epochs: [sum(v * b for v, b in e) / sum(b for _, b in e) for e in epochs],
    "each value is the sum of the epoch's batch losses: divide by the number of batches":
        lambda epochs: [sum(v for v, _ in e) for e in epochs],
    "each value is the epoch's last batch loss: return the mean over all the epoch's batches":
        lambda epochs: [e[-1][0] for e in epochs],
    "the running sum and count are not reset at the start of each epoch: start each epoch from zero":
        _running_mean,
    "the running sum is not reset at the start of each epoch: start each epoch's sum from zero":
        _unreset_sum,
}
