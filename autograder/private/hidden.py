"""The hidden checks: the visible checks' tests on inputs students never see, so that a submission
can't be tuned to the visible ones. Private: no student kit holds this module; a copy of the grader
without it runs the visible checks only."""

from lab2a.autograder.checks.cases import Run, judge_runs, noise_case
from lab2a.autograder.checks.outputs import N
from lab2a.autograder.checks.train import epoch_losses, training
from lab2a.autograder.sandbox.scenario import Scenario

SIZES = (Run((noise_case(2, (2, 2, 2, 777), 902),)), Run((noise_case(257, (1, 1, N), 905),)),
         Run((noise_case(64, (3, 64), 903, ": as many taps as samples"),)))
CORNERS = (Run((noise_case(33, (3, 1, 4000), 901, ", with the module in float64 too (module.double())",
                           dtype="float64"),)),
           Run((noise_case(65, (64,), 904, ": one more tap than samples"),)))

TRAIN_SCENARIO = Scenario(seed=977, pairs=27, length=48, batch_size=8, n_epochs=4, optimizer="adam",
                          lr=0.01, loss="l1")


def sizes(ask, key, memo) -> None:
    judge_runs(ask, SIZES, key)


def corners(ask, key, memo) -> None:
    judge_runs(ask, CORNERS, key)


def hidden_training(ask, key, memo) -> None:
    training(ask, key, memo, TRAIN_SCENARIO)


def hidden_epoch_losses(ask, key, memo) -> None:
    epoch_losses(ask, key, memo, TRAIN_SCENARIO)


PARTS = {
    "hidden_filter": {"sizes": sizes, "corners": corners},
    "hidden_train": {"training": hidden_training, "epoch losses": hidden_epoch_losses},
}
