"""The reference training runs the train checks compare with, and the mistakes students make in a
training loop, so that a wrong run can be named.

The scenarios (model, data, loader, optimizer, loss) are sandbox/scenario.py's, so the student's loop
and the reference loop start from the same numbers. The reference loop itself is private: it answers
the lab's first task. A copy of the grader without it (a student's kit) reads the runs it needs from
frozen_runs.json instead (freeze_runs writes it, for the public scenarios only).
"""

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lab2a.autograder.judge.causes import Cause
from lab2a.autograder.sandbox.scenario import MAX_EVENTS, Scenario

# the mistakes the reference loop can make on purpose (private/reference_loop.py), by name
LOOP_MISTAKES = {
    "no zero_grad": Cause("no-zero-grad", "gradients accumulate from batch to batch: call optimizer.zero_grad() for "
                                          "every batch, before loss.backward() (or after optimizer.step())"),
    "no step": Cause("no-step", "the parameters never change: call optimizer.step() after loss.backward()"),
    "skip last": Cause("skip-last", "the last, shorter batch of each epoch is left out: train on every batch the "
                                    "loader gives"),
    "after step": Cause("after-step", "the losses are computed after optimizer.step(): record loss.item() of the "
                                      "loss you called backward() on, as the batch was trained on"),
}


@dataclass(frozen=True)
class Run:
    epochs: list       # per epoch, per batch: (loss.item(), batch size)
    parameters: dict   # the model's parameters after training


FROZEN_RUNS = Path(__file__).with_name("frozen_runs.json")


def for_key(s: Scenario, key: int) -> Scenario:
    """The scenario with its seed mixed with the grading key (key 0: the public scenario itself)."""
    return s if key == 0 else replace(s, seed=int(np.random.default_rng([s.seed, key]).integers(1 << 31)))


def _key(s: Scenario, mistake: str | None) -> str:
    return f"{s!r} / {mistake}"


def reference_run(s: Scenario, mistake: str | None = None) -> Run:
    """The reference loop's run of the scenario (with a mistake made on purpose, if given)."""
    try:
        from lab2a.autograder.private.reference_loop import run
    except ImportError:
        frozen = json.loads(FROZEN_RUNS.read_text())[_key(s, mistake)]
        return Run([[tuple(batch) for batch in epoch] for epoch in frozen["epochs"]],
                   {name: np.array(value, np.float64) for name, value in frozen["parameters"].items()})
    return run(s, mistake)


def freeze_runs(scenarios, path: Path) -> None:
    """Write the reference runs of these scenarios, with every loop mistake, for a copy without the loop."""
    frozen = {}
    for s in scenarios:
        for mistake in (None, *LOOP_MISTAKES):
            result = reference_run(s, mistake)
            frozen[_key(s, mistake)] = {"epochs": result.epochs,
                                        "parameters": {k: v.tolist() for k, v in result.parameters.items()}}
    path.write_text(json.dumps(frozen))


def epoch_means(epochs) -> list:
    """What train returns: per epoch, the mean of that epoch's batch losses."""
    return [sum(v for v, _ in batches) / len(batches) for batches in epochs]


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


# How a loop may turn its batch losses into the returned list, wrongly, and what to say.
SUMMARY_MISTAKES = {
    Cause("epoch-loss-weighted-by-batch-size", "each epoch's value weights the batch losses by batch size (sum of "
          "loss * len(x) / number of samples); return the plain mean of the epoch's batch losses, "
          "sum(batch_losses) / len(batch_losses)"):
        lambda epochs: [sum(v * b for v, b in e) / sum(b for _, b in e) for e in epochs],
    Cause("epoch-loss-summed", "each value is the sum of the epoch's batch losses: divide by the number of batches"):
        lambda epochs: [sum(v for v, _ in e) for e in epochs],
    Cause("epoch-loss-last-batch", "each value is the epoch's last batch loss: return the mean over all the epoch's "
          "batches"):
        lambda epochs: [e[-1][0] for e in epochs],
    Cause("running-mean-not-reset", "the running sum and count are not reset at the start of each epoch: start each "
          "epoch from zero"):
        _running_mean,
    Cause("running-sum-not-reset", "the running sum is not reset at the start of each epoch: start each epoch's sum "
          "from zero"):
        _unreset_sum,
}


def events_cause(events: str, s: Scenario, counts: bool = True) -> Cause | None:
    """What the recorded events of the student's loop (sandbox/scenario.py: n batch, f forward, l loss,
    b backward, z zero_grad, s step) say is wrong, if anything; counts=False: only the order of the calls,
    not how many steps were taken. For messages only: the events come from the student's process, so
    they never decide a point."""
    if not isinstance(events, str) or not events:
        return None
    batches = [segment for segment in events.split("n")[1:]]
    trained = [segment for segment in batches if "s" in segment]
    if "b" not in events:
        return Cause("no-backward", "train never calls loss.backward(), so no gradient is computed")
    if "s" not in events:
        return LOOP_MISTAKES["no step"]
    if "z" not in events:
        return LOOP_MISTAKES["no zero_grad"]
    for segment in trained:
        after_backward = segment[segment.rfind("b"):] if "b" in segment else ""
        if "z" in after_backward and after_backward.find("z") < after_backward.find("s"):
            return Cause("zero-grad-between-backward-and-step", "optimizer.zero_grad() is called between "
                         "loss.backward() and optimizer.step(), so the step finds no gradient: zero the gradients "
                         "before backward() (or after step())")
        if "b" in segment and segment.find("s") < segment.find("b"):
            return Cause("step-before-backward", "optimizer.step() comes before loss.backward(): each step applies "
                         "the previous batch's gradient. Per batch: zero_grad(), loss, backward(), step()")
    if counts and len(events) < MAX_EVENTS:   # a full record was cut short: its counts say nothing
        expected = s.batches * s.n_epochs
        if len(trained) < expected:
            return Cause("wrong-number-of-steps", f"train took {len(trained)} optimizer steps where {s.n_epochs} "
                         f"epochs of {s.batches} batches take {expected}: train on every batch of every epoch")
        if len(trained) > expected:
            return Cause("wrong-number-of-steps", f"train took {len(trained)} optimizer steps where {s.n_epochs} "
                         f"epochs of {s.batches} batches take {expected}: one step per batch, n_epochs epochs")
    return None
