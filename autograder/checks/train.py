"""The checks of train: on the grader's model and data the student's loop must leave the model with the
reference loop's parameters and return the reference loop's epoch losses; and it must move every batch
to the device.

The lab's definition: train(estimator, train_loader, optimizer, loss_fn, n_epochs, device) runs
mini-batch training, moving each batch (x, y) to `device`, and returns per epoch the mean of that
epoch's batch losses (loss.item() of each batch as it was trained on).

The student's loop runs in the sandbox (ops.train_run); the reference loop runs here, on the same
scenario, in the grader's process.
"""

import numpy as np

from lab2a.autograder.judge.causes import Cause
from lab2a.autograder.judge.training import (
    LOOP_MISTAKES,
    SUMMARY_MISTAKES,
    epoch_means,
    events_cause,
    for_key,
    reference_run,
)
from lab2a.autograder.judge.verdict import Failed, data_of
from lab2a.autograder.sandbox.scenario import Scenario

# Trajectory tolerance. The student's loop runs the same float32 operations on the same batches in the
# same order as the reference, so losses and parameters agree to the bit, or to ~1e-6 when conv kernels
# reduce in another order (another thread count: measured 1.5e-7 on the losses, 7e-7 on the parameters);
# an epoch's mean of batch losses differs by float64 rounding (~1e-16) or, accumulated in a float32
# tensor, by ~1e-7. 1e-5 relative is over 10x that, while the smallest mistake (a short batch weighted
# differently, the loss taken after the step, no zero_grad with Adam) moves the losses by over 1e-2.
RTOL = 1e-5

TRAJECTORY = Scenario(seed=2024, pairs=40, length=64, batch_size=12, n_epochs=3, optimizer="sgd",
                      lr=0.05, momentum=0.9, loss="mse")


def _run(ask, key, memo, base: Scenario):
    """(scenario, what the student's train did, the reference run), asked once per check."""
    if "run" not in memo:
        s = for_key(base, key)
        memo["run"] = (s, data_of(ask("train_run", scenario=s.as_dict())), reference_run(s))
    return memo["run"]


def _close(got: list, expected: list) -> bool:
    return len(got) == len(expected) and all(
        g is not None and abs(g - e) <= RTOL * abs(e) + 1e-12 for g, e in zip(got, expected))


def _difference(got: dict, expected: dict) -> tuple[float, str] | None:
    """The largest relative difference between two sets of parameters and where; None if they agree."""
    if set(got) != set(expected):
        return float("inf"), "the model's parameters"
    worst = (0.0, "")
    for name, want in expected.items():
        have = np.asarray(got[name], np.float64)
        if have.shape != want.shape or not np.isfinite(have).all():
            return float("inf"), name
        relative = float(np.max(np.abs(have - want))) / max(float(np.max(np.abs(want))), 1e-30)
        worst = max(worst, (relative, name))
    return worst if worst[0] > RTOL else None


def _numbers(values: list) -> str:
    return "[" + ", ".join("?" if v is None else f"{v:.6g}" for v in values) + "]"


def _loop_cause(s: Scenario, student: dict) -> Cause | None:
    """What the recorded events show the loop did wrong, or the loop mistake whose run leaves the student's
    parameters (events first: two mistakes can leave the same parameters, e.g. no step and zeroing the
    gradients between backward and step)."""
    cause = events_cause(student.get("events", ""), s, counts=False)
    if cause:
        return cause
    for mistake, known in LOOP_MISTAKES.items():
        if mistake != "after step" and _difference(student["parameters"], reference_run(s, mistake).parameters) is None:
            return known
    return events_cause(student.get("events", ""), s)


GENERIC = ("per batch: move x and y to the device, optimizer.zero_grad(), loss = loss_fn(estimator(x), y), "
           "loss.backward(), optimizer.step()")
TRAINING_DIFFERS = Cause("training-differs", GENERIC)   # no known mistake explains the parameters


def training(ask, key, memo, base: Scenario = TRAJECTORY) -> None:
    s, student, correct = _run(ask, key, memo, base)
    difference = _difference(student["parameters"], correct.parameters)
    if difference is None:
        return
    size, name = difference
    said = ("differ" if size == float("inf") else
            f"differ from the reference loop's (by {size:.3g} of its size in {name})")
    cause = _loop_cause(s, student) or TRAINING_DIFFERS
    raise Failed(f"Training the grader's small model with {s.describe()}: after train the model's parameters {said}. "
                 f"Likely cause: {cause.text}.", cause=cause.key)


def epoch_losses(ask, key, memo, base: Scenario = TRAJECTORY) -> None:
    s, student, correct = _run(ask, key, memo, base)
    setting = f"Training the grader's small model with {s.describe()}"
    returned = student["returned"]
    if returned["type"] not in ("list", "tuple"):
        hint = " (is the `return history` missing?)" if returned["type"] == "NoneType" else ""
        raise Failed(f"{setting}: train returned {returned['type']}{hint}; expected a list with one float per epoch, "
                     f"the mean of that epoch's batch losses.",
                     cause="no-return" if returned["type"] == "NoneType" else "returned-not-a-list")
    values, kinds = returned["values"], returned["item_types"]
    if not all(returned["numbers"]):
        odd = next(kind for kind, ok in zip(kinds, returned["numbers"]) if not ok)
        hint = " Use loss.item(), a Python float: a tensor keeps its whole graph alive." if odd == "Tensor" else ""
        raise Failed(f"{setting}: train returned a list of {odd}; expected Python floats.{hint}",
                     cause="returned-non-floats")
    expected = epoch_means(correct.epochs)
    if len(values) != s.n_epochs:
        per_batch = [v for batches in correct.epochs for v, _ in batches]
        if _close(values, per_batch):
            raise Failed(f"{setting}: train returned {len(values)} values, one per batch; expected {s.n_epochs}, one "
                         f"per epoch: the mean of each epoch's batch losses.", cause="loss-per-batch")
        extra = " Is an epoch missing? Loop `for epoch in range(n_epochs)`." if len(values) == s.n_epochs - 1 else ""
        raise Failed(f"{setting}: train returned {len(values)} value{'s' if len(values) != 1 else ''} for "
                     f"{s.n_epochs} epochs; expected one per epoch.{extra}", cause="wrong-number-of-epochs")
    if _close(values, expected):
        return
    cause = _values_cause(s, student, values, correct)
    raise Failed(f"{setting}: expected the epoch losses {_numbers(expected)}, got {_numbers(values)}. Likely cause: "
                 f"{cause.text}.", cause=cause.key)


NOT_MEANS = Cause("epoch-losses-not-means", "the model is trained right, but the returned values are not the means of "
                  "each epoch's batch losses: append loss.item() of every batch, and per epoch return "
                  "sum(batch_losses) / len(batch_losses)")


def _values_cause(s: Scenario, student: dict, values: list, correct) -> Cause:
    """Why the returned values differ: a summary mistake on a right run, or the loop mistake behind them."""
    trained_right = _difference(student["parameters"], correct.parameters) is None
    if trained_right:  # "after step" trains right too, and returns other losses
        runs = [(None, correct), ("after step", reference_run(s, "after step"))]
    elif events_cause(student.get("events", ""), s, counts=False):
        return events_cause(student.get("events", ""), s, counts=False)
    else:
        runs = [(m, run) for m in LOOP_MISTAKES if m != "after step"
                if _difference(student["parameters"], (run := reference_run(s, m)).parameters) is None]
    for mistake, run in runs:
        if mistake is not None and _close(values, epoch_means(run.epochs)):
            return LOOP_MISTAKES[mistake]
        for summary, summarise in SUMMARY_MISTAKES.items():
            if _close(values, summarise(run.epochs)):  # on a wrong run, the loop's mistake is counted
                loop = LOOP_MISTAKES.get(mistake)
                return summary if loop is None else Cause(loop.key, f"{loop.text}; and {summary.text}")
    if trained_right:
        return NOT_MEANS
    return _loop_cause(s, student) or Cause(TRAINING_DIFFERS.key, "the training differs from the reference loop: "
                                            + GENERIC)


# ---- the device ------------------------------------------------------------------------------------------

DEVICE_SCENARIO = Scenario(seed=7, pairs=10, length=16, batch_size=4, n_epochs=2)


def device(ask, key, memo) -> None:
    data = data_of(ask("train_device", scenario=for_key(DEVICE_SCENARIO, key).as_dict()))
    inputs, targets, where = data["inputs"], data["targets"], data["device"]
    if not inputs:
        raise Failed("train never called the estimator: for each batch (x, y) of train_loader, compute "
                     "loss_fn(estimator(x), y).", cause="estimator-never-called")
    if any(inputs):
        raise Failed(f"With device={where!r}, train gives the estimator batches x that were not moved to the device "
                     f"({sum(inputs)} of {len(inputs)} calls): move each batch first, x = x.to(device), where the "
                     f"model is (a GPU in the lab).", cause="batches-not-on-device")
    if not targets:
        raise Failed("train never called loss_fn: the loss is loss_fn(estimator(x), y).", cause="loss-fn-never-called")
    if any(targets):
        raise Failed(f"With device={where!r}, train gives loss_fn targets y that were not moved to the device "
                     f"({sum(targets)} of {len(targets)} calls): move y too, y = y.to(device).",
                     cause="targets-not-on-device")


PARTS = {
    "train_trajectory": {"training": training, "epoch losses": epoch_losses},
    "train_device": {"device": device},
}
