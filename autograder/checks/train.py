"""The trajectory check of train: on the grader's model and data, the student's loop must return the
reference loop's epoch losses and leave the model with the reference loop's parameters.

The lab's definition: train(estimator, train_loader, optimizer, loss_fn, n_epochs, device) runs
mini-batch training, moving each batch (x, y) to `device`, and returns per epoch the mean of that
epoch's batch losses (loss.item() of each batch as it was trained on).
"""

import numbers

import numpy as np
import torch

from lab2a.autograder.sandbox import student

from lab2a.autograder.judge import training
from lab2a.autograder.judge.training import LOOP_MISTAKES, SUMMARY_MISTAKES, Scenario, epoch_means, reference_run
from lab2a.autograder.judge.verdict import Verdict, failed, passed

# Trajectory tolerance. The student's loop runs the same float32 operations on the same batches in the
# same order as the reference, so losses and parameters agree to the bit, or to ~1e-6 when conv kernels
# reduce in another order (another thread count: measured 1.5e-7 on the losses, 7e-7 on the parameters);
# an epoch's mean of batch losses differs by float64 rounding (~1e-16) or, accumulated in a float32
# tensor, by ~1e-7. 1e-5 relative is over 10x that, while the smallest mistake (a short batch weighted
# differently, the loss taken after the step, no zero_grad with Adam) moves the losses by over 1e-2.
RTOL = 1e-5

TRAJECTORY = Scenario(seed=2024, pairs=40, length=64, batch_size=12, n_epochs=3, optimizer="sgd",
                      lr=0.05, momentum=0.9, loss="mse")

def _returned(value) -> dict:
    """train's return value as plain data: its type, and the items as floats where they convert."""
    data = {"type": type(value).__name__}
    if isinstance(value, (list, tuple)):
        data["item_types"] = [type(v).__name__ for v in value]
        data["numbers"] = [isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value]
        data["values"] = [_as_float(v) for v in value]
    return data


def _as_float(value) -> float | None:
    try:
        return float(value.detach() if isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError, RuntimeError):
        return None


def probe_trajectory(namespace: dict, s: Scenario = TRAJECTORY) -> dict:
    train = student.train_function(namespace)
    net = training.model(s)
    result = student.call("train", train, net, training.loader(s), training.optimizer(s, net),
                          training.loss_fn(s), s.n_epochs, "cpu")
    return {"returned": _returned(result), "parameters": training.parameters(net)}


def _close(got: list, expected: list) -> bool:
    return len(got) == len(expected) and all(
        g is not None and abs(g - e) <= RTOL * abs(e) + 1e-12 for g, e in zip(got, expected))


def _same_parameters(got: dict, expected: dict) -> bool:
    if set(got) != set(expected):
        return False
    for name, want in expected.items():
        have = np.asarray(got[name], np.float64)
        if have.shape != want.shape or not np.isfinite(have).all():
            return False
        if np.max(np.abs(have - want)) > RTOL * max(np.max(np.abs(want)), 1e-30):
            return False
    return True


def _numbers(values: list) -> str:
    return "[" + ", ".join("?" if v is None else f"{v:.6g}" for v in values) + "]"


def judge_trajectory(data: dict, s: Scenario = TRAJECTORY) -> Verdict:
    setting = f"Training the grader's small model with {s.describe()}"
    returned = data["returned"]
    if returned["type"] not in ("list", "tuple"):
        hint = " (is the `return history` missing?)" if returned["type"] == "NoneType" else ""
        return failed(f"{setting}: train returned {returned['type']}{hint}; expected a list with one float "
                      f"per epoch, the mean of that epoch's batch losses.")
    values, kinds = returned["values"], returned["item_types"]
    if not all(returned["numbers"]):
        odd = next(kind for kind, ok in zip(kinds, returned["numbers"]) if not ok)
        hint = (" Use loss.item(), a Python float: a tensor keeps its whole graph alive." if odd == "Tensor"
                else "")
        return failed(f"{setting}: train returned a list of {odd}; expected Python floats.{hint}")
    correct = reference_run(s)
    expected = epoch_means(correct.epochs)
    if len(values) != s.n_epochs:
        per_batch = [v for batches in correct.epochs for v, _ in batches]
        if _close(values, per_batch):
            return failed(f"{setting}: train returned {len(values)} values, one per batch; expected "
                          f"{s.n_epochs}, one per epoch: the mean of each epoch's batch losses.")
        extra = " Is an epoch missing? Loop `for epoch in range(n_epochs)`." if len(values) == s.n_epochs - 1 else ""
        return failed(f"{setting}: train returned {len(values)} value{'s' if len(values) != 1 else ''} for "
                      f"{s.n_epochs} epochs; expected one per epoch.{extra}")
    right_values = _close(values, expected)
    right_parameters = _same_parameters(data["parameters"], correct.parameters)
    if right_values and right_parameters:
        return passed(f"the epoch losses and the trained parameters equal the reference loop's ({s.n_epochs} epochs)")
    report = f"expected the epoch losses {_numbers(expected)}, got {_numbers(values)}"
    cause = _trajectory_cause(s, data["parameters"], values, correct)
    if right_values:
        return failed(f"{setting}: the epoch losses are right, but the trained parameters differ from the "
                      f"reference loop's. {cause or 'Does train change the model after the last batch?'}")
    return failed(f"{setting}: {report}. Likely cause: {cause or _generic_cause(right_parameters)}.")


def _trajectory_cause(s: Scenario, parameters: dict, values: list, correct: training.Run) -> str | None:
    """The loop mistake and/or summary mistake that reproduce the student's result."""
    runs = [(None, correct)] + [(mistake, reference_run(s, mistake)) for mistake in LOOP_MISTAKES]
    runs = [(mistake, run) for mistake, run in runs if _same_parameters(parameters, run.parameters)]
    for mistake, run in runs:  # a loop that trains the same way and returns the same values
        loop_cause = LOOP_MISTAKES.get(mistake)
        if _close(values, epoch_means(run.epochs)):
            return loop_cause
        for summary_cause, summarise in SUMMARY_MISTAKES.items():
            if _close(values, summarise(run.epochs)):
                return f"{loop_cause}; and {summary_cause}" if loop_cause else summary_cause
    # a loop that trains the same way, whatever it returns ("after step" trains right: it needs the values)
    return next((LOOP_MISTAKES[m] for m, _ in runs if m not in (None, "after step")), None)


def _generic_cause(right_parameters: bool) -> str:
    if right_parameters:
        return ("the model is trained right, but the returned values are not the means of each epoch's batch "
                "losses: append loss.item() of every batch, and per epoch return sum(batch_losses) / len(batch_losses)")
    return ("the training differs from the reference loop: per batch, move x and y to the device, "
            "optimizer.zero_grad(), loss = loss_fn(estimator(x), y), loss.backward(), optimizer.step()")


CHECKS = {
    "train_trajectory": (probe_trajectory, judge_trajectory),
}
